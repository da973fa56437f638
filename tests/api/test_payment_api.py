"""Starting and polling an order's payment through the API, on the Stripe emulator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import Actor, order_cancel
from payments.models import Payment
from tests.api.helpers import add_to_cart, assert_error, csrf_headers, place_order

pytestmark = pytest.mark.django_db


def payment_url(number: str) -> str:
    return f"/api/v1/orders/{number}/payment/"


@pytest.fixture
def order_number(shopper_client, book) -> str:
    add_to_cart(shopper_client, book, 2)
    return place_order(shopper_client).json()["number"]


def test_start_returns_what_stripe_js_needs_and_reuses_the_payment_intent(
    shopper_client, order_number, emulated_stripe, shopper_stripe, settings
):
    order = Order.objects.get(number=order_number)

    response = shopper_client.post(payment_url(order_number))

    assert response.status_code == 200, response.content
    body = response.json()
    payment = Payment.objects.get(order=order)
    assert body == {
        "payment_intent": payment.stripe_payment_intent_id,
        "client_secret": payment.client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": f"{emulated_stripe.url}/v3/",
        "amount": {"amount": order.total_amount, "currency": "EUR", "formatted": body["amount"]["formatted"]},
        "status": "requires_payment_method",
    }
    assert body["client_secret"].startswith(f"{body['payment_intent']}_secret_")
    intent = shopper_stripe.v1.payment_intents.retrieve(body["payment_intent"])
    assert (intent.amount, intent.currency) == (order.total_amount, "eur")

    again = shopper_client.post(payment_url(order_number))

    assert again.json()["payment_intent"] == body["payment_intent"]
    assert Payment.objects.count() == 1
    assert len(shopper_stripe.v1.payment_intents.list().data) == 1


def test_status_before_and_after_starting(shopper_client, order_number, emulated_stripe):
    before = shopper_client.get(payment_url(order_number))

    assert before.status_code == 200
    assert before.json() == {
        "number": order_number,
        "order_status": "pending_payment",
        "order_status_display": "Awaiting payment",
        "paid": False,
        "payment_status": None,
        "last_error_message": "",
        "notice": "",
        "receipt_url": None,
    }
    shopper_client.post(payment_url(order_number))
    assert shopper_client.get(payment_url(order_number)).json()["payment_status"] == "requires_payment_method"


def test_guest_pays_with_the_order_access_key(guest, book, emulated_stripe):
    guest.get("/api/v1/cart/")
    add_to_cart(guest, book, **csrf_headers(guest))
    placed = place_order(guest, **csrf_headers(guest)).json()
    url = payment_url(placed["number"])

    assert_error(guest.post(url, **csrf_headers(guest)), 404, "not_found")
    assert_error(guest.post(url, HTTP_X_ORDER_ACCESS_KEY="wrong", **csrf_headers(guest)), 404, "not_found")
    assert_error(guest.post(url, HTTP_X_ORDER_ACCESS_KEY=placed["access_key"]), 403, "csrf_failed")
    assert not Payment.objects.exists()

    started = guest.post(url, HTTP_X_ORDER_ACCESS_KEY=placed["access_key"], **csrf_headers(guest))

    assert started.status_code == 200
    assert Payment.objects.get().stripe_payment_intent_id == started.json()["payment_intent"]
    polled = guest.get(url, HTTP_X_ORDER_ACCESS_KEY=placed["access_key"])
    assert polled.json()["payment_status"] == "requires_payment_method"


def test_someone_elses_order_is_not_found(other_client, order_number, emulated_stripe):
    assert_error(other_client.post(payment_url(order_number)), 404, "not_found")
    assert_error(other_client.get(payment_url(order_number)), 404, "not_found")
    assert not Payment.objects.exists()


def test_a_canceled_order_is_not_payable(shopper_client, order_number, emulated_stripe):
    order_cancel(order_id=Order.objects.get(number=order_number).pk, actor=Actor.system(), reason="Changed my mind.")

    error = assert_error(shopper_client.post(payment_url(order_number)), 409, "not_payable")

    assert order_number in error["message"]
    assert not Payment.objects.exists()


def test_an_expired_reservation_is_not_payable(shopper_client, order_number, emulated_stripe):
    Order.objects.filter(number=order_number).update(reserved_until=timezone.now() - timedelta(minutes=1))

    assert_error(shopper_client.post(payment_url(order_number)), 409, "reservation_expired")
    assert not Payment.objects.exists()


def test_stripe_unavailable_is_503_and_can_be_retried(shopper_client, order_number, emulated_stripe):
    emulated_stripe.set_faults(api=[{"path": "/v1/payment_intents", "method": "POST", "status": 503, "times": 1}])

    error = assert_error(shopper_client.post(payment_url(order_number)), 503, "provider_unavailable")

    assert "Nothing was charged" in error["message"]
    # The row written before calling Stripe waits for the retry, with no PaymentIntent: nothing to pay with.
    assert not Payment.objects.filter(stripe_payment_intent_id__isnull=False).exists()
    assert shopper_client.post(payment_url(order_number)).status_code == 200


def test_stripe_refusing_the_shop_is_502(shopper_client, order_number, emulated_stripe, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_not-a-key"

    assert_error(shopper_client.post(payment_url(order_number)), 502, "provider_misconfigured")
    assert not Payment.objects.filter(stripe_payment_intent_id__isnull=False).exists()


def test_starting_payments_is_throttled_but_polling_is_not(shopper_client, order_number, emulated_stripe, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "payments": "2/minute"},
    }
    for _ in range(2):
        assert shopper_client.post(payment_url(order_number)).status_code == 200

    refused = shopper_client.post(payment_url(order_number))

    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    for _ in range(3):
        assert shopper_client.get(payment_url(order_number)).status_code == 200
