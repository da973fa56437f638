"""The return page heals a lost webhook: a shopper polling the payment status, with Stripe's
webhooks failing, sees the order paid within seconds, and the shop asks Stripe once per
throttle window however often it is polled."""

import logging

import pytest
from django.urls import reverse

from cart.models import CartLine
from orders.models import Order
from payments.models import Payment
from tests.celery_fixtures import wait_for
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db(transaction=True)


def page_status(client, order: Order) -> dict:
    return client.get(reverse("payments:status", args=[order.number])).json()


def api_status(client, order: Order) -> dict:
    return client.get(f"/api/v1/orders/{order.number}/payment/").json()


@pytest.fixture
def lost_webhooks(webhook_endpoint, emulated_stripe):
    emulated_stripe.set_faults(fail_first=100)  # Stripe keeps trying; the shop never hears.


@pytest.fixture
def confirmed_order(place_order, lost_webhooks, shopper_stripe, client) -> Order:
    """An order whose card payment Stripe has taken, signed in as its owner; no webhook reached the shop."""
    order = place_order()
    client.force_login(order.user)
    client.get(reverse("payments:checkout", args=[order.number]))
    payment = Payment.objects.get(order=order)
    assert confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa").status == "succeeded"
    return order


@pytest.mark.parametrize("poll", [page_status, api_status], ids=["order page", "api"])
def test_polling_the_status_marks_a_confirmed_payment_paid_when_its_webhook_is_lost(
    client, confirmed_order, emulated_stripe, poll
):
    order = confirmed_order
    assert CartLine.objects.filter(cart_id=order.cart_id).exists()

    # The webhook gets its few seconds first: the shop does not ask Stripe at once.
    first = poll(client, order)
    assert (first["order_status"], first["paid"]) == ("pending_payment", False)

    state = wait_for(lambda: (state := poll(client, order))["paid"] and state, what="the poll to heal", timeout=20)

    assert state["order_status"] == "paid" and state["payment_status"] == "succeeded"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.get(kind="paid").actor == "system"
    assert not CartLine.objects.filter(cart_id=order.cart_id).exists()
    assert not [d for d in emulated_stripe.deliveries() if d["outcome"] == "succeeded"]


def test_polls_within_the_throttle_window_ask_stripe_once(client, place_order, lost_webhooks, emulated_stripe, settings):
    settings.PAYMENT_HEAL_AFTER_SECONDS = 0
    settings.PAYMENT_HEAL_THROTTLE_SECONDS = 60
    order = place_order()
    client.force_login(order.user)
    client.get(reverse("payments:checkout", args=[order.number]))  # a PaymentIntent the shopper has not paid yet
    before = emulated_stripe.stats()["api_requests"]

    assert page_status(client, order)["payment_status"] == "requires_payment_method"
    after_first = emulated_stripe.stats()["api_requests"]
    for _ in range(5):
        assert page_status(client, order)["order_status"] == "pending_payment"
        assert api_status(client, order)["order_status"] == "pending_payment"

    assert after_first == before + 1  # the first poll asked Stripe for the PaymentIntent
    assert emulated_stripe.stats()["api_requests"] == after_first  # the next ten did not


def test_a_stripe_error_while_healing_answers_the_current_state(client, confirmed_order, emulated_stripe, settings, caplog):
    settings.PAYMENT_HEAL_AFTER_SECONDS = 0
    order = confirmed_order
    emulated_stripe.set_faults(api=[{"path": "/v1/payment_intents/", "method": "GET", "times": 1, "status": 503}])

    with caplog.at_level(logging.WARNING, logger="payments.paying.services"):
        response = client.get(reverse("payments:status", args=[order.number]))

    assert response.status_code == 200
    assert response.json()["order_status"] == "pending_payment"
    assert f"Could not ask Stripe about the payment of order {order.number}" in caplog.text
