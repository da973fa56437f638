"""The accountant's export: a period's receipts and credit notes as CSV, and a ZIP of their PDFs.

One row per document, in issue order: receipts positive, credit notes negative, and a
cancellation of a credit note positive again (it takes the credit back). Amounts are in the
currency's major unit ("12.30"); per VAT rate a net and a VAT column, then net, VAT and
gross, each row summing exactly (payments/documents/vat.py).
"""

import csv
import dataclasses
import io
import zipfile
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from bookstore.money import from_minor_units
from orders.models import OrderLine
from payments.documents.selectors import credit_note_filename, credit_note_vat_lines, receipt_filename, receipt_vat_lines
from payments.documents.vat import VatLine, format_rate
from payments.models import CreditNote, Receipt


@dataclasses.dataclass(frozen=True)
class ExportRow:
    document: Receipt | CreditNote
    kind: str
    number: str
    issued_at: datetime
    order_number: str
    original: str
    currency: str
    sign: int
    vat_lines: list[VatLine]

    def signed(self, amount: int) -> int:
        return self.sign * amount

    @property
    def gross(self) -> int:
        return self.signed(sum(line.gross for line in self.vat_lines))

    @property
    def filename(self) -> str:
        if isinstance(self.document, Receipt):
            return receipt_filename(self.document)
        return credit_note_filename(self.document)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    # Whole days in the shop's time zone, `end` included.
    zone = timezone.get_current_timezone()
    return datetime.combine(start, time.min, zone), datetime.combine(end + timedelta(days=1), time.min, zone)


def export_rows(*, start: date, end: date) -> list[ExportRow]:
    """The documents issued from `start` to `end` (days, both included), in issue order."""
    since, until = _bounds(start, end)
    lines = Prefetch("order__lines", queryset=OrderLine.objects.order_by("id"))
    rows = [
        ExportRow(
            document=receipt,
            kind="receipt",
            number=receipt.display_number,
            issued_at=receipt.created_at,
            order_number=receipt.order.number,
            original="",
            currency=receipt.order.currency,
            sign=1,
            vat_lines=receipt_vat_lines(receipt.order),
        )
        for receipt in Receipt.objects.filter(created_at__gte=since, created_at__lt=until)
        .select_related("order")
        .prefetch_related(lines)
    ]
    for note in CreditNote.objects.filter(created_at__gte=since, created_at__lt=until).select_related(
        "order", "receipt", "cancels"
    ):
        rows.append(
            ExportRow(
                document=note,
                kind=note.kind,
                number=note.display_number,
                issued_at=note.created_at,
                order_number=note.order.number,
                original=note.cancels.display_number if note.is_cancellation else note.receipt.display_number,
                currency=note.currency,
                sign=1 if note.is_cancellation else -1,
                vat_lines=credit_note_vat_lines(note),
            )
        )
    return sorted(rows, key=lambda row: (row.issued_at, row.number))


def export_csv(rows: list[ExportRow]) -> str:
    rates = sorted({line.rate for row in rows for line in row.vat_lines}, reverse=True)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["number", "type", "issued", "order", "original", "currency"]
        + [f"{column} {format_rate(rate)}" for rate in rates for column in ("net", "VAT")]
        + ["net", "VAT", "gross"]
    )
    for row in rows:
        by_rate = {line.rate: line for line in row.vat_lines}
        amounts = []
        for rate in rates:
            line = by_rate.get(rate)
            amounts += [row.signed(line.net), row.signed(line.vat)] if line else [0, 0]
        amounts += [row.signed(sum(line.net for line in row.vat_lines)), row.signed(sum(line.vat for line in row.vat_lines)), row.gross]
        writer.writerow(
            [row.number, row.kind, timezone.localtime(row.issued_at).isoformat(timespec="seconds"), row.order_number, row.original, row.currency]
            + [str(from_minor_units(amount, row.currency)) for amount in amounts]
        )
    return out.getvalue()


def export_zip(rows: list[ExportRow]) -> bytes:
    """The CSV and every rendered PDF of the period; a document not rendered yet is in the CSV only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("documents.csv", export_csv(rows))
        for row in rows:
            if row.document.rendered_at is not None and row.document.pdf:
                with row.document.pdf.open("rb") as pdf:
                    archive.writestr(row.filename, pdf.read())
    return buffer.getvalue()
