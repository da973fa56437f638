"""Paying for an order through the emulator: PaymentIntents, webhooks, the order's life."""

import threading

import pytest
from django.db import connection
from djstripe import models as djstripe_models

from cart.models import CartLine
from orders.models import Order, OrderEvent
from payments.models import Payment
from payments.paying.services import PaymentError, payment_start
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db(transaction=True)


def test_payment_intent_is_for_the_order_total_and_reused(place_order, emulated_stripe, shopper_stripe):
    order = place_order(email="ada@example.com")
    payment = payment_start(order_id=order.pk)
    again = payment_start(order_id=order.pk)

    assert again.pk == payment.pk
    intent = shopper_stripe.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert (intent.amount, intent.currency) == (order.total_amount, "eur")
    assert intent.metadata["order_number"] == order.number
    assert intent.receipt_email == "ada@example.com"
    assert len(shopper_stripe.v1.payment_intents.list().data) == 1
    assert djstripe_models.PaymentIntent.objects.filter(id=intent.id).exists()


def test_concurrent_starts_make_one_payment_intent(place_order, emulated_stripe, shopper_stripe):
    order = place_order()
    results, errors = [], []

    def start():
        try:
            results.append(payment_start(order_id=order.pk).stripe_payment_intent_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(set(results)) == 1
    assert Payment.objects.count() == 1
    assert len(shopper_stripe.v1.payment_intents.list().data) == 1


def test_paid_by_webhook_clears_the_purchased_books_from_the_cart(paid_order):
    payment = Payment.objects.get(order=paid_order)
    assert payment.status == Payment.Status.SUCCEEDED
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert payment.charge is not None and payment.charge.amount_captured is not None
    assert not CartLine.objects.filter(cart_id=paid_order.cart_id).exists()
    paid_event = paid_order.events.get(kind="paid")
    assert paid_event.actor == OrderEvent.Actor.WEBHOOK and paid_event.stripe_event_id.startswith("evt_")


def test_decline_keeps_order_and_cart_and_records_the_reason(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_chargeDeclinedInsufficientFunds")
    assert emulated_stripe.wait_idle(timeout=15)

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert payment.last_decline_code == "insufficient_funds"
    assert payment.last_error_message == "Your card has insufficient funds. Try another card."
    assert CartLine.objects.filter(cart_id=order.cart_id).count() == 2

    # Another card on the same PaymentIntent pays the order.
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert payment.last_error_message == ""


def test_paid_order_cannot_be_paid_again(paid_order):
    with pytest.raises(PaymentError, match="there is nothing to pay"):
        payment_start(order_id=paid_order.pk)
