"""Celery tasks for payments: thin wrappers that take ids and call services.

Every task here is idempotent and runs with late acknowledgement (settings: CELERY_TASK_ACKS_LATE),
so a redelivered message does no harm.
"""

import logging
import smtplib

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError

from orders.models import Order
from payments import receipts
from payments.services import payments_reconcile, payments_release_expired

logger = logging.getLogger(__name__)

# Worth another try later: the database, the mail server or the disk was unavailable for a
# while. An address the mail server refuses will be refused again, so it is not retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, SoftTimeLimitExceeded)
PERMANENT_SMTP_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)
RETRY_BACKOFF_SECONDS = 5
RETRY_BACKOFF_MAX_SECONDS = 10 * 60
MAX_RETRIES = 8


def _retry_countdown(retries: int) -> int:
    # Exponential, capped, with full jitter: receipts that failed together do not retry together.
    return get_exponential_backoff_interval(
        factor=RETRY_BACKOFF_SECONDS, retries=retries, maximum=RETRY_BACKOFF_MAX_SECONDS, full_jitter=True
    )


def _run_receipt_service(task, service, order_id: int) -> None:
    try:
        service(order_id=order_id)
    except PERMANENT_SMTP_ERRORS as exc:
        _give_up(order_id, exc)
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= MAX_RETRIES:
            _give_up(order_id, exc)
            return
        number = Order.objects.filter(pk=order_id).values_list("number", flat=True).first()
        logger.warning("Receipt for order %s failed (%r); retrying.", number, exc)
        raise task.retry(exc=exc, countdown=_retry_countdown(task.request.retries), max_retries=MAX_RETRIES)
    except Order.DoesNotExist:
        logger.error("Receipt for order id %s: no such order.", order_id)
    except Exception as exc:
        _give_up(order_id, exc)


def _give_up(order_id: int, exc: BaseException) -> None:
    number = Order.objects.filter(pk=order_id).values_list("number", flat=True).first()
    logger.error("Receipt for order %s failed for good; the order is left as it is.", number, exc_info=exc)
    receipts.receipt_record_failure(order_id=order_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(bind=True, name="payments.receipt_deliver")
def receipt_deliver_task(self, order_id: int) -> None:
    _run_receipt_service(self, receipts.receipt_deliver, order_id)


@shared_task(bind=True, name="payments.receipt_refresh")
def receipt_refresh_task(self, order_id: int) -> None:
    def refresh(*, order_id: int) -> None:
        receipts.receipt_render(order_id=order_id, refresh=True)

    _run_receipt_service(self, refresh, order_id)


@shared_task(name="payments.receipts_sweep")
def receipts_sweep_task() -> None:
    receipts.receipts_sweep()


@shared_task(name="payments.reconcile_payments")
def reconcile_payments_task() -> None:
    payments_reconcile()


@shared_task(name="payments.release_expired_reservations")
def release_expired_reservations_task() -> None:
    payments_release_expired()


@shared_task(bind=True, name="payments.refund_notify")
def refund_notify_task(self, refund_id: int) -> None:
    """Email the shopper about a succeeded refund, once (issue 6)."""
    from payments.refunds import refund_notify

    try:
        refund_notify(refund_id=refund_id)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= MAX_RETRIES:
            logger.error("Refund email for refund %s failed for good.", refund_id, exc_info=exc)
            return
        logger.warning("Refund email for refund %s failed (%r); retrying.", refund_id, exc)
        raise self.retry(exc=exc, countdown=_retry_countdown(self.request.retries), max_retries=MAX_RETRIES)
