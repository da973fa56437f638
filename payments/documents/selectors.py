"""Reading documents: which receipt and credit notes are ready, their VAT lines, and the one response that sends a PDF."""

from django.db.models import QuerySet
from django.http import FileResponse

from orders.models import Order
from payments.documents.vat import VatLine, gross_by_rate, vat_breakdown
from payments.models import CreditNote, Receipt

# Staff may download any order's receipt with this permission; shoppers only their own.
RECEIPT_STAFF_PERMISSION = "payments.view_receipt"
CREDIT_NOTE_STAFF_PERMISSION = "payments.view_creditnote"


def downloadable_receipt(order: Order) -> Receipt | None:
    """The order's receipt once a worker has rendered its PDF; numbered but unrendered is not there yet."""
    return Receipt.objects.filter(order=order, rendered_at__isnull=False).exclude(pdf="").first()


def downloadable_credit_notes(order: Order) -> QuerySet[CreditNote]:
    """The order's credit notes and cancellations a worker has rendered, oldest first."""
    return CreditNote.objects.filter(order=order, rendered_at__isnull=False).exclude(pdf="").order_by("number")


def order_gross_by_rate(order: Order) -> dict[int, int]:
    """{VAT rate: gross} of what the order sold, from its lines' snapshotted rates."""
    return gross_by_rate((line.vat_rate, line.line_total) for line in order.lines.all())


def receipt_vat_lines(order: Order) -> list[VatLine]:
    """The receipt's VAT lines: its lines are never changed, so this is the same whenever it is asked."""
    return vat_breakdown(order_gross_by_rate(order))


def credit_note_vat_lines(note: CreditNote) -> list[VatLine]:
    return [VatLine(rate=line["rate"], gross=line["gross"], vat=line["vat"]) for line in note.vat_lines]


def receipt_filename(receipt: Receipt) -> str:
    return f"receipt-{receipt.display_number}.pdf"


def credit_note_filename(note: CreditNote) -> str:
    return f"{'cancellation' if note.is_cancellation else 'credit-note'}-{note.display_number}.pdf"


def _pdf_response(pdf, filename: str) -> FileResponse:
    response = FileResponse(pdf.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf")
    # Documents name the shopper: no shared cache may keep them.
    response["Cache-Control"] = "private, no-store"
    return response


def receipt_file_response(receipt: Receipt) -> FileResponse:
    """The receipt's PDF as a download, for the shop's pages and the API alike."""
    return _pdf_response(receipt.pdf, receipt_filename(receipt))


def credit_note_file_response(note: CreditNote) -> FileResponse:
    """A credit note's (or cancellation's) PDF as a download, for the shop's pages, the API and the admin."""
    return _pdf_response(note.pdf, credit_note_filename(note))
