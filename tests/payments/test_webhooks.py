"""Stripe's webhooks through the shop's endpoint and inbox: signatures, duplicates, order, strangers.

The endpoint stores and answers; the Celery worker processes. `emulated_stripe.wait_idle`
waits for both (tests/stripe_fixtures.py: webhook_endpoint).
"""

import hashlib
import hmac
import json
import threading
import time

import pytest
import requests
from django.core.management import call_command
from djstripe import models as djstripe_models

from bookstore.models import Book
from cart.models import CartLine
from orders.models import Order, OrderEvent
from payments import gateway
from payments.models import Payment, WebhookMessage
from payments.paying.services import payment_start, payments_reconcile, payments_release_expired
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db(transaction=True)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@pytest.fixture
def success_event(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    """A real payment_intent.succeeded event for an order, not yet delivered to the shop."""
    # Every delivery attempt fails unsent, so the shop hears only what the test posts.
    emulated_stripe.set_faults(fail_first=100)
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    event = shopper_stripe.v1.events.list(params={"type": "payment_intent.succeeded"}).data[0]
    return order, json.dumps(json.loads(str(event))).encode()


def post_webhook(endpoint, payload: bytes, signature: str) -> requests.Response:
    return requests.post(
        endpoint.url, data=payload, headers={"Content-Type": "application/json", "Stripe-Signature": signature}, timeout=30
    )


def test_signed_event_marks_paid_and_a_replay_changes_nothing(success_event, webhook_endpoint, emulated_stripe):
    order, payload = success_event
    assert post_webhook(webhook_endpoint, payload, sign(payload, webhook_endpoint.secret)).status_code == 200
    assert post_webhook(webhook_endpoint, payload, sign(payload, webhook_endpoint.secret)).status_code == 200
    assert emulated_stripe.wait_idle(timeout=15)
    assert WebhookMessage.objects.get().state == WebhookMessage.State.PROCESSED
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.filter(kind="paid").count() == 1


@pytest.mark.parametrize(
    "make_signature",
    [
        pytest.param(lambda payload, secret: sign(payload, "whsec_forged"), id="forged"),
        pytest.param(lambda payload, secret: sign(payload, secret, int(time.time()) - 3600), id="too-old"),
        pytest.param(lambda payload, secret: "garbage", id="malformed-header"),
        pytest.param(lambda payload, secret: sign(payload + b" ", "whsec_forged"), id="tampered-body"),
    ],
)
def test_bad_signature_gets_400_and_changes_nothing(success_event, webhook_endpoint, make_signature):
    order, payload = success_event
    response = post_webhook(webhook_endpoint, payload, make_signature(payload, webhook_endpoint.secret))
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert not WebhookMessage.objects.exists() and not djstripe_models.Event.objects.exists()


def test_malformed_body_gets_400(webhook_endpoint):
    payload = b"{not json"
    assert post_webhook(webhook_endpoint, payload, sign(payload, webhook_endpoint.secret)).status_code == 400


def test_duplicated_and_shuffled_deliveries_pay_once(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    emulated_stripe.set_faults(duplicate=True, shuffle=True)
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_chargeDeclined")
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=30)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.filter(kind="paid").count() == 1
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    deliveries = emulated_stripe.deliveries()
    assert deliveries and all(d["status"] == 200 for d in deliveries if d["type"].startswith("payment_intent."))


def test_canceled_payment_cancels_the_order_and_releases_stock(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    order = place_order()
    book = order.lines.first().book
    stock_after_order = Book.objects.get(pk=book.pk).stock
    payment = payment_start(order_id=order.pk)
    shopper_stripe.v1.payment_intents.cancel(payment.stripe_payment_intent_id)
    assert emulated_stripe.wait_idle(timeout=15)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert Book.objects.get(pk=book.pk).stock == stock_after_order + order.lines.first().quantity


def test_payment_intent_of_no_order_is_acknowledged_and_ignored(webhook_endpoint, shopper_stripe, emulated_stripe, place_order):
    order = place_order()
    intent = shopper_stripe.v1.payment_intents.create(params={"amount": 500, "currency": "eur"})
    confirm_with(shopper_stripe, intent.id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)
    succeeded = [d for d in emulated_stripe.deliveries() if d["type"] == "payment_intent.succeeded"]
    assert [d["status"] for d in succeeded] == [200]
    assert WebhookMessage.objects.get(type="payment_intent.succeeded").state == WebhookMessage.State.IGNORED
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not Payment.objects.exists()


def test_amount_mismatch_flags_the_order_instead_of_paying_it(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    order = place_order()
    payment = payment_start(order_id=order.pk)
    shopper_stripe.v1.payment_intents.update(payment.stripe_payment_intent_id, params={"amount": 100})
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.needs_attention
    assert "Stripe reports €1.00 paid for an order of €31.99" in order.attention_reason


def test_reconcile_feeds_an_undelivered_event_to_the_inbox(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    emulated_stripe.set_faults(fail_first=100)  # Stripe keeps trying; the shop never hears.
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)  # Stripe has given up
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not WebhookMessage.objects.exists()

    # Too recent for reconcile to ask about the payment itself, but Stripe lists the event.
    assert payments_reconcile() == []
    assert emulated_stripe.wait_idle(timeout=15)

    message = WebhookMessage.objects.get()
    assert (message.type, message.state, message.endpoint) == ("payment_intent.succeeded", WebhookMessage.State.PROCESSED, None)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.get(kind="paid").stripe_event_id == message.stripe_event_id
    payments_reconcile()  # listed again while Stripe still counts it undelivered: a lookup
    assert WebhookMessage.objects.count() == 1


def test_reconcile_asks_about_a_pending_payment_when_events_cannot_be_listed(
    place_order, webhook_endpoint, shopper_stripe, emulated_stripe, monkeypatch
):
    emulated_stripe.set_faults(fail_first=100)
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")

    def unavailable(**kwargs):
        raise gateway.PaymentGatewayError(gateway.UNAVAILABLE_MESSAGE, code="provider_unavailable", retryable=True)

    monkeypatch.setattr(gateway, "events_undelivered", unavailable)
    assert payments_reconcile() == []  # too recent: the webhook may still come
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at.replace(year=2020))
    call_command("payments_reconcile")

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.get(kind="paid").actor == "system"


def test_expired_reservation_cancels_the_payment_intent_first(place_order, emulated_stripe, shopper_stripe):
    order = place_order()
    payment = payment_start(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(reserved_until=order.created_at.replace(year=2020))

    assert payments_release_expired() == [order.number]

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED and order.stock_released
    assert shopper_stripe.v1.payment_intents.retrieve(payment.stripe_payment_intent_id).status == "canceled"


def test_expired_reservation_paid_meanwhile_is_marked_paid_not_canceled(place_order, emulated_stripe, shopper_stripe):
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")  # no webhook endpoint
    Order.objects.filter(pk=order.pk).update(reserved_until=order.created_at.replace(year=2020))

    assert payments_release_expired() == []

    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_register_webhook_endpoint_twice_keeps_one(emulated_stripe, shopper_stripe):
    call_command("register_webhook_endpoint", url="https://shop.example.com")
    call_command("register_webhook_endpoint", url="https://shop.example.com/")

    remote = shopper_stripe.v1.webhook_endpoints.list().data
    assert len(remote) == 1
    local = djstripe_models.WebhookEndpoint.objects.get()
    assert local.id == remote[0].id and local.secret.startswith("whsec_")
    assert local.url.startswith("https://shop.example.com/stripe/webhook/")
    assert "payment_intent.succeeded" in local.enabled_events


def test_the_same_event_twice_at_once_gives_one_transition_and_one_cart_clear(success_event, webhook_endpoint, emulated_stripe):
    order, payload = success_event
    line = order.lines.first()
    # The shopper put one more copy in the cart after ordering: it must stay there.
    CartLine.objects.filter(cart_id=order.cart_id, book_id=line.book_id).update(quantity=line.quantity + 1)
    signature = sign(payload, webhook_endpoint.secret)
    barrier = threading.Barrier(2)
    statuses = []

    def deliver():
        barrier.wait()
        statuses.append(post_webhook(webhook_endpoint, payload, signature).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emulated_stripe.wait_idle(timeout=15)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.filter(kind="paid").count() == 1
    assert list(CartLine.objects.filter(cart_id=order.cart_id).values_list("book_id", "quantity")) == [(line.book_id, 1)]
    # Both acknowledged: the copy found the event stored (or lost the race to store it).
    assert statuses == [200, 200] and WebhookMessage.objects.count() == 1


def test_fifty_payments_under_duplicates_shuffling_and_failures(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    emulated_stripe.set_faults(duplicate=True, shuffle=True, fail_first=1)
    orders = [place_order() for _ in range(50)]
    for order in orders:
        payment = payment_start(order_id=order.pk)
        confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=120)

    order_ids = [order.pk for order in orders]
    assert Order.objects.filter(pk__in=order_ids, status=Order.Status.PAID).count() == 50
    assert not CartLine.objects.filter(cart__orders__in=order_ids).exists()
    paid_events = OrderEvent.objects.filter(order__in=order_ids, kind="paid")
    assert paid_events.count() == 50 and paid_events.values("order").distinct().count() == 50
