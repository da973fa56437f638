"""Receipt services and the download view, run in the test process (the worker tests are in
test_receipts_worker.py)."""

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from payments.documents import services as receipts
from payments.models import CreditNote, Payment, Receipt, ReceiptCounter, Refund
from payments.tasks import MAX_RETRIES, receipt_deliver_task
from tests.factories import UserFactory
from tests.payments.receipt_support import make_paid_order, pdf_text

pytestmark = pytest.mark.django_db


def test_receipt_numbers_follow_each_other_and_an_unpaid_order_takes_none():
    first = receipts.receipt_issue(order_id=make_paid_order().pk)
    unpaid = make_paid_order()
    Order.objects.filter(pk=unpaid.pk).update(status=Order.Status.PENDING_PAYMENT)

    with pytest.raises(receipts.ReceiptError, match="only paid orders get a receipt"):
        receipts.receipt_issue(order_id=unpaid.pk)
    second = receipts.receipt_issue(order_id=make_paid_order().pk)

    assert (first.display_number, second.display_number) == ("R-000001", "R-000002")
    assert ReceiptCounter.objects.get().last_number == 2
    assert not Receipt.objects.filter(order=unpaid).exists()


def test_rendering_twice_keeps_one_receipt_and_one_file(settings):
    order = make_paid_order()

    first = receipts.receipt_render(order_id=order.pk)
    second = receipts.receipt_render(order_id=order.pk)

    assert Receipt.objects.filter(order=order).count() == 1
    assert (second.number, second.pdf.name, second.sha256) == (first.number, first.pdf.name, first.sha256)
    assert [path.name for path in Path(settings.MEDIA_ROOT).rglob("*.pdf")] == ["R-000001.pdf"]


def test_the_pdf_shows_shop_numbers_lines_totals_and_card():
    order = make_paid_order(books=[("Mrs Dalloway", 1250, 1), ("Ficciones", 899, 2)])

    receipt = receipts.receipt_render(order_id=order.pk)

    data = receipt.pdf.read()
    assert receipt.sha256 == hashlib.sha256(data).hexdigest()
    text = pdf_text(data)
    for expected in [
        "Paper Lantern Books",
        "12 Quay Street, Dublin D02 XY45, Ireland",
        "R-000001",
        order.number,
        "Mrs Dalloway",
        "1 €12.50 0% €12.50",
        "Ficciones",
        "2 €8.99 0% €17.98",
        "Subtotal €30.48",
        "Total (EUR) €30.48",
        "Visa ending in 4242",
    ]:
        assert expected in text, expected
    assert "Tax" not in text and "Refund" not in text


def test_a_zero_decimal_currency_is_printed_without_decimals(settings):
    settings.SHOP_CURRENCY = "JPY"
    order = make_paid_order(books=[("Kokoro", 1500, 2)])

    text = pdf_text(receipts.receipt_render(order_id=order.pk).pdf.read())

    assert order.currency == "JPY" and order.total_amount == 3000
    assert "Total (JPY) ¥3,000" in text
    assert "¥1,500" in text
    assert "¥30.00" not in text and "¥3,000.00" not in text


def test_the_email_is_sent_once_with_the_pdf_attached(mailoutbox):
    order = make_paid_order(email="reader@example.com")

    receipts.receipt_deliver(order_id=order.pk)
    receipt = receipts.receipt_deliver(order_id=order.pk)

    assert receipt.emailed_at is not None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["reader@example.com"]
    assert message.subject == f"Your receipt R-000001 for order {order.number}"
    assert order.number in message.body and "€30.48" in message.body
    assert message.alternatives[0].mimetype == "text/html"
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == ("receipt-R-000001.pdf", "application/pdf")
    assert hashlib.sha256(content).hexdigest() == receipt.sha256


