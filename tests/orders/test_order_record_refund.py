"""The order's side of a refund: status, refunded amount, copies back on the shelf, history."""

import pytest
from django.db import IntegrityError

from bookstore.models import Book
from orders.models import Order, OrderEvent
from orders.services import Actor, OrderError, order_flag, order_mark_paid, order_place, order_record_refund
from tests.factories import BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address


@pytest.fixture
def paid_order(db):
    """Two lines: 2 × €15.00 and 1 × €8.00 = €38.00, paid."""
    cart = CartFactory()
    CartLineFactory(cart=cart, book=BookFactory(price_amount=1500, stock=5), quantity=2)
    CartLineFactory(cart=cart, book=BookFactory(price_amount=800, stock=5), quantity=1)
    order = order_place(cart=cart, email="ada@example.com", shipping=shipping_address())
    return order_mark_paid(order_id=order.pk, actor=Actor.system())


def test_partial_then_full_refund_moves_the_order_and_names_the_staff_member(paid_order):
    clerk = UserFactory(is_staff=True)

    order = order_record_refund(order_id=paid_order.pk, amount=1000, actor=Actor.staff(clerk), reference="refund 1")
    assert (order.status, order.refunded_amount, order.refundable_amount) == (Order.Status.PARTIALLY_REFUNDED, 1000, 2800)

    order = order_record_refund(order_id=paid_order.pk, amount=2800, actor=Actor.staff(clerk), reference="refund 2")
    assert (order.status, order.refunded_amount, order.refundable_amount) == (Order.Status.REFUNDED, 3800, 0)

    events = list(OrderEvent.objects.filter(order=paid_order, kind="refund"))
    assert [(e.from_status, e.to_status, e.actor, e.actor_user) for e in events] == [
        ("paid", "partially_refunded", "staff", clerk),
        ("partially_refunded", "refunded", "staff", clerk),
    ]
    assert events[0].message == "Refunded €10.00."


def test_the_same_refund_recorded_twice_counts_once(paid_order):
    for _ in range(2):
        order_record_refund(order_id=paid_order.pk, amount=1000, actor=Actor.webhook("evt_1"), reference="refund 7")

    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 1000
    assert paid_order.events.filter(kind="refund").count() == 1


def test_a_refund_is_recognised_by_its_reference_and_the_database_refuses_it_twice(paid_order):
    order_record_refund(order_id=paid_order.pk, amount=1000, actor=Actor.system(), reference="refund-7")
    # Even written past the service (a race that skipped the lock), the same fact cannot be stored twice.
    with pytest.raises(IntegrityError):
        OrderEvent.objects.create(order=paid_order, kind=OrderEvent.Kind.REFUND, reference="refund-7", actor="system")


def test_a_flag_for_the_same_stripe_fact_is_raised_once(paid_order):
    for event_id in ("evt_1", "evt_2"):
        order_flag(order_id=paid_order.pk, actor=Actor.webhook(event_id), reason="Disputed (dp_1).", reference="dp_1")
    order_flag(order_id=paid_order.pk, actor=Actor.webhook("evt_3"), reason="Disputed (dp_2).", reference="dp_2")

    paid_order.refresh_from_db()
    assert paid_order.attention_reason == "Disputed (dp_1).\nDisputed (dp_2)."
    flags = paid_order.events.filter(kind=OrderEvent.Kind.FLAGGED)
    assert list(flags.values_list("reference", "stripe_event_id")) == [("dp_1", "evt_1"), ("dp_2", "evt_3")]


def test_a_refund_beyond_what_is_left_is_refused_and_changes_nothing(paid_order):
    order_record_refund(order_id=paid_order.pk, amount=3000, actor=Actor.system(), reference="refund 1")

    with pytest.raises(OrderError, match="only €8.00 is left to refund"):
        order_record_refund(order_id=paid_order.pk, amount=900, actor=Actor.system(), reference="refund 2")

    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PARTIALLY_REFUNDED, 3000)


def test_an_unpaid_order_cannot_be_refunded(db):
    cart = CartFactory()
    CartLineFactory(cart=cart, quantity=1)
    order = order_place(cart=cart, email="ada@example.com", shipping=shipping_address())

    with pytest.raises(OrderError, match="awaiting payment; only paid orders can be refunded"):
        order_record_refund(order_id=order.pk, amount=100, actor=Actor.system(), reference="refund 1")


def test_chosen_copies_go_back_on_the_shelf(paid_order):
    first, second = paid_order.lines.all()

    order_record_refund(
        order_id=paid_order.pk, amount=1500, actor=Actor.system(), reference="refund 1", restock={str(first.pk): 1}
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.restocked_quantity, second.restocked_quantity) == (1, 0)
    assert Book.objects.get(pk=first.book_id).stock == 3 + 1  # 5 on the shelf, 2 sold, 1 back
    assert Book.objects.get(pk=second.book_id).stock == 4
    assert paid_order.events.get(kind="refund").message == f"Refunded €15.00. Back to stock: 1 × {first.title}."


def test_more_copies_back_than_were_bought_is_refused_and_changes_nothing(paid_order):
    first = paid_order.lines.first()
    order_record_refund(order_id=paid_order.pk, amount=100, actor=Actor.system(), reference="refund 1", restock={first.pk: 1})

    with pytest.raises(OrderError, match="at most 1 of the 2 copies bought can go back to stock"):
        order_record_refund(
            order_id=paid_order.pk, amount=100, actor=Actor.system(), reference="refund 2", restock={first.pk: 2}
        )

    first.refresh_from_db()
    paid_order.refresh_from_db()
    assert (first.restocked_quantity, paid_order.refunded_amount) == (1, 100)
    assert Book.objects.get(pk=first.book_id).stock == 4


def test_a_line_of_another_order_cannot_be_restocked(paid_order):
    cart = CartFactory()
    CartLineFactory(cart=cart, quantity=1)
    other = order_place(cart=cart, email="b@example.com", shipping=shipping_address())

    with pytest.raises(OrderError, match="has no line"):
        order_record_refund(
            order_id=paid_order.pk,
            amount=100,
            actor=Actor.system(),
            reference="refund 1",
            restock={other.lines.get().pk: 1},
        )
