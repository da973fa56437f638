"""Receipts: a gap-free number, a PDF rendered by a Celery worker, and one email.

The payment-success handler calls `receipt_request`; a worker then runs `receipt_deliver`,
which does each of its steps at most once, so a task run twice, retried or redelivered
after a crash keeps one receipt, one number and one email:

1. `receipt_issue` gives the order its number (the counter row is locked, and the receipt
   row is written in the same transaction, so a rollback gives the number back: no gaps);
2. `receipt_render` renders and stores the PDF unless a render is already stored;
3. `receipt_email` sends it unless it was sent, holding the receipt's row lock meanwhile.

Locks as bookstore/locks.py orders them: order, document counter, document.
A refund calls `receipt_refresh`, which renders the same number again with the refunds.
"""

import hashlib
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Max, Q
from django.template.loader import render_to_string
from django.utils import timezone

from bookstore.celery import queue_after_commit
from bookstore.emails import email_from_templates
from bookstore.errors import ShopError
from bookstore.locks import lock_document_counter, lock_order, lock_receipt
from orders.models import Order
from payments.models import Payment, Receipt, Refund

logger = logging.getLogger(__name__)

RECEIPT_SERIES = "R"
RECEIPTABLE_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED)
CARD_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


class ReceiptError(ShopError):
    pass


def receipt_request(*, order_id: int) -> None:
    """Queue the order's receipt once the caller's transaction commits (robustly: see
    `queue_after_commit`); if the broker is down, the beat sweep queues it later."""
    queue_after_commit("payments.receipt_deliver", order_id=order_id)


def receipt_refresh(*, order_id: int) -> None:
    """Queue a new render of the order's receipt (same number) once the caller commits; no email."""
    queue_after_commit("payments.receipt_refresh", order_id=order_id)


def receipt_issue(*, order_id: int) -> Receipt:
    """The order's receipt, numbered: the existing one, or a new one with the next number."""
    with transaction.atomic():
        order = lock_order(order_id)
        receipt = Receipt.objects.filter(order=order).first()
        if receipt is not None:
            return receipt
        if order.status not in RECEIPTABLE_STATUSES:
            raise ReceiptError(
                f"Order {order.number} is {order.get_status_display().lower()}; only paid orders get a receipt.",
                code="not_paid",
            )
        counter = lock_document_counter(RECEIPT_SERIES)
        counter.last_number += 1
        counter.save(update_fields=["last_number"])
        return Receipt.objects.create(order=order, number=counter.last_number)


def receipt_render(*, order_id: int, refresh: bool = False) -> Receipt:
    """Render and store the order's receipt PDF, unless one is stored and no `refresh` is asked."""
    receipt = receipt_issue(order_id=order_id)
    with transaction.atomic():
        # Rendering under the row lock: two renders of one receipt queue, and the later one
        # reads the newer refunds, so an older render can never overwrite a newer one.
        receipt = lock_receipt(receipt.pk)
        if receipt.rendered_at is not None and not refresh:
            return receipt
        pdf = receipt_pdf_bytes(receipt=receipt)
        previous_name = receipt.pdf.name
        receipt.pdf.save(f"{receipt.display_number}.pdf", ContentFile(pdf), save=False)
        receipt.sha256 = hashlib.sha256(pdf).hexdigest()
        receipt.rendered_at = timezone.now()
        receipt.save(update_fields=["pdf", "sha256", "rendered_at"])
        if previous_name:
            transaction.on_commit(partial(receipt.pdf.storage.delete, previous_name))
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
        with receipt.pdf.open("rb") as pdf:
            message.attach(receipt_filename(receipt), pdf.read(), "application/pdf")
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
    """Queue the receipts that the normal path lost; returns the order ids queued.

    A payment recorded while the broker was down queued nothing, and a task whose retries
    ran out left its work undone. Every few minutes beat runs this: paid orders (past a
    grace period, within a few days) without an emailed receipt are queued again, and so
    are receipts rendered before a refund that succeeded (likewise) since. Tasks are
    idempotent, so queuing one that is merely slow costs one no-op run. Deliveries that
    failed for good are left to staff.
    """
    now = now or timezone.now()
    paid = Order.objects.filter(
        status__in=RECEIPTABLE_STATUSES,
        paid_at__lt=now - timedelta(seconds=settings.RECEIPT_SWEEP_GRACE_SECONDS),
        paid_at__gte=now - timedelta(days=settings.RECEIPT_SWEEP_MAX_AGE_DAYS),
    )
    undelivered = list(
        paid.filter(Q(receipt__isnull=True) | Q(receipt__emailed_at__isnull=True, receipt__failed_at__isnull=True))
        .order_by("paid_at")
        .values_list("pk", flat=True)[:limit]
    )
    # Refunds come up to REFUND_WINDOW_DAYS after payment, so these go by the refund's date.
    stale = list(
        Receipt.objects.filter(rendered_at__isnull=False, failed_at__isnull=True)
        .annotate(last_refund_at=Max("order__refunds__succeeded_at", filter=Q(order__refunds__status=Refund.Status.SUCCEEDED)))
        .filter(
            last_refund_at__gt=F("rendered_at"),
            last_refund_at__lt=now - timedelta(seconds=settings.RECEIPT_SWEEP_GRACE_SECONDS),
            last_refund_at__gte=now - timedelta(days=settings.RECEIPT_SWEEP_MAX_AGE_DAYS),
        )
        .order_by("last_refund_at")
        .values_list("order_id", flat=True)[:limit]
    )
    for order_id in undelivered:
        receipt_request(order_id=order_id)
    for order_id in stale:
        receipt_refresh(order_id=order_id)
    if undelivered or stale:
        logger.warning("Receipt sweep queued %d undelivered and %d stale receipts.", len(undelivered), len(stale))
    return {"undelivered": undelivered, "stale": stale}


def receipt_filename(receipt: Receipt) -> str:
    return f"receipt-{receipt.display_number}.pdf"


def receipt_pdf_bytes(*, receipt: Receipt) -> bytes:
    """The receipt as an A4 PDF, from templates/receipts/receipt.html and the rows as they are now."""
    order = receipt.order
    payment = Payment.objects.filter(order=order).first()
    refunds = list(order.refunds.filter(status=Refund.Status.SUCCEEDED).order_by("succeeded_at", "id"))
    refunded = sum(refund.amount for refund in refunds)
    context = {
        "shop_name": settings.SHOP_NAME,
        "shop_address": settings.SHOP_ADDRESS,
        "receipt": receipt,
        "order": order,
        "lines": list(order.lines.all()),
        "card_brand": CARD_BRANDS.get(payment.card_brand, payment.card_brand.title()) if payment else "",
        "card_last4": payment.card_last4 if payment else "",
        "refunds": refunds,
        "refunded_amount": refunded,
        "net_amount": order.total_amount - refunded,
        "issued_at": receipt.created_at or timezone.now(),
    }
    html = render_to_string("receipts/receipt.html", context)
    # Imported here: WeasyPrint costs 0.7 s and 40 MB to import, and only workers render.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # The system's fonts and inline styles only: a render never reaches the network.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
