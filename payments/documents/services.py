"""Receipts and credit notes: gap-free numbers, PDFs rendered by a Celery worker, never changed.

The payment-success handler calls `receipt_request`; a worker then runs `receipt_deliver`,
which does each of its steps at most once, so a task run twice, retried or redelivered
after a crash keeps one receipt, one number and one email:

1. `receipt_issue` gives the order its number (the counter row is locked, and the receipt
   row is written in the same transaction, so a rollback gives the number back: no gaps);
2. `receipt_render` renders and stores the PDF unless a render is already stored;
3. `receipt_email` sends it unless it was sent, holding the receipt's row lock meanwhile.

An issued document never changes: its PDF is rendered once and its SHA-256 stays. A refund
that succeeds issues a credit note (`credit_note_issue`, series C) in the same transaction
that records the refund, so every succeeded refund has exactly one, numbered without gaps;
a worker renders it and the refund email (`refund_notify`) carries it. A refund that fails
after it succeeded issues a cancellation of its credit note (`credit_note_cancel`), in the
same series. VAT arithmetic: payments/documents/vat.py.

Locks as bookstore/locks.py orders them: order, refund, document counter (R before C), document.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bookstore.celery import queue_after_commit
from bookstore.emails import attach_pdf, email_from_templates
from bookstore.errors import ShopError
from bookstore.locks import lock_credit_note, lock_document_counter, lock_order, lock_receipt
from orders.models import Order
from payments.documents.rendering import pdf_render
from payments.documents.selectors import (
    credit_note_vat_lines,
    order_gross_by_rate,
    receipt_filename,
    receipt_vat_lines,
)
from payments.documents.vat import VatLine, credit_breakdown, format_rate
from payments.models import CreditNote, Payment, Receipt, Refund

logger = logging.getLogger(__name__)

RECEIPT_SERIES = "R"
CREDIT_NOTE_SERIES = "C"


class ReceiptError(ShopError):
    pass


def receipt_request(*, order_id: int) -> None:
    """Queue the order's receipt once the caller's transaction commits (robustly: see
    `queue_after_commit`); if the broker is down, the beat sweep queues it later."""
    queue_after_commit("payments.receipt_deliver", order_id=order_id)


def _next_number(series: str) -> int:
    # Locked until the caller's transaction ends: the document row is written in it, so a
    # rollback gives the number back and the next caller takes it (no gaps).
    counter = lock_document_counter(series)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def receipt_issue(*, order_id: int) -> Receipt:
    """The order's receipt, numbered: the existing one, or a new one with the next number."""
    with transaction.atomic():
        order = lock_order(order_id)
        receipt = Receipt.objects.filter(order=order).first()
        if receipt is not None:
            return receipt
        if order.status not in Order.PAID_STATUSES:
            raise ReceiptError(
                f"Order {order.number} is {order.get_status_display().lower()}; only paid orders get a receipt.",
                code="not_paid",
            )
        return Receipt.objects.create(order=order, number=_next_number(RECEIPT_SERIES))


def _store_pdf(document: Receipt | CreditNote, pdf: bytes) -> None:
    document.pdf.save(f"{document.display_number}.pdf", ContentFile(pdf), save=False)
    document.sha256 = hashlib.sha256(pdf).hexdigest()
    document.rendered_at = timezone.now()
    document.save(update_fields=["pdf", "sha256", "rendered_at"])


def receipt_render(*, order_id: int) -> Receipt:
    """Render and store the order's receipt PDF once; a receipt already rendered is returned as it is."""
    receipt = receipt_issue(order_id=order_id)
    with transaction.atomic():
        # Under the row lock: two renders of one receipt queue, and the later one finds it done.
        receipt = lock_receipt(receipt.pk)
        if receipt.rendered_at is None:
            _store_pdf(receipt, receipt_pdf_bytes(receipt=receipt))
    return receipt


