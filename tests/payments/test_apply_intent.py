"""`payment_apply_intent` given a PaymentIntent as a plain dict (the fast layer).

The rules that turn Stripe's word into the order's state, without Stripe: what the webhook,
the return page and reconcile all apply. dj-stripe's mirroring of the same objects is the
contract layer's (tests/payments/test_webhooks.py and the emulator's mirror tests).
"""

import pytest

from bookstore.models import Book
from cart.models import CartLine
from orders.models import Order, OrderEvent
from orders.services import Actor, order_cancel, order_place
from payments.models import Payment
from payments.paying import services as paying_services
from payments.paying.services import payment_apply_intent
from tests.factories import BookFactory, CartFactory, CartLineFactory, shipping_address

Kind = OrderEvent.Kind


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch):
    monkeypatch.setattr(paying_services, "stripe_mirror", lambda model, data: None)


@pytest.fixture
def started(db):
    """An order of 2 × €10.00 from a cart, its payment started (PaymentIntent pi_fast)."""
    cart = CartFactory()
    CartLineFactory(cart=cart, book=BookFactory(price_amount=1000, stock=5), quantity=2)
    order = order_place(cart=cart, email="ada@example.com", shipping=shipping_address())
    Payment.objects.create(
        order=order, stripe_payment_intent_id="pi_fast", client_secret="pi_fast_secret", amount=2000, currency="EUR"
    )
    return order


def intent(status: str, **fields) -> dict:
    return {
        "id": "pi_fast",
        "object": "payment_intent",
        "amount": 2000,
        "amount_received": 2000 if status == "succeeded" else 0,
        "currency": "eur",
        "status": status,
        "metadata": {},
        "latest_charge": {
            "id": "ch_fast",
            "object": "charge",
            "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}},
        }
        if status == "succeeded"
        else None,
        **fields,
    }


def declined(code="card_declined", decline_code="insufficient_funds") -> dict:
    return intent(
        "requires_payment_method",
        last_payment_error={"code": code, "decline_code": decline_code, "message": "Your card was declined."},
    )


def _kinds(order: Order) -> list[str]:
    return list(order.events.values_list("kind", flat=True))


def test_success_marks_the_order_paid_records_the_card_and_empties_the_cart(started, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        payment = payment_apply_intent(intent=intent("succeeded"), actor=Actor.webhook("evt_1"))

    started.refresh_from_db()
    assert started.status == Order.Status.PAID
    assert (payment.status, payment.card_brand, payment.card_last4) == ("succeeded", "visa", "4242")
    assert not CartLine.objects.filter(cart_id=started.cart_id).exists()
    assert started.events.get(kind=Kind.PAID).stripe_event_id == "evt_1"
    assert len(queued) == 1  # the receipt, once the transaction commits


def test_success_applied_twice_moves_the_order_once(started):
    for event_id in ("evt_1", "evt_2"):
        payment_apply_intent(intent=intent("succeeded"), actor=Actor.webhook(event_id))

    started.refresh_from_db()
    assert _kinds(started).count(Kind.PAID) == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [({"amount_received": 1999}, "€19.99 paid for an order of €20.00"), ({"currency": "usd"}, "paid for an order of €20.00")],
)
def test_a_payment_that_does_not_match_the_order_flags_it_instead_of_marking_it_paid(started, fields, words):
    for _ in range(2):
        payment_apply_intent(intent=intent("succeeded", **fields), actor=Actor.system())

    started.refresh_from_db()
    assert started.status == Order.Status.PENDING_PAYMENT
    assert started.needs_attention and words in started.attention_reason
    assert _kinds(started).count(Kind.FLAGGED) == 1


def test_money_for_a_canceled_order_reinstates_it_when_its_books_are_there(started):
    # The refund when they are not: tests/payments/test_late_payments.py.
    order_cancel(order_id=started.pk, actor=Actor.system(), reason="expired")

    payment_apply_intent(intent=intent("succeeded"), actor=Actor.system())

    started.refresh_from_db()
    assert started.status == Order.Status.PAID and not started.needs_attention
    assert _kinds(started)[-2:] == [Kind.REINSTATED, Kind.PAID]


def test_a_decline_is_recorded_once_in_words_and_keeps_the_order_payable(started):
    for _ in range(2):
        payment = payment_apply_intent(intent=declined(), actor=Actor.webhook("evt_d"))

    started.refresh_from_db()
    assert started.status == Order.Status.PENDING_PAYMENT
    assert payment.last_error_message == "Your card has insufficient funds. Try another card."
    assert _kinds(started).count(Kind.PAYMENT_FAILED) == 1
    assert CartLine.objects.filter(cart_id=started.cart_id).exists()


@pytest.mark.parametrize("late", [declined(), intent("processing"), intent("requires_action"), intent("canceled")])
def test_a_late_event_never_moves_a_paid_order_back(started, late):
    payment_apply_intent(intent=intent("succeeded"), actor=Actor.system())

    payment = payment_apply_intent(intent=late, actor=Actor.system())

    started.refresh_from_db()
    assert (started.status, payment.status) == (Order.Status.PAID, "succeeded")


def test_a_new_attempt_clears_the_last_cards_error(started):
    payment_apply_intent(intent=declined(), actor=Actor.system())

    payment = payment_apply_intent(intent=intent("processing"), actor=Actor.system())

    assert (payment.status, payment.last_error_message) == ("processing", "")


def test_canceled_at_stripe_cancels_the_order_and_puts_its_books_back(started):
    book = Book.objects.get(pk=started.lines.get().book_id)
    assert book.stock == 3

    payment_apply_intent(intent=intent("canceled", cancellation_reason="abandoned"), actor=Actor.system())

    started.refresh_from_db()
    book.refresh_from_db()
    assert (started.status, book.stock) == (Order.Status.CANCELED, 5)
    assert "(abandoned)" in started.events.get(kind=Kind.CANCELED).message


def test_a_payment_intent_of_someone_else_changes_nothing(started):
    assert payment_apply_intent(intent={**intent("succeeded"), "id": "pi_not_ours"}, actor=Actor.system()) is None

    started.refresh_from_db()
    assert started.status == Order.Status.PENDING_PAYMENT


def test_a_payment_intent_whose_row_never_got_its_id_is_found_by_the_order_number(started):
    Payment.objects.filter(order=started).update(stripe_payment_intent_id=None, client_secret="")

    payment_apply_intent(
        intent={**intent("succeeded"), "metadata": {"order_number": started.number}}, actor=Actor.system()
    )

    started.refresh_from_db()
    assert started.status == Order.Status.PAID
    assert Payment.objects.get(order=started).stripe_payment_intent_id == "pi_fast"
