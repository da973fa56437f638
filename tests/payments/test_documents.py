"""Receipts that never change, credit notes for refunds, VAT, addresses, PDF/A and the accountant's
export: services, downloads and admin, in the test process (no Stripe: refunds are applied as the
Stripe objects the webhooks would bring)."""

import csv
import hashlib
import io
import threading
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from orders.models import Order
from orders.services import Actor
from payments.documents import rendering
from payments.documents import services as documents
from payments.models import CreditNote, Receipt, ReceiptCounter, Refund
from payments.refunds import services as refunds
from tests.factories import UserFactory
from tests.payments.receipt_support import make_paid_order, pdf_text

pytestmark = pytest.mark.django_db

RATES = {"standard": 2300, "reduced": 900, "zero": 0}


@pytest.fixture(autouse=True)
def _offline_mirror(monkeypatch):
    # dj-stripe's mirror of a refund would ask Stripe about its charge; documents do not need it.
    monkeypatch.setattr(refunds, "stripe_mirror", lambda model, data: None)


@pytest.fixture
def vat_shop(settings):
    settings.SHOP_VAT_RATES = RATES
    settings.SHOP_VAT_NUMBER = "IE6388047V"


def stripe_refund(order: Order, amount: int, *, status: str = "succeeded", n: int = 1, **fields) -> dict:
    return {
        "id": f"re_{order.number}_{n}",
        "object": "refund",
        "amount": amount,
        "currency": order.currency.lower(),
        "status": status,
        "payment_intent": f"pi_test_{order.number}",
        "charge": None,
        "metadata": {},
        "reason": None,
        **fields,
    }


def refund(order: Order, amount: int, **fields) -> Refund:
    return refunds.refund_apply(stripe_refund=stripe_refund(order, amount, **fields), actor=Actor.system())


def two_rate_order(**kwargs) -> Order:
    # €12.99 at 23 % (standard), 3 × €8.99 at 9 % (reduced): awkward on purpose.
    return make_paid_order(books=[("Gift Set", 1299, 1, "standard"), ("Ficciones", 899, 3, "reduced")], **kwargs)


def pdf_bytes(document: Receipt | CreditNote) -> bytes:
    with document.pdf.open("rb") as pdf:
        return pdf.read()


def rendered_note(refund_row: Refund) -> CreditNote:
    note = CreditNote.objects.get(refund=refund_row, kind=CreditNote.Kind.CREDIT_NOTE)
    return documents.credit_note_render(credit_note_id=note.pk)


def test_the_receipt_never_changes_and_each_refund_issues_the_next_credit_note(vat_shop):
    order = two_rate_order()
    receipt = documents.receipt_deliver(order_id=order.pk)
    original = pdf_bytes(receipt)

    notes = []
    for n, amount in enumerate([500, 1234, order.total_amount - 1734], start=1):  # one, two, then the rest
        notes.append(rendered_note(refund(order, amount, n=n)))
        receipt.refresh_from_db()
        assert pdf_bytes(receipt) == original
        assert receipt.sha256 == hashlib.sha256(original).hexdigest()

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert [note.display_number for note in notes] == ["C-000001", "C-000002", "C-000003"]
    assert [note.amount for note in notes] == [500, 1234, order.total_amount - 1734]
    assert all(note.receipt_id == receipt.pk and note.order_id == order.pk for note in notes)
    # A full refund gives back exactly the receipt's VAT, rate by rate.
    credited = {}
    for note in notes:
        for line in note.vat_lines:
            assert line["net"] + line["vat"] == line["gross"]
            credited[line["rate"]] = [a + b for a, b in zip(credited.get(line["rate"], [0, 0]), [line["gross"], line["vat"]])]
    assert credited == {2300: [1299, 243], 900: [2697, 223]}
    assert ReceiptCounter.objects.get(series="C").last_number == 3


def test_applying_the_same_refund_again_issues_nothing_more(vat_shop):
    order = two_rate_order()
    for _ in range(3):
        refund(order, 700)

    assert CreditNote.objects.filter(order=order).count() == 1


