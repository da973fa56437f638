"""Downloading one's receipt PDF through the API, and finding its URL on the order."""

import pytest
from rest_framework.test import APIClient

from payments.documents import services as receipts
from tests.api.helpers import assert_error
from tests.payments.receipt_support import make_paid_order, pdf_text

pytestmark = pytest.mark.django_db


def receipt_url(number: str) -> str:
    return f"/api/v1/orders/{number}/receipt/"


def download(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def paid(shopper):
    return make_paid_order(user=shopper)


def test_owner_downloads_the_rendered_receipt(shopper_client, paid):
    receipt = receipts.receipt_render(order_id=paid.pk)

    response = shopper_client.get(receipt_url(paid.number), HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="receipt-{receipt.display_number}.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    text = pdf_text(download(response))
    assert receipt.display_number in text and paid.number in text


def test_order_detail_links_the_receipt_once_it_is_rendered(shopper_client, paid):
    detail = f"/api/v1/orders/{paid.number}/"
    assert shopper_client.get(detail).json()["receipt_url"] is None
    receipts.receipt_issue(order_id=paid.pk)
    # Numbered but not yet rendered by the worker: nothing to download.
    assert shopper_client.get(detail).json()["receipt_url"] is None

    receipts.receipt_render(order_id=paid.pk)

    body = shopper_client.get(detail).json()
    assert body["receipt_url"] == f"http://testserver{receipt_url(paid.number)}"
    assert shopper_client.get(body["receipt_url"]).status_code == 200
    assert shopper_client.get(f"/api/v1/orders/{paid.number}/payment/").json()["receipt_url"] == body["receipt_url"]


def test_no_receipt_yet_is_404_in_json_even_for_a_pdf_only_client(shopper_client, paid):
    response = shopper_client.get(receipt_url(paid.number), HTTP_ACCEPT="application/pdf")

    assert response["Content-Type"] == "application/json"
    assert assert_error(response, 404, "receipt_not_ready")["message"] == "This order's receipt is not ready yet."


def test_someone_elses_receipt_is_not_found(other_client, paid):
    receipts.receipt_render(order_id=paid.pk)

    assert_error(other_client.get(receipt_url(paid.number)), 404, "not_found")


def test_guest_downloads_with_the_order_access_key():
    order = make_paid_order(guest=True, email="guest@example.com")
    receipts.receipt_render(order_id=order.pk)
    guest = APIClient()

    assert_error(guest.get(receipt_url(order.number)), 404, "not_found")
    assert_error(guest.get(receipt_url(order.number), HTTP_X_ORDER_ACCESS_KEY="guess"), 404, "not_found")
    response = guest.get(receipt_url(order.number), HTTP_X_ORDER_ACCESS_KEY=order.access_key)
    assert response.status_code == 200
    assert order.number in pdf_text(download(response))


def test_asking_for_another_format_is_406(shopper_client, paid):
    receipts.receipt_render(order_id=paid.pk)

    assert_error(shopper_client.get(receipt_url(paid.number), HTTP_ACCEPT="text/html"), 406, "not_acceptable")
