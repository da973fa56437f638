"""HTML to archival PDF (PDF/A-3b) with WeasyPrint, for receipts and credit notes.

A worker renders many documents, so what does not depend on the document is made once per
process and reused: the stylesheets (templates/receipts/document.css and user_agent.css, parsed
once), the font configuration (fontconfig's font list, and the fonts it has loaded) and the URL
fetcher. The templates themselves are compiled once by Django's cached template loader.

Two steps of WeasyPrint's own are replaced by cheaper ones that give the same boxes
(tests/payments/test_documents.py lays the documents out both ways and compares):
- It cascades its whole HTML user-agent stylesheet (some 190 rules for forms, lists, bidi
  variants) over every element of every render; the documents bring their own defaults for
  the few elements they use (user_agent.css): 9 % fewer instructions per render.
- It parses with tinyhtml5, an HTML5 parser in pure Python; the templates are well-formed
  XHTML (`<br/>`, explicit `<tbody>`), which the standard library's expat parses in C: 7 %
  fewer.
WeasyPrint offers neither as an option: `DocumentHTML` overrides its HTML class's
`_ua_stylesheets` and the end of its constructor, as WeasyPrint 70 has them; the version is
pinned in requirements.txt, and that test fails if an upgrade changes them.

The stylesheet avoids what makes WeasyPrint's layout slow: flex containers and tables laid
out automatically both measure every piece of text for its narrowest and widest size before
laying it out, so the page's blocks are fixed-layout tables and the lines' columns have
widths. Python's cycle collector is held off during a render (see `_collected_once`).
"""

import contextlib
import functools
import gc
import importlib
import re
from pathlib import PurePosixPath
from xml.etree import ElementTree

from django.template.loader import render_to_string

from bookstore import metrics

PDF_VARIANT = "pdf/a-3b"

# Control characters and the noncharacters U+FFFE and U+FFFF have no glyph: WeasyPrint draws
# a blank box for one, and the PDF's text (what a search or a copy gets) came out garbled for
# the whole document. XML forbids them too. They can only come from data (an address typed
# with one), never from a template.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


@functools.cache
def _renderer():
    # Imported on first use: WeasyPrint costs 0.7 s and 40 MB to import, and only workers render.
    import cssselect2
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    font_config = FontConfiguration()
    # The system's fonts and inline data only: a render never reaches the network.
    fetcher = URLFetcher(allowed_protocols=("data",))
    stylesheet = CSS(string=render_to_string("receipts/document.css"), font_config=font_config, url_fetcher=fetcher)
    user_agent = CSS(string=render_to_string("receipts/user_agent.css"))

    class DocumentHTML(HTML):
        def __init__(self, *, string: str, url_fetcher: URLFetcher):
            # The source is the shop's own template output, its data escaped by Django: no DTD
            # or entity of a stranger's can be in it.
            root = ElementTree.fromstring(string)
            # What HTML.__init__ sets after parsing, for a document with no <base> element.
            self.base_url = None
            self.url_fetcher = url_fetcher
            self.media_type = "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element

        def _ua_stylesheets(self, forms=False):
            return [user_agent]

    return DocumentHTML, font_config, fetcher, stylesheet


def weasyprint_preload() -> None:
    """Import WeasyPrint now, in a prefork worker's main process, before it forks its pool.

    A pool process would otherwise import it for its first document, 0.7 s of the second a
    first render costs, and again after every --max-tasks-per-child recycling; imported before
    the fork, every pool process starts with it and they share its memory. Only the modules:
    each pool process opens the fonts itself (`_renderer`), as FreeType's open font files must
    not be shared across a fork.
    """
    for module in ("weasyprint", "weasyprint.text.fonts", "weasyprint.urls"):
        importlib.import_module(module)


@contextlib.contextmanager
def _collected_once():
    """No cycle collection during a render, one of the young objects after it.

    A render makes some hundred thousand objects (boxes, styles, text layouts) that live for
    its length: the collector's young passes keep promoting them, so every few renders it
    runs a full pass over the whole process (Django, WeasyPrint, fonts), which measured a
    third of the render time and made the slow tail. Held off, the render's objects all stay
    young and one pass over them alone frees its cycles: memory stays as flat as before.
    """
    if not gc.isenabled():  # another render in this process holds it off already
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _write_pdf(html_source: str) -> bytes:
    html_class, font_config, fetcher, stylesheet = _renderer()
    html = html_class(string=html_source, url_fetcher=fetcher)
    return html.write_pdf(stylesheets=[stylesheet], font_config=font_config, pdf_variant=PDF_VARIANT)


def pdf_render(*, template: str, context: dict) -> bytes:
    """The template rendered with `context`, as a PDF/A-3b document."""
    html_source = _CONTROL_CHARACTERS.sub("", render_to_string(template, context))
    # The template's name names the document in the metrics: receipt, credit_note.
    with metrics.document_render_observed(PurePosixPath(template).stem):
        # The render's objects are unreachable once _write_pdf has returned, before the collection.
        with _collected_once():
            return _write_pdf(html_source)