def test_the_receipt_shows_seller_buyer_vat_and_payment(vat_shop):
    order = two_rate_order()

    text = pdf_text(pdf_bytes(documents.receipt_render(order_id=order.pk)))

    for expected in [
        "Paper Lantern Books",
        "VAT no. IE6388047V",
        "Receipt R-000001",
        "Ada Lovelace",
        "1 Analytical Row",
        "N1 9GU London",
        "United Kingdom",
        "Visa ending in 4242",
        "1 €12.99 23% €12.99",
        "3 €8.99 9% €26.97",
        # 1299 * 2300 / 12300 = 242.9 -> 243; 2697 * 900 / 10900 = 222.7 -> 223
        "VAT 23% €10.56 €2.43 €12.99",
        "VAT 9% €24.74 €2.23 €26.97",
        "Total €35.30 €4.66 €39.96",
        "Total (EUR) €39.96",
    ]:
        assert expected in text, expected


def test_a_credit_note_names_the_original_and_shows_its_vat_and_returned_books(vat_shop):
    order = two_rate_order()
    documents.receipt_render(order_id=order.pk)
    line = order.lines.get(title="Ficciones")
    made = refund(order, 899, reason="requested_by_customer")
    Refund.objects.filter(pk=made.pk).update(restock={str(line.pk): 1})

    note = rendered_note(made)
    text = " ".join(pdf_text(pdf_bytes(note)).split())  # sentences wrap

    for expected in [
        "Credit note C-000001",
        "ORIGINAL RECEIPT R-000001",
        f"We credit you €8.99 for order {order.number}, receipt R-000001",
        "(requested by customer)",
        "Ficciones 1",
        "Ada Lovelace",
        "United Kingdom",
        "VAT no. IE6388047V",
        # €8.99 split over what is left at each rate: 1299 and 2697 of 3996.
        "Refunded to Visa ending in 4242",
        "Credited (EUR) −€8.99",
    ]:
        assert expected in text, expected
    assert sum(line["gross"] for line in note.vat_lines) == 899
    assert [line["rate"] for line in note.vat_lines] == [2300, 900]


def test_a_refund_that_fails_after_succeeding_gets_a_cancellation_and_the_credit_note_stays(vat_shop):
    order = two_rate_order()
    note = rendered_note(refund(order, 1000))
    issued = pdf_bytes(note)

    refund(order, 1000, status="failed", failure_reason="expired_or_canceled_card")
    refund(order, 1000, status="failed", failure_reason="expired_or_canceled_card")  # reported twice

    note.refresh_from_db()
    assert pdf_bytes(note) == issued
    [cancellation] = CreditNote.objects.filter(kind=CreditNote.Kind.CANCELLATION)
    assert (cancellation.display_number, cancellation.cancels_id, cancellation.amount) == ("C-000002", note.pk, 1000)
    text = " ".join(pdf_text(pdf_bytes(documents.credit_note_render(credit_note_id=cancellation.pk))).split())
    assert "Cancellation C-000002" in text and "CANCELS CREDIT NOTE C-000001" in text
    assert "the card has expired or was canceled" in text and "ORIGINAL RECEIPT R-000001" in text


def test_documents_are_pdf_a_3b():
    order = make_paid_order()
    receipt = documents.receipt_render(order_id=order.pk)
    note = rendered_note(refund(order, 100))

    for document in (receipt, note):
        reader = PdfReader(io.BytesIO(pdf_bytes(document)))
        xmp = ET.fromstring(reader.trailer["/Root"]["/Metadata"].get_object().get_data())
        # The PDF/A identification: XMP properties, written as attributes of an rdf:Description.
        pdfaid = "{http://www.aiim.org/pdfa/ns/id/}"
        properties = {key: value for element in xmp.iter() for key, value in element.attrib.items()}
        assert (properties[f"{pdfaid}part"], properties[f"{pdfaid}conformance"]) == ("3", "B")
        assert "/OutputIntents" in reader.trailer["/Root"]


