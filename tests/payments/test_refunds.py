"""Staff refunds through the service, against the emulator: amounts, races, failures, stock."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bookstore.models import Book
from orders.models import Order, OrderEvent
from orders.services import Actor
from payments import gateway
from payments.models import Refund
from payments.refunds.selectors import refund_available_amount, refund_state_token
from payments.refunds.services import RefundError
from payments.refunds.services import dispute_record, refund_check, refund_create

pytestmark = pytest.mark.django_db(transaction=True)


def refund(order, user, amount, *, restock=None, reason="requested_by_customer", note="", expected_state=None):
    return refund_create(
        order_id=order.pk,
        amount=amount,
        reason=reason,
        note=note,
        restock=restock or {},
        staff_user=user,
        expected_state=expected_state,
    )


def at_once(count, submit):
    """Run `submit` in `count` threads released together; returns (results, refusal codes)."""
    barrier = threading.Barrier(count)
    made, refused = [], []

    def run():
        barrier.wait()
        try:
            made.append(submit())
        except RefundError as exc:
            refused.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made, refused


def stripe_refunds(shopper_stripe, order):
    return shopper_stripe.v1.refunds.list(params={"payment_intent": order.payment.stripe_payment_intent_id}).data


def test_full_refund_moves_the_order_returns_stock_and_names_the_staff_member(
    paid_order, refunder, emulated_stripe, shopper_stripe
):
    lines = list(paid_order.lines.all())
    stock_before = {line.book_id: Book.objects.get(pk=line.book_id).stock for line in lines}

    made = refund(paid_order, refunder, paid_order.total_amount, restock={line.pk: line.quantity for line in lines}, note="Lost in the post")
    assert emulated_stripe.wait_idle(timeout=15)

    made.refresh_from_db()
    paid_order.refresh_from_db()
    assert made.status == Refund.Status.SUCCEEDED and made.stripe_refund_id.startswith("re_")
    assert made.succeeded_at is not None and made.origin == Refund.Origin.SHOP
    assert paid_order.status == Order.Status.REFUNDED
    assert paid_order.refunded_amount == paid_order.total_amount
    for line in lines:
        assert Book.objects.get(pk=line.book_id).stock == stock_before[line.book_id] + line.quantity
    event = paid_order.events.get(kind="refund")
    assert (event.actor, event.actor_user) == (OrderEvent.Actor.STAFF, refunder)
    assert event.message == "Refunded €31.99. Back to stock: 1 × Piranesi, 2 × The Dispossessed."
    # The webhooks that followed (refund.created, charge.refunded) counted nothing again.
    assert Refund.objects.count() == 1
    [at_stripe] = stripe_refunds(shopper_stripe, paid_order)
    assert (at_stripe.amount, at_stripe.reason, at_stripe.metadata["refund_id"]) == (3199, "requested_by_customer", str(made.pk))


def test_two_partial_refunds_then_one_too_many_is_refused(paid_order, refunder, emulated_stripe, shopper_stripe):
    piranesi = paid_order.lines.get(title="Piranesi")
    refund(paid_order, refunder, 1299, restock={piranesi.pk: 1})
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PARTIALLY_REFUNDED
    refund(paid_order, refunder, 950)
    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 2249 and refund_available_amount(order=paid_order) == 950

    with pytest.raises(RefundError, match="more than the €9.50 left to refund") as refused:
        refund(paid_order, refunder, 951)
    assert refused.value.code == "refund_exceeds_total"
    # Restocking the copy already back on the shelf is refused too.
    with pytest.raises(RefundError, match="at most 0 of the 1 copies"):
        refund(paid_order, refunder, 950, restock={piranesi.pk: 1})

    assert emulated_stripe.wait_idle(timeout=15)
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PARTIALLY_REFUNDED and paid_order.refunded_amount == 2249
    assert Refund.objects.filter(status=Refund.Status.SUCCEEDED).count() == 2 and Refund.objects.count() == 2
    assert len(stripe_refunds(shopper_stripe, paid_order)) == 2


def test_double_submit_of_one_form_refunds_once(paid_order, refunder, emulated_stripe, shopper_stripe):
    token = refund_state_token(order=paid_order)
    made, refused = at_once(3, lambda: refund(paid_order, refunder, 1000, expected_state=token))
    assert emulated_stripe.wait_idle(timeout=15)

    assert len(made) == 1 and refused == ["stale_form", "stale_form"]
    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 1000
    assert len(stripe_refunds(shopper_stripe, paid_order)) == 1


def test_two_staff_refunding_the_rest_at_once_refund_it_once(paid_order, refunder, emulated_stripe, shopper_stripe):
    """Without a form token the pending row still stops the second: it is in flight while Stripe is asked."""
    emulated_stripe.set_faults(api=[{"path": "/v1/refunds", "method": "POST", "slow": 0.5}])
    made, refused = at_once(2, lambda: refund(paid_order, refunder, paid_order.total_amount))
    assert emulated_stripe.wait_idle(timeout=15)

    assert len(made) == 1 and refused == ["refund_exceeds_total"]
    assert len(stripe_refunds(shopper_stripe, paid_order)) == 1


def test_stripe_error_leaves_a_failed_refund_and_the_order_as_it_was(paid_order, refunder, emulated_stripe, shopper_stripe):
    emulated_stripe.set_faults(api=[{"path": "/v1/refunds", "method": "POST", "status": 500}])
    line = paid_order.lines.first()
    stock = Book.objects.get(pk=line.book_id).stock

    made = refund(paid_order, refunder, 1299, restock={line.pk: 1})

    assert made.status == Refund.Status.FAILED
    assert made.failure_reason.startswith("We could not reach our payment provider.")
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PAID, 0)
    assert Book.objects.get(pk=line.book_id).stock == stock
    assert paid_order.events.filter(kind="refund_failed").exists()
    assert stripe_refunds(shopper_stripe, paid_order) == []
    # The failed row holds nothing back: the whole amount can be refunded again.
    emulated_stripe.clear_faults()
    assert refund(paid_order, refunder, paid_order.total_amount).status == Refund.Status.SUCCEEDED


def test_timeout_after_stripe_acted_is_healed_by_the_webhook(paid_order, refunder, emulated_stripe, settings):
    # Stripe answers after our client has given up, but makes the refund all the same.
    settings.STRIPE_TIMEOUT_SECONDS = 1
    emulated_stripe.set_faults(api=[{"path": "/v1/refunds", "method": "POST", "slow": 2, "times": 1}])

    made = refund(paid_order, refunder, 1299)
    assert made.status == Refund.Status.FAILED

    from tests.celery_fixtures import wait_for

    wait_for(lambda: Refund.objects.get(pk=made.pk).status == Refund.Status.SUCCEEDED, what="the webhook", timeout=30)
    assert emulated_stripe.wait_idle(timeout=15)
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PARTIALLY_REFUNDED, 1299)
    assert Refund.objects.count() == 1


def test_refund_window(paid_order, refunder, settings):
    Order.objects.filter(pk=paid_order.pk).update(paid_at=timezone.now() - timedelta(days=91))
    with pytest.raises(RefundError, match="paid more than 90 days ago") as refused:
        refund(paid_order, refunder, 100)
    assert refused.value.code == "refund_window_closed"
    assert not Refund.objects.exists()

    settings.REFUND_WINDOW_DAYS = 120
    assert refund(paid_order, refunder, 100).status == Refund.Status.SUCCEEDED


def test_unpaid_order_cannot_be_refunded(place_order, refunder, emulated_stripe):
    order = place_order()
    with pytest.raises(RefundError, match="awaiting payment; there is nothing to refund"):
        refund(order, refunder, 100)


def test_pending_refund_counts_until_stripe_settles_it(paid_order, refunder, emulated_stripe):
    emulated_stripe.configure(refunds="pending_succeeded", refund_settle_after=1)
    made = refund(paid_order, refunder, 2000)
    assert made.status == Refund.Status.PENDING
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PAID, 0)
    with pytest.raises(RefundError, match=r"left to refund on order \w+ \(€20.00 is being refunded already\)"):
        refund(paid_order, refunder, 1500)

    assert emulated_stripe.wait_idle(timeout=15)
    made.refresh_from_db()
    paid_order.refresh_from_db()
    assert made.status == Refund.Status.SUCCEEDED
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PARTIALLY_REFUNDED, 2000)
    # Confirmed by webhook, but made by the staff member: the history names them.
    event = paid_order.events.get(kind="refund")
    assert event.actor_user == refunder and event.stripe_event_id.startswith("evt_")


def test_pending_refund_that_fails_leaves_the_order_as_it_was(paid_order, refunder, emulated_stripe):
    emulated_stripe.configure(refunds="pending_failed")
    made = refund(paid_order, refunder, 2000)
    assert emulated_stripe.wait_idle(timeout=15)

    made.refresh_from_db()
    paid_order.refresh_from_db()
    assert made.status == Refund.Status.FAILED
    assert made.failure_reason == "The card has expired or was canceled"
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PAID, 0)
    assert refund_available_amount(order=paid_order) == paid_order.total_amount


def test_pending_refund_card(pay_with, refunder, emulated_stripe):
    order = pay_with("pm_card_pendingRefund")
    made = refund(order, refunder, order.total_amount)
    assert made.status == Refund.Status.PENDING
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    assert order.status == Order.Status.REFUNDED


def test_refund_failing_after_it_succeeded_flags_the_order(pay_with, refunder, emulated_stripe):
    order = pay_with("pm_card_refundFail")
    made = refund(order, refunder, order.total_amount)
    assert made.status == Refund.Status.SUCCEEDED
    assert emulated_stripe.wait_idle(timeout=15)

    made.refresh_from_db()
    order.refresh_from_db()
    assert made.status == Refund.Status.FAILED
    assert order.needs_attention
    assert "failed at Stripe after it had succeeded" in order.attention_reason
    # Stripe never moves an order back and neither does the shop: staff decide.
    assert order.status == Order.Status.REFUNDED


def test_refund_of_a_disputed_payment_fails_with_stripes_reason(pay_with, refunder, emulated_stripe):
    order = pay_with("pm_card_createDispute")
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.needs_attention and "disputed €31.99" in order.attention_reason
    assert order.events.filter(kind="flagged", actor=OrderEvent.Actor.WEBHOOK).count() == 1
    # Stripe telling of the same dispute again is recognised by the dispute's id.
    dispute_id = order.events.get(kind=OrderEvent.Kind.FLAGGED).reference
    assert dispute_id.startswith("dp_")
    dispute = {"id": dispute_id, "payment_intent": order.payment.stripe_payment_intent_id, "amount": 3199, "currency": "eur"}
    dispute_record(dispute=dispute, actor=Actor.webhook("evt_again"))
    assert order.events.filter(kind=OrderEvent.Kind.FLAGGED).count() == 1

    made = refund(order, refunder, 1000)
    assert made.status == Refund.Status.FAILED
    assert "has been charged back; cannot issue a refund" in made.failure_reason
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_gateway_is_asked_with_the_refund_rows_key(paid_order, refunder, monkeypatch):
    seen = []
    real = gateway.refund_create

    def spy(**kwargs):
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(gateway, "refund_create", spy)
    made = refund(paid_order, refunder, 500)
    assert seen[0]["idempotency_key"] == f"order-{paid_order.number}-refund-{made.pk}"
    assert seen[0]["metadata"] == {"refund_id": str(made.pk), "order_number": paid_order.number}


@pytest.mark.parametrize(
    ("amount", "reason", "piranesi_copies", "code", "field"),
    [
        (0, "", 0, "invalid_amount", "amount"),
        (100, "because", 0, "invalid_reason", "reason"),
        (100, "", 2, "invalid_restock", "restock.{line}"),
        (100, "", "two", "invalid_restock", "restock"),
    ],
)
def test_refund_check_names_the_argument_at_fault(paid_order, amount, reason, piranesi_copies, code, field):
    line_id = paid_order.lines.get(title="Piranesi").pk
    restock = {line_id: piranesi_copies} if piranesi_copies else {}
    with pytest.raises(RefundError) as refused:
        refund_check(order=paid_order, amount=amount, reason=reason, restock=restock)
    assert (refused.value.code, refused.value.field) == (code, field.format(line=line_id))
    assert not Refund.objects.exists()
