"""What a refund leaves to the Celery worker: one email to the shopper with its credit note; the receipt stays as it was.

Through real Redis and a real worker process (tests/celery_fixtures.py); transactional tests.
"""

import pytest
from django.core import mail

from payments.models import CreditNote, Receipt, Refund
from payments.refunds.services import refund_notify
from payments.refunds.services import refund_create
from payments.tasks import refund_notify_task
from tests.celery_fixtures import TASK_TIMEOUT, wait_for
from tests.payments.receipt_support import pdf_text

pytestmark = pytest.mark.django_db(transaction=True)


def test_refund_emails_the_shopper_once_with_its_credit_note_and_leaves_the_receipt_alone(celery_worker, paid_order, refunder, emulated_stripe):
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

    unchanged = Receipt.objects.get(pk=receipt.pk)
    assert (unchanged.sha256, unchanged.rendered_at, unchanged.pdf.name) == (receipt.sha256, receipt.rendered_at, receipt.pdf.name)
    [note] = CreditNote.objects.filter(refund=made)
    assert (note.display_number, note.receipt_id, note.amount) == ("C-000001", receipt.pk, 1299)

    emails = [m for m in celery_worker.sent_emails(to=paid_order.email) if m["Subject"].startswith("Refund")]
    [email] = emails
    assert email["Subject"] == f"Refund of €12.99 for order {paid_order.number}"
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert "We have refunded €12.99 for your order" in body and "to Visa ending in 4242" in body
    assert "You have now paid €19.00 for this order." in body
    assert "Secret note" not in body
    assert "Our credit note C-000001 for it is attached" in body
    [attachment] = email.iter_attachments()
    assert attachment.get_filename() == "credit-note-C-000001.pdf"
    assert "We credit you €12.99 for order" in " ".join(pdf_text(attachment.get_content()).split())