def test_the_sweep_queues_paid_orders_without_an_emailed_receipt_and_unrendered_credit_notes(django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(minutes=10)
    lost = make_paid_order()
    delivered = make_paid_order()
    receipts.receipt_deliver(order_id=delivered.pk)
    failed = make_paid_order()
    receipts.receipt_render(order_id=failed.pk)
    receipts.receipt_record_failure(order_id=failed.pk, error="SMTPRecipientsRefused")
    refunded = make_paid_order()
    receipts.receipt_deliver(order_id=refunded.pk)
    refund = Refund.objects.create(
        order=refunded,
        payment=Payment.objects.get(order=refunded),
        amount=100,
        currency=refunded.currency,
        status=Refund.Status.SUCCEEDED,
        succeeded_at=long_ago,
    )
    note = receipts.credit_note_issue(refund=refund)
    CreditNote.objects.filter(pk=note.pk).update(created_at=long_ago)
    just_paid = make_paid_order()
    Order.objects.exclude(pk=just_paid.pk).update(paid_at=long_ago)

    with django_capture_on_commit_callbacks() as callbacks:
        queued = receipts.receipts_sweep()

    assert queued == {"undelivered": [lost.pk], "credit_notes": [note.pk]}
    assert len(callbacks) == 2


# --- Download ----------------------------------------------------------------------------


@pytest.fixture
def rendered_order():
    order = make_paid_order()
    receipts.receipt_render(order_id=order.pk)
    return order


def _download_url(order: Order) -> str:
    return reverse("payments:receipt_download", args=[order.number])


def _assert_is_the_receipt(response, order: Order) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="receipt-R-000001.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert order.number in pdf_text(b"".join(response.streaming_content))


def test_the_owner_downloads_the_receipt(client, rendered_order):
    client.force_login(rendered_order.user)

    _assert_is_the_receipt(client.get(_download_url(rendered_order)), rendered_order)


def test_staff_download_any_receipt(client, rendered_order, staff_user):
    client.force_login(staff_user)

    _assert_is_the_receipt(client.get(_download_url(rendered_order)), rendered_order)


def test_a_guest_downloads_with_the_order_link_and_not_with_a_wrong_one(client):
    order = make_paid_order(guest=True, email="guest@example.com")
    receipts.receipt_render(order_id=order.pk)

    right = client.get(reverse("payments:receipt_guest_download", args=[order.number, order.access_key]))
    wrong = client.get(reverse("payments:receipt_guest_download", args=[order.number, order.access_key[:-1] + "x"]))

    _assert_is_the_receipt(right, order)
    assert wrong.status_code == 404


def test_another_user_staff_without_permission_and_anonymous_get_404(client, rendered_order):
    assert client.get(_download_url(rendered_order)).status_code == 404
    client.force_login(UserFactory())
    assert client.get(_download_url(rendered_order)).status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get(_download_url(rendered_order)).status_code == 404


def test_a_receipt_not_rendered_yet_is_404_even_for_its_owner(client):
    order = make_paid_order()
    client.force_login(order.user)

    assert client.get(_download_url(order)).status_code == 404


def test_the_admin_lists_receipts_with_a_download_link(admin_client, rendered_order):
    response = admin_client.get(reverse("admin:payments_receipt_changelist"))

    assert response.status_code == 200
    assert f'href="{_download_url(rendered_order)}"' in response.content.decode()


# --- Task error handling (run eagerly in this process) ------------------------------------


def test_a_task_for_an_order_that_is_not_paid_logs_its_number_and_changes_nothing(caplog):
    order = make_paid_order()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED)

    receipt_deliver_task.apply(kwargs={"order_id": order.pk})

    assert f"Receipt for order {order.number} failed for good; the order is left as it is." in caplog.text
    assert not Receipt.objects.filter(order=order).exists()
    assert ReceiptCounter.objects.filter(last_number__gt=0).count() == 0


def test_a_transient_error_is_retried_then_left_to_staff_with_the_order_still_paid(caplog):
    order = make_paid_order()
    receipt = receipts.receipt_render(order_id=order.pk)
    # A PDF gone from the disk (a volume not mounted yet) is an OSError: worth retrying.
    receipt.pdf.storage.delete(receipt.pdf.name)

    receipt_deliver_task.apply(kwargs={"order_id": order.pk})

    retries = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retries) == MAX_RETRIES
    assert all(order.number in record.getMessage() for record in retries)
    assert f"Receipt for order {order.number} failed for good; the order is left as it is." in caplog.text
    receipt.refresh_from_db()
    assert receipt.emailed_at is None and receipt.failed_at is not None
    assert receipt.failure.startswith("FileNotFoundError")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_staff_retry_a_failed_delivery_from_the_admin(admin_client, django_capture_on_commit_callbacks):
    order = make_paid_order()
    receipt = receipts.receipt_render(order_id=order.pk)
    receipts.receipt_record_failure(order_id=order.pk, error="SMTPRecipientsRefused: no such mailbox")

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:payments_receipt_changelist"),
            {"action": "retry_delivery", "_selected_action": [receipt.pk]},
            follow=True,
        )

    assert "Queued 1 receipt(s) for delivery." in response.content.decode()
    receipt.refresh_from_db()
    assert receipt.failed_at is None and receipt.failure == ""
    assert len(callbacks) == 1
