"""What a refund leaves to the Celery worker: one email to the shopper and the receipt with the refund.

Through real Redis and a real worker process (tests/celery_fixtures.py); transactional tests.
"""

import pytest
from django.core import mail

from payments.models import Receipt, Refund
from payments.refunds.services import refund_notify
from payments.refunds.services import refund_create
from payments.tasks import refund_notify_task
from tests.celery_fixtures import TASK_TIMEOUT, wait_for
from tests.payments.receipt_support import pdf_text

pytestmark = pytest.mark.django_db(transaction=True)


def test_refund_emails_the_shopper_once_and_puts_the_refund_on_the_receipt(celery_worker, paid_order, refunder, emulated_stripe):
    # Every webhook twice: the refund is reported by the API answer and four deliveries.
    emulated_stripe.set_faults(duplicate=True)
    receipt = wait_for(lambda: Receipt.objects.filter(order=paid_order, emailed_at__isnull=False).first(), what="the receipt")

    made = refund_create(order_id=paid_order.pk, amount=1299, reason="", note="Secret note", restock={}, staff_user=refunder)
    assert emulated_stripe.wait_idle(timeout=15)
    made = wait_for(lambda: Refund.objects.filter(pk=made.pk, shopper_notified_at__isnull=False).first(), what="the email")
    # Asked again (a redelivered task, a sweep): nothing more is sent.
    refund_notify_task.apply_async(kwargs={"refund_id": made.pk}, ignore_result=False).get(timeout=TASK_TIMEOUT)
    refund_notify(refund_id=made.pk)
    assert mail.outbox == []

    refunded = wait_for(
        lambda: Receipt.objects.filter(pk=receipt.pk, rendered_at__gt=made.succeeded_at).first(), what="the new receipt"
    )
    text = pdf_text(refunded.pdf.read())
    assert "Refunded −€12.99\nNet paid €19.00\nREFUNDS" in text and refunded.number == receipt.number

    emails = [m for m in celery_worker.sent_emails(to=paid_order.email) if m["Subject"].startswith("Refund")]
    [email] = emails
    assert email["Subject"] == f"Refund of €12.99 for order {paid_order.number}"
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert "We have refunded €12.99 for your order" in body and "to your card ending in 4242" in body
    assert "You have now paid €19.00 for this order." in body
    assert "Secret note" not in body