def test_the_documents_own_parser_and_defaults_lay_them_out_box_for_box_as_weasyprints_do(monkeypatch, vat_shop):
    from weasyprint import HTML

    sources = []
    render = rendering._write_pdf
    monkeypatch.setattr(rendering, "_write_pdf", lambda source: sources.append(source) or render(source))
    order = two_rate_order()
    documents.receipt_render(order_id=order.pk)
    made = refund(order, 899, reason="requested_by_customer")
    Refund.objects.filter(pk=made.pk).update(restock={str(order.lines.get(title="Ficciones").pk): 1})
    rendered_note(made)
    refund(order, 899, status="failed", failure_reason="expired_or_canceled_card")
    documents.credit_note_render(credit_note_id=CreditNote.objects.get(kind=CreditNote.Kind.CANCELLATION).pk)
    document_html, font_config, fetcher, stylesheet = rendering._renderer()

    def boxes(html_class, source: str) -> list[tuple]:
        laid_out = html_class(string=source, url_fetcher=fetcher).render(stylesheets=[stylesheet], font_config=font_config)
        return [
            (type(box).__name__, *(round(value, 3) for value in (box.position_x, box.position_y, box.width, box.height)), getattr(box, "text", ""))
            for page in laid_out.pages
            for box in page._page_box.descendants()
        ]

    assert [source.count("<title>") for source in sources] == [1, 1, 1]  # receipt, credit note, cancellation
    for source in sources:
        ET.fromstring(source)  # well-formed XHTML: what DocumentHTML parses itself
        ours = boxes(document_html, source)
        assert document_html is not HTML and ours == boxes(HTML, source)
        assert "VAT no. IE6388047V" in {text for *_, text in ours}


def test_a_control_character_in_the_address_is_left_out_of_the_receipt():
    order = make_paid_order()
    # Typed into the address through the API, say: no glyph, and not allowed in XML.
    Order.objects.filter(pk=order.pk).update(shipping_line1="Flat 2\x0b1 Analytical\uffff Row\x7f")

    receipt = documents.receipt_render(order_id=order.pk)

    assert "Flat 21 Analytical Row" in pdf_text(pdf_bytes(receipt))


def test_a_failed_render_keeps_the_number_and_leaves_no_gap(monkeypatch):
    order = make_paid_order()
    first = refund(order, 100, n=1)

    def broken(**kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(documents, "credit_note_pdf_bytes", broken)
        with pytest.raises(OSError):
            documents.credit_note_render(credit_note_id=first.credit_notes.get().pk)
    second = refund(order, 100, n=2)

    assert CreditNote.objects.get(refund=first).rendered_at is None
    assert [note.display_number for note in (rendered_note(first), rendered_note(second))] == ["C-000001", "C-000002"]


def test_a_refund_rolled_back_gives_its_credit_note_number_back():
    order = make_paid_order()
    with pytest.raises(RuntimeError), transaction.atomic():
        refund(order, 100, n=1)
        raise RuntimeError("the webhook's transaction failed after the refund was applied")
    refund(order, 100, n=2)

    assert [note.display_number for note in CreditNote.objects.all()] == ["C-000001"]


def test_the_refund_email_carries_the_credit_note_once(mailoutbox):
    order = make_paid_order()
    made = refund(order, 1299)

    refunds.refund_notify(refund_id=made.pk)
    refunds.refund_notify(refund_id=made.pk)

    [message] = mailoutbox
    note = CreditNote.objects.get(refund=made)
    assert "Our credit note C-000001 for it is attached; keep it with your receipt R-000001." in message.body
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == ("credit-note-C-000001.pdf", "application/pdf")
    assert hashlib.sha256(content).hexdigest() == note.sha256


# --- Downloads ---------------------------------------------------------------------------


def test_the_owner_a_guest_with_the_key_and_staff_download_a_credit_note_and_no_one_else(client):
    order = make_paid_order()
    note = rendered_note(refund(order, 500))
    url = reverse("payments:credit_note_download", args=[order.number, note.number])

    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 404
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_creditnote"))
    for user in (order.user, staff):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"] == 'attachment; filename="credit-note-C-000001.pdf"'
        assert "C-000001" in pdf_text(b"".join(response.streaming_content))
    client.logout()
    guest = reverse("payments:credit_note_guest_download", args=[order.number, order.access_key, note.number])
    assert client.get(guest).status_code == 200
    assert client.get(reverse("payments:credit_note_download", args=[order.number, note.number + 1])).status_code == 404


def test_the_order_page_and_the_api_list_the_credit_notes(client):
    order = make_paid_order()
    documents.receipt_render(order_id=order.pk)
    note = rendered_note(refund(order, 500))
    client.force_login(order.user)

    page = client.get(order.get_absolute_url()).content.decode()
    detail = client.get(reverse("api:order_detail", args=[order.number])).json()
    pdf = client.get(detail["credit_notes"][0]["url"], HTTP_ACCEPT="application/pdf")

    assert reverse("payments:credit_note_download", args=[order.number, note.number]) in page
    assert "Download credit note C-000001 (PDF)" in page
    [listed] = detail["credit_notes"]
    assert (listed["number"], listed["kind"], listed["amount"]["amount"]) == ("C-000001", "credit_note", 500)
    assert pdf.status_code == 200 and "C-000001" in pdf_text(b"".join(pdf.streaming_content))


# --- Export ------------------------------------------------------------------------------


@pytest.fixture
def exporter(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="export_documents"), Permission.objects.get(codename="view_receipt"))
    return user