def receipt_email(*, order_id: int) -> Receipt:
    """Email the rendered receipt to the order's address, once."""
    with transaction.atomic():
        receipt = lock_receipt(Receipt.objects.values_list("pk", flat=True).get(order_id=order_id))
        if receipt.emailed_at is not None:
            return receipt
        if receipt.rendered_at is None:
            raise ReceiptError(f"Receipt {receipt.display_number} has no PDF yet.", code="not_rendered")
        order = receipt.order
        context = {"receipt": receipt, "order": order, "shop_name": settings.SHOP_NAME}
        message = email_from_templates(
            subject=f"Your receipt {receipt.display_number} for order {order.number}",
            template="emails/receipt",
            context=context,
            to=[order.email],
        )
        attach_pdf(message, filename=receipt_filename(receipt), stored_file=receipt.pdf)
        # Sent while the row is locked and marked in the same transaction: a concurrent
        # run waits and then sees emailed_at; a failed send rolls back and is retried.
        message.send()
        receipt.emailed_at = timezone.now()
        receipt.save(update_fields=["emailed_at"])
    return receipt


def receipt_deliver(*, order_id: int) -> Receipt:
    """Everything a paid order's receipt needs: number, PDF, email; each step at most once."""
    receipt_render(order_id=order_id)
    return receipt_email(order_id=order_id)


def receipt_record_failure(*, order_id: int, error: str) -> None:
    """Note a delivery that cannot succeed by retrying (staff see it in the admin); the order stays paid."""
    Receipt.objects.filter(order_id=order_id).update(failed_at=timezone.now(), failure=error[:2000])


def receipt_retry(*, receipt_id: int) -> None:
    """Staff asked to try a failed delivery again."""
    with transaction.atomic():
        receipt = lock_receipt(receipt_id)
        receipt.failed_at = None
        receipt.failure = ""
        receipt.save(update_fields=["failed_at", "failure"])
        receipt_request(order_id=receipt.order_id)


def receipts_sweep(*, now=None, limit: int = 200) -> dict[str, list[int]]:
    """Queue the documents that the normal path lost; returns the order and credit note ids queued.

    A payment recorded while the broker was down queued nothing, and a task whose retries
    ran out left its work undone. Every few minutes beat runs this: paid orders (past a
    grace period, within a few days) without an emailed receipt are queued again, and so
    are credit notes and cancellations still without their PDF. Tasks are idempotent, so
    queuing one that is merely slow costs one no-op run. Deliveries that failed for good
    are left to staff.
    """
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.RECEIPT_SWEEP_GRACE_SECONDS)
    oldest = now - timedelta(days=settings.RECEIPT_SWEEP_MAX_AGE_DAYS)
    paid = Order.objects.filter(status__in=Order.PAID_STATUSES, paid_at__lt=grace, paid_at__gte=oldest)
    undelivered = list(
        paid.filter(Q(receipt__isnull=True) | Q(receipt__emailed_at__isnull=True, receipt__failed_at__isnull=True))
        .order_by("paid_at")
        .values_list("pk", flat=True)[:limit]
    )
    unrendered = list(
        CreditNote.objects.filter(rendered_at__isnull=True, created_at__lt=grace, created_at__gte=oldest)
        .order_by("number")
        .values_list("pk", flat=True)[:limit]
    )
    for order_id in undelivered:
        receipt_request(order_id=order_id)
    for credit_note_id in unrendered:
        credit_note_request(credit_note_id=credit_note_id)
    if undelivered or unrendered:
        logger.warning(
            "Document sweep queued %d undelivered receipts and %d unrendered credit notes.", len(undelivered), len(unrendered)
        )
    return {"undelivered": undelivered, "credit_notes": unrendered}


# --- Credit notes ----------------------------------------------------------------------------


def credit_note_request(*, credit_note_id: int) -> None:
    """Queue the credit note's (or cancellation's) render once the caller's transaction commits."""
    queue_after_commit("payments.credit_note_render", credit_note_id=credit_note_id)


def _credited_by_rate(order: Order) -> dict[int, int]:
    """{rate: gross} credited on the order so far: credit notes, less the ones cancelled."""
    credited: dict[int, int] = {}
    for note in CreditNote.objects.filter(order=order):
        sign = -1 if note.is_cancellation else 1
        for line in note.vat_lines:
            credited[line["rate"]] = credited.get(line["rate"], 0) + sign * line["gross"]
    return credited


