"""The order's life, rule by rule, on the database alone (the fast layer).

Every transition from every status: it moves, returns quietly when the order is already
there, or refuses with an OrderError; stock follows the order.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookstore.models import Book
from orders.models import Order
from orders.services import (
    Actor,
    OrderError,
    order_cancel,
    order_expire_unpaid,
    order_mark_paid,
    order_place,
    order_record_refund,
)
from tests.factories import BookFactory, CartFactory, CartLineFactory, shipping_address

Status = Order.Status


@pytest.fixture
def order_in(db):
    """`order_in(status)`: an order of 2 copies of one book (stock 5), brought to `status` through the services."""

    def build(status: str) -> Order:
        cart = CartFactory()
        CartLineFactory(cart=cart, book=BookFactory(price_amount=1000, stock=5), quantity=2)
        order = order_place(cart=cart, email="ada@example.com", shipping=shipping_address())
        if status == Status.CANCELED:
            return order_cancel(order_id=order.pk, actor=Actor.system(), reason="test")
        if status == Status.PENDING_PAYMENT:
            return order
        order = order_mark_paid(order_id=order.pk, actor=Actor.system())
        if status == Status.PARTIALLY_REFUNDED:
            order = order_record_refund(order_id=order.pk, amount=500, actor=Actor.system(), reference="first")
        elif status == Status.REFUNDED:
            order = order_record_refund(order_id=order.pk, amount=2000, actor=Actor.system(), reference="all")
        assert order.status == status
        return order

    return build


def _stock(order: Order) -> int:
    return Book.objects.get(pk=order.lines.get().book_id).stock


@pytest.mark.parametrize(
    ("start", "outcome"),
    [
        (Status.PENDING_PAYMENT, Status.PAID),
        (Status.PAID, "quiet"),
        (Status.PARTIALLY_REFUNDED, "quiet"),
        (Status.REFUNDED, "quiet"),
        (Status.CANCELED, "not_payable"),
    ],
)
def test_mark_paid_from_each_status(order_in, start, outcome):
    order = order_in(start)
    events_before = order.events.count()

    if outcome == "not_payable":
        with pytest.raises(OrderError) as refused:
            order_mark_paid(order_id=order.pk, actor=Actor.system())
        assert refused.value.code == "not_payable"
        order.refresh_from_db()
        assert order.status == start
        return
    order = order_mark_paid(order_id=order.pk, actor=Actor.system())
    if outcome == "quiet":
        assert (order.status, order.events.count()) == (start, events_before)
    else:
        assert order.status == outcome and order.paid_at is not None
        assert order.events.last().kind == "paid"


@pytest.mark.parametrize(
    ("start", "outcome"),
    [
        (Status.PENDING_PAYMENT, Status.CANCELED),
        (Status.CANCELED, "quiet"),
        (Status.PAID, "not_cancelable"),
        (Status.PARTIALLY_REFUNDED, "not_cancelable"),
        (Status.REFUNDED, "not_cancelable"),
    ],
)
def test_cancel_from_each_status_puts_reserved_copies_back_once(order_in, start, outcome):
    order = order_in(start)
    stock_before = _stock(order)

    if outcome == "not_cancelable":
        with pytest.raises(OrderError) as refused:
            order_cancel(order_id=order.pk, actor=Actor.system(), reason="test")
        assert refused.value.code == "not_cancelable"
        assert _stock(order) == stock_before
        return
    order = order_cancel(order_id=order.pk, actor=Actor.system(), reason="test")
    assert order.status == Status.CANCELED and order.stock_released
    # Placed with 2 of 5 copies: canceling gives the 2 back, and a second cancel nothing more.
    assert _stock(order) == 5


@pytest.mark.parametrize(
    ("start", "amount", "outcome"),
    [
        (Status.PAID, 500, Status.PARTIALLY_REFUNDED),
        (Status.PAID, 2000, Status.REFUNDED),
        (Status.PARTIALLY_REFUNDED, 1500, Status.REFUNDED),
        (Status.PAID, 2001, "refund_exceeds_total"),
        (Status.PARTIALLY_REFUNDED, 1501, "refund_exceeds_total"),
        (Status.PAID, 0, "refund_exceeds_total"),
        (Status.REFUNDED, 1, "not_refundable"),
        (Status.PENDING_PAYMENT, 500, "not_refundable"),
        (Status.CANCELED, 500, "not_refundable"),
    ],
)
def test_record_refund_arithmetic(order_in, start, amount, outcome):
    order = order_in(start)
    refunded_before = order.refunded_amount

    if outcome in (Status.PARTIALLY_REFUNDED, Status.REFUNDED):
        order = order_record_refund(order_id=order.pk, amount=amount, actor=Actor.system(), reference="this one")
        assert (order.status, order.refunded_amount) == (outcome, refunded_before + amount)
        assert order.refunded_amount + order.refundable_amount == order.total_amount
        return
    with pytest.raises(OrderError) as refused:
        order_record_refund(order_id=order.pk, amount=amount, actor=Actor.system(), reference="this one")
    assert refused.value.code == outcome
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (start, refunded_before)


@pytest.mark.parametrize(
    ("start", "expired", "canceled"),
    [
        (Status.PENDING_PAYMENT, True, True),
        (Status.PENDING_PAYMENT, False, False),
        (Status.PAID, True, False),
        (Status.CANCELED, True, False),
    ],
)
def test_expiry_cancels_only_unpaid_orders_past_their_reservation(order_in, start, expired, canceled):
    order = order_in(start)
    if expired:
        Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))

    numbers = order_expire_unpaid()

    order.refresh_from_db()
    assert (order.number in numbers) is canceled
    assert order.status == (Status.CANCELED if canceled else start)


def test_expiry_leaves_orders_the_caller_could_not_cancel_at_stripe(order_in):
    order = order_in(Status.PENDING_PAYMENT)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))

    assert order_expire_unpaid(skip_order_ids=[order.pk]) == []
    order.refresh_from_db()
    assert order.status == Status.PENDING_PAYMENT
