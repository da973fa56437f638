"""Celery tasks for payments: leaves that take ids and call services.

Services queue these by name (`bookstore.celery.queue_after_commit`), so nothing imports
this module but Celery's autodiscovery. Every task is idempotent and runs with late
acknowledgement (CELERY_TASK_ACKS_LATE), so a redelivered message does no harm. Retries
use Celery's own options: exponential backoff with full jitter, so receipts that failed
together do not retry together.
"""

import logging
import smtplib

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from django.db import InterfaceError, OperationalError

from orders.confirmation import order_confirmation_send, order_confirmations_sweep
from orders.models import Order
from payments.customers.services import customer_email_sync
from payments.gateway import PaymentGatewayError
from payments.documents.rendering import weasyprint_preload
from payments.documents.services import (
    credit_note_render,
    receipt_deliver,
    receipt_record_failure,
    receipts_sweep,
)
from payments.paying.emails import payment_email_send
from payments.paying.inbox import webhook_give_up, webhook_inbox_sweep
from payments.paying.services import payments_reconcile, payments_release_expired
from payments.paying.webhooks import webhook_process
from payments.refunds.services import refund_late_payment, refund_notify

logger = logging.getLogger(__name__)

# Worth another try later: the database, the mail server or the disk was unavailable for a
# while. An address the mail server refuses will be refused again, so it is not retried
# (the SMTP errors are OSErrors, hence the explicit exclusion).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, SoftTimeLimitExceeded)
PERMANENT_SMTP_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)
MAX_RETRIES = 8
RETRY_OPTIONS = {
    "autoretry_for": TRANSIENT_ERRORS,
    "dont_autoretry_for": PERMANENT_SMTP_ERRORS,
    "max_retries": MAX_RETRIES,
    "retry_backoff": 5,
    "retry_backoff_max": 10 * 60,
    "retry_jitter": True,
}
# Any error: before the inbox, Stripe redelivered an event after any error answer; the task now
# retries in its place (the handlers are idempotent), then leaves the row to staff.
WEBHOOK_RETRY_OPTIONS = {**RETRY_OPTIONS, "autoretry_for": (Exception,), "dont_autoretry_for": ()}


def _order_number(order_id: int) -> str | None:
    return Order.objects.filter(pk=order_id).values_list("number", flat=True).first()


class ReceiptTask(Task):
    """Logs each retry with the order's number; a delivery that fails for good is noted on the
    receipt for staff (the admin retries it) and leaves the order as it is."""

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        logger.warning("Receipt for order %s failed (%r); retrying.", _order_number(kwargs["order_id"]), exc)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        order_id = kwargs["order_id"]
        if isinstance(exc, Order.DoesNotExist):
            logger.error("Receipt for order id %s: no such order.", order_id)
            return
        logger.error(
            "Receipt for order %s failed for good; the order is left as it is.", _order_number(order_id), exc_info=exc
        )
        receipt_record_failure(order_id=order_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(base=ReceiptTask, name="payments.receipt_deliver", **RETRY_OPTIONS)
def receipt_deliver_task(order_id: int) -> None:
    receipt_deliver(order_id=order_id)


@shared_task(name="payments.payment_email_send", **RETRY_OPTIONS)
def payment_email_send_task(order_id: int, kind: str) -> None:
    """Tell the shopper their bank is processing the payment, or that it failed after all."""
    payment_email_send(order_id=order_id, kind=kind)


# Stripe unreachable is worth another try too (the service raises only retryable gateway errors).
@shared_task(name="payments.refund_late_payment", **{**RETRY_OPTIONS, "autoretry_for": TRANSIENT_ERRORS + (PaymentGatewayError,)})
def refund_late_payment_task(order_id: int) -> None:
    """Give back a payment that arrived after its order was canceled and could not be reinstated."""
    refund_late_payment(order_id=order_id)


@worker_init.connect
def _weasyprint_before_the_pool_forks(sender, **kwargs) -> None:
    # Only a prefork pool's processes are forked from this one; a threads pool (worker-stripe)
    # never renders documents and need not hold WeasyPrint. The command line gives a class,
    # the settings a name.
    pool = sender.pool_cls
    if "prefork" in (pool if isinstance(pool, str) else pool.__module__):
        weasyprint_preload()


@shared_task(name="payments.credit_note_render", **RETRY_OPTIONS)
def credit_note_render_task(credit_note_id: int) -> None:
    """Render a credit note or cancellation once (the refund email renders its own note too)."""
    credit_note_render(credit_note_id=credit_note_id)


@shared_task(name="payments.receipts_sweep")
def receipts_sweep_task() -> None:
    receipts_sweep()


@shared_task(name="payments.payments_reconcile")
def payments_reconcile_task() -> None:
    payments_reconcile()


@shared_task(name="payments.payments_release_expired")
def payments_release_expired_task() -> None:
    payments_release_expired()


@shared_task(name="payments.customer_email_sync", **{**RETRY_OPTIONS, "autoretry_for": TRANSIENT_ERRORS + (PaymentGatewayError,)})
def customer_email_sync_task(user_id: int) -> None:
    """Give the account's Stripe Customer the account's new email."""
    customer_email_sync(user_id=user_id)


@shared_task(name="payments.refund_notify", **RETRY_OPTIONS)
def refund_notify_task(refund_id: int) -> None:
    """Email the shopper about a succeeded refund, once."""
    refund_notify(refund_id=refund_id)


class WebhookTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        webhook_give_up(message_id=kwargs["message_id"], error=f"{type(exc).__name__}: {exc}")


@shared_task(base=WebhookTask, name="payments.webhook_process", **WEBHOOK_RETRY_OPTIONS)
def webhook_process_task(message_id: int) -> None:
    """Process one Stripe event from the inbox (payments/paying/webhooks.py)."""
    webhook_process(message_id=message_id)


@shared_task(name="payments.webhook_inbox_sweep")
def webhook_inbox_sweep_task() -> None:
    webhook_inbox_sweep()


@shared_task(name="payments.order_confirmation_send", **RETRY_OPTIONS)
def order_confirmation_send_task(order_id: int) -> None:
    """Email the shopper that their order is placed, once (orders/confirmation.py)."""
    order_confirmation_send(order_id=order_id)


@shared_task(name="payments.order_confirmations_sweep")
def order_confirmations_sweep_task() -> None:
    order_confirmations_sweep()
