"""Refund webhooks: refunds made in Stripe's dashboard, our own refund reported early, duplicates, disorder."""

import pytest

from orders.models import Order, OrderEvent
from payments import gateway
from payments.models import Refund
from payments.refunds.services import refund_create

pytestmark = pytest.mark.django_db(transaction=True)


def refund_webhooks_answered(emulator) -> list[tuple[str, int]]:
    return [(d["type"], d["status"]) for d in emulator.deliveries() if d["type"].startswith(("refund.", "charge.refunded"))]


def test_dashboard_refund_arrives_only_as_a_webhook(paid_order, emulated_stripe, shopper_stripe):
    at_stripe = shopper_stripe.v1.refunds.create(
        params={"payment_intent": paid_order.payment.stripe_payment_intent_id, "amount": 950, "reason": "duplicate"}
    )
    assert emulated_stripe.wait_idle(timeout=15)

    refund = Refund.objects.get()
    assert (refund.stripe_refund_id, refund.origin, refund.status) == (at_stripe.id, Refund.Origin.STRIPE, Refund.Status.SUCCEEDED)
    assert (refund.amount, refund.currency, refund.reason, refund.created_by) == (950, "EUR", "duplicate", None)
    assert refund.djstripe_refund_id == at_stripe.id
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PARTIALLY_REFUNDED, 950)
    seen, recorded = paid_order.events.get(kind="refund_seen"), paid_order.events.get(kind="refund")
    assert "made outside the shop, in Stripe's dashboard" in seen.message
    assert recorded.actor == OrderEvent.Actor.WEBHOOK and recorded.stripe_event_id.startswith("evt_")
    assert all(status == 200 for _type, status in refund_webhooks_answered(emulated_stripe))


def test_own_refund_reported_by_webhooks_before_the_api_answer_counts_once(
    paid_order, refunder, emulated_stripe, monkeypatch
):
    """Stripe's webhooks can beat its API answer to us; they find our row by the metadata we sent."""
    real = gateway.refund_create

    def answer_after_the_webhooks(**kwargs):
        answer = real(**kwargs)
        # The webhooks are handled by the live server while the answer is held back here.
        assert emulated_stripe.wait_idle(timeout=15)
        assert Refund.objects.get(pk=int(kwargs["metadata"]["refund_id"])).status == Refund.Status.SUCCEEDED
        return answer

    monkeypatch.setattr(gateway, "refund_create", answer_after_the_webhooks)
    made = refund_create(
        order_id=paid_order.pk, amount=1299, reason="", note="", restock={}, staff_user=refunder
    )

    assert made.status == Refund.Status.SUCCEEDED
    assert Refund.objects.count() == 1
    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 1299
    event = paid_order.events.get(kind="refund")
    assert event.actor_user == refunder and event.stripe_event_id.startswith("evt_")


def test_duplicate_and_shuffled_webhooks_count_each_refund_once(paid_order, refunder, emulated_stripe, shopper_stripe):
    emulated_stripe.set_faults(duplicate=True, shuffle=True)
    emulated_stripe.configure(refunds="pending_succeeded")
    for amount in (1000, 1200):
        refund_create(order_id=paid_order.pk, amount=amount, reason="", note="", restock={}, staff_user=refunder)
    shopper_stripe.v1.refunds.create(params={"payment_intent": paid_order.payment.stripe_payment_intent_id, "amount": 999})
    assert emulated_stripe.wait_idle(timeout=20)

    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 3199 and paid_order.status == Order.Status.REFUNDED
    assert sorted(Refund.objects.values_list("amount", "status")) == [
        (999, "succeeded"), (1000, "succeeded"), (1200, "succeeded")
    ]
    assert paid_order.events.filter(kind="refund").count() == 3
    assert all(status == 200 for _type, status in refund_webhooks_answered(emulated_stripe))


def test_shuffled_webhooks_of_a_refund_that_fails_never_credit_the_order(pay_with, refunder, emulated_stripe):
    emulated_stripe.set_faults(shuffle=True)
    emulated_stripe.configure(refunds="pending_failed")
    order = pay_with()
    refund_create(order_id=order.pk, amount=500, reason="", note="", restock={}, staff_user=refunder)
    assert emulated_stripe.wait_idle(timeout=15)

    assert Refund.objects.get().status == Refund.Status.FAILED
    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.needs_attention) == (Order.Status.PAID, 0, False)