def credit_note_issue(*, refund: Refund) -> CreditNote:
    """The credit note of a refund that has just succeeded: numbered in the caller's transaction.

    The caller (the refund's success, `payments/refunds/services.py`) holds the order's and
    the refund's locks, so the notes of one order are issued one at a time and each sees the
    ones before it. Asked again for the same refund, returns the note it has.
    """
    existing = CreditNote.objects.filter(refund=refund, kind=CreditNote.Kind.CREDIT_NOTE).first()
    if existing is not None:
        return existing
    # The original: a receipt the worker has not numbered yet is numbered now, before the note.
    receipt = receipt_issue(order_id=refund.order_id)
    order = receipt.order
    lines = credit_breakdown(
        amount=refund.amount, order_gross=order_gross_by_rate(order), credited_gross=_credited_by_rate(order)
    )
    return CreditNote.objects.create(
        kind=CreditNote.Kind.CREDIT_NOTE,
        number=_next_number(CREDIT_NOTE_SERIES),
        order=order,
        receipt=receipt,
        refund=refund,
        amount=refund.amount,
        currency=refund.currency,
        vat_lines=[line.as_dict() for line in lines],
    )


def credit_note_cancel(*, refund: Refund) -> CreditNote | None:
    """A refund that had succeeded failed after all: issue the cancellation of its credit note.

    In the caller's transaction, under the same locks as `credit_note_issue`; rendered by a
    worker. None if the refund never had a credit note (the order could not record it).
    """
    note = CreditNote.objects.filter(refund=refund, kind=CreditNote.Kind.CREDIT_NOTE).first()
    if note is None:
        return None
    cancellation = CreditNote.objects.filter(refund=refund, kind=CreditNote.Kind.CANCELLATION).first()
    if cancellation is not None:
        return cancellation
    cancellation = CreditNote.objects.create(
        kind=CreditNote.Kind.CANCELLATION,
        number=_next_number(CREDIT_NOTE_SERIES),
        order_id=note.order_id,
        receipt_id=note.receipt_id,
        refund=refund,
        cancels=note,
        amount=note.amount,
        currency=note.currency,
        vat_lines=note.vat_lines,
    )
    credit_note_request(credit_note_id=cancellation.pk)
    return cancellation


def credit_note_render(*, credit_note_id: int) -> CreditNote:
    """Render and store a credit note's (or cancellation's) PDF once."""
    with transaction.atomic():
        note = lock_credit_note(credit_note_id)
        if note.rendered_at is None:
            _store_pdf(note, credit_note_pdf_bytes(note=note))
    return note


# --- PDFs ------------------------------------------------------------------------------------


def _payment_method(order: Order) -> str:
    payment = Payment.objects.filter(order=order).first()
    return (payment.method_words if payment else "") or "Card"


def _document_context(*, order: Order, vat_lines: list[VatLine], issued_at) -> dict:
    """What receipts and credit notes print alike: seller, buyer (the order's), VAT lines."""
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_address": settings.SHOP_ADDRESS,
        "shop_vat_number": settings.SHOP_VAT_NUMBER,
        "order": order,
        "currency": order.currency,
        "payment_method": _payment_method(order),
        "vat_lines": [{**line.as_dict(), "rate_text": format_rate(line.rate)} for line in vat_lines],
        "vat_total": {
            "net": sum(line.net for line in vat_lines),
            "vat": sum(line.vat for line in vat_lines),
            "gross": sum(line.gross for line in vat_lines),
        },
        "issued_at": issued_at or timezone.now(),
    }


def receipt_pdf_bytes(*, receipt: Receipt) -> bytes:
    """The receipt as an A4 PDF/A-3b, from templates/receipts/receipt.html: the sale as it was paid."""
    # The lines print and make the VAT lines: one query for both.
    order = Order.objects.prefetch_related("lines").get(pk=receipt.order_id)
    lines = list(order.lines.all())
    for line in lines:
        line.rate_text = format_rate(line.vat_rate)
    context = _document_context(order=order, vat_lines=receipt_vat_lines(order), issued_at=receipt.created_at)
    return pdf_render(template="receipts/receipt.html", context={**context, "receipt": receipt, "lines": lines})


def credit_note_pdf_bytes(*, note: CreditNote) -> bytes:
    """The credit note (or cancellation) as an A4 PDF/A-3b, from templates/receipts/credit_note.html."""
    order = note.order
    titles = {line.pk: line.title for line in order.lines.all()}
    returned = [(titles.get(int(line_id), "?"), quantity) for line_id, quantity in note.refund.restock.items() if quantity]
    context = _document_context(order=order, vat_lines=credit_note_vat_lines(note), issued_at=note.created_at)
    return pdf_render(
        template="receipts/credit_note.html",
        context={**context, "note": note, "receipt": note.receipt, "refund": note.refund, "returned_lines": returned},
    )
