"""A client buys a book end to end through the API, as bench/api_buy_book.py does against a running shop:
token, catalogue, cart, order, payment, the browser's confirm at the emulator, polling, receipt."""

import pytest
import requests
from rest_framework.test import APIClient

from orders.models import Order
from payments.documents import services as receipts
from tests.api.helpers import ORDER_DETAILS
from tests.factories import TEST_PASSWORD, BookFactory
from tests.payments.receipt_support import pdf_text
from tests.stripe_fixtures import RETURN_URL

pytestmark = pytest.mark.django_db(transaction=True)


def confirm_as_the_payment_element(started: dict, card: str) -> dict:
    """What Stripe.js sends from the shopper's browser: the publishable key and the client secret, no secret key."""
    response = requests.post(
        f"{started['stripe_js_url'].removesuffix('/v3/')}/v1/payment_intents/{started['payment_intent']}/confirm",
        data={
            "key": started["publishable_key"],
            "client_secret": started["client_secret"],
            "payment_method": card,
            "return_url": RETURN_URL,
        },
        timeout=10,
    )
    return response.json()


def test_a_shopper_buys_a_book_through_the_api(shopper, webhook_endpoint, emulated_stripe):
    BookFactory(title="Piranesi", price_amount=1299, stock=3)
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": shopper.username, "password": TEST_PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")

    book = client.get("/api/v1/books/", {"search": "Piranesi"}).json()["results"][0]
    assert client.post("/api/v1/cart/lines/", {"book": book["id"], "quantity": 1}, format="json").status_code == 201
    placed = client.post("/api/v1/orders/", ORDER_DETAILS, format="json").json()
    payment_url = f"/api/v1/orders/{placed['number']}/payment/"
    started = client.post(payment_url).json()
    assert started["amount"] == placed["total"] == {"amount": 1299, "currency": "EUR", "formatted": "€12.99"}

    confirmed = confirm_as_the_payment_element(started, "pm_card_visa")

    assert confirmed["status"] == "succeeded"
    assert emulated_stripe.wait_idle(timeout=15)
    status = client.get(payment_url).json()
    assert status["paid"] is True
    assert (status["order_status"], status["payment_status"]) == ("paid", "succeeded")
    assert client.get("/api/v1/cart/").json()["item_count"] == 0
    # A worker renders the receipt; here the test does its step.
    assert status["receipt_url"] is None
    receipts.receipt_render(order_id=Order.objects.get(number=placed["number"]).pk)
    receipt_url = client.get(payment_url).json()["receipt_url"]
    assert placed["number"] in pdf_text(b"".join(client.get(receipt_url).streaming_content))


def test_a_declined_card_is_reported_and_another_card_pays(shopper, webhook_endpoint, emulated_stripe, place_order):
    order = place_order(user=shopper)
    client = APIClient()
    client.force_authenticate(shopper)
    payment_url = f"/api/v1/orders/{order.number}/payment/"
    started = client.post(payment_url).json()

    confirm_as_the_payment_element(started, "pm_card_chargeDeclinedInsufficientFunds")
    assert emulated_stripe.wait_idle(timeout=15)

    declined = client.get(payment_url).json()
    assert declined["paid"] is False and declined["payment_status"] == "requires_payment_method"
    assert declined["last_error_message"] == "Your card has insufficient funds. Try another card."
    again = client.post(payment_url).json()
    assert again["payment_intent"] == started["payment_intent"]

    confirm_as_the_payment_element(again, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)

    paid = client.get(payment_url).json()
    assert paid["paid"] is True and paid["last_error_message"] == ""
    error = client.post(payment_url).json()["error"]
    assert error["code"] == "not_payable"
