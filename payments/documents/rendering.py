"""HTML to archival PDF (PDF/A-3b) with WeasyPrint, for receipts and credit notes.

A worker renders many documents, so what does not depend on the document is made once per
process and reused: the stylesheet (templates/receipts/document.css, parsed once), the font
configuration (fontconfig's font list, and the fonts it has loaded) and the URL fetcher.
The templates themselves are compiled once by Django's cached template loader.
"""

import functools
from pathlib import PurePosixPath

from django.template.loader import render_to_string

from bookstore import metrics

PDF_VARIANT = "pdf/a-3b"


@functools.cache
def _renderer():
    # Imported on first use: WeasyPrint costs 0.7 s and 40 MB to import, and only workers render.
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    font_config = FontConfiguration()
    # The system's fonts and inline data only: a render never reaches the network.
    fetcher = URLFetcher(allowed_protocols=("data",))
    stylesheet = CSS(string=render_to_string("receipts/document.css"), font_config=font_config, url_fetcher=fetcher)
    return HTML, font_config, fetcher, stylesheet


def pdf_render(*, template: str, context: dict) -> bytes:
    """The template rendered with `context`, as a PDF/A-3b document."""
    html_class, font_config, fetcher, stylesheet = _renderer()
    # The template's name names the document in the metrics: receipt, credit_note.
    with metrics.document_render_observed(PurePosixPath(template).stem):
        html = html_class(string=render_to_string(template, context), url_fetcher=fetcher)
        return html.write_pdf(stylesheets=[stylesheet], font_config=font_config, pdf_variant=PDF_VARIANT)