def test_the_export_sums_to_the_documents_and_zips_their_pdfs(client, exporter, vat_shop):
    orders = [two_rate_order(), make_paid_order(books=[("Kokoro", 1501, 3, "standard")]), make_paid_order()]
    for order in orders:
        documents.receipt_render(order_id=order.pk)
    rendered_note(refund(orders[0], 777, n=1))
    rendered_note(refund(orders[1], orders[1].total_amount, n=1))
    refund(orders[0], 777, n=1, status="failed", failure_reason="declined")  # a cancellation
    today = timezone.localdate().isoformat()
    client.force_login(exporter)

    response = client.get(reverse("admin:payments_documents_export"), {"start": today, "end": today, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        reverse("admin:payments_documents_export"), {"start": today, "end": today, "format": "zip"}
    ).content))

    assert [row["number"] for row in rows] == ["R-000001", "R-000002", "R-000003", "C-000001", "C-000002", "C-000003"]
    expected_gross = sum(order.total_amount for order in orders) - 777 - orders[1].total_amount + 777
    assert sum(Decimal(row["gross"]) for row in rows) == Decimal(expected_gross) / 100
    for row in rows:
        rates = [key for key in row if key.startswith("net ")]
        assert sum(Decimal(row[key]) + Decimal(row[key.replace("net", "VAT")]) for key in rates) == Decimal(row["gross"])
        assert Decimal(row["net"]) + Decimal(row["VAT"]) == Decimal(row["gross"])
    assert rows[4]["gross"] == "-45.03" and rows[4]["original"] == "R-000002"
    assert rows[5]["type"] == "cancellation" and rows[5]["gross"] == "7.77" and rows[5]["original"] == "C-000001"
    names = sorted(archive.namelist())
    assert names == sorted(
        ["documents.csv", "receipt-R-000001.pdf", "receipt-R-000002.pdf", "receipt-R-000003.pdf",
         "credit-note-C-000001.pdf", "credit-note-C-000002.pdf"]
    )
    assert hashlib.sha256(archive.read("receipt-R-000002.pdf")).hexdigest() == Receipt.objects.get(number=2).sha256


def test_the_export_needs_its_permission(client):
    client.force_login(UserFactory(is_staff=True))
    today = timezone.localdate().isoformat()

    assert client.get(reverse("admin:payments_documents_export"), {"start": today, "end": today}).status_code == 403


# --- Concurrency -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_different_orders_take_consecutive_numbers():
    orders = [make_paid_order() for _ in range(6)]
    for order in orders:
        documents.receipt_issue(order_id=order.pk)
    barrier = threading.Barrier(len(orders))
    errors = []

    def refund_one(order: Order) -> None:
        try:
            barrier.wait(timeout=30)
            refund(order, 250)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund_one, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(CreditNote.objects.values_list("number", flat=True)) == list(range(1, len(orders) + 1))
    assert sorted(CreditNote.objects.values_list("order_id", flat=True)) == sorted(order.pk for order in orders)
    assert ReceiptCounter.objects.get(series="C").last_number == len(orders)
