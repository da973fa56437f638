"""One cart, one payable order: checking out again resumes or replaces, never adds a second.

The PaymentIntent of a replaced order is canceled at the emulator over HTTP, through the
real stripe-python client, before the order is canceled.
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from bookstore.models import Book
from cart.models import Cart
from orders.models import Order
from orders.services import OrderError, order_place
from payments.paying.services import payment_start
from tests.factories import TEST_PASSWORD, BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db

PENDING = Order.Status.PENDING_PAYMENT


def place_again(order: Order, **details) -> Order:
    """Check the order's cart out again, with the same details unless told otherwise."""
    return order_place(
        cart=order.cart,
        email=details.get("email", order.email),
        shipping=details.get("shipping", shipping_address()),
        user=order.user,
    )


def stocks(order: Order) -> dict[str, int]:
    return dict(Book.objects.filter(pk__in=order.lines.values("book")).values_list("title", "stock"))


def intent_status(shopper_stripe, payment) -> str:
    return shopper_stripe.v1.payment_intents.retrieve(payment.stripe_payment_intent_id).status


def test_an_unchanged_cart_returns_its_pending_order(place_order, emulated_stripe):
    order = place_order()
    payment_start(order_id=order.pk)
    shelf = stocks(order)

    again = place_again(order)

    assert again.pk == order.pk
    assert Order.objects.count() == 1
    assert stocks(order) == shelf  # nothing reserved twice


def test_a_changed_cart_replaces_the_pending_order(place_order, emulated_stripe, shopper_stripe):
    order = place_order(books=[("Piranesi", 1299, 1)])
    payment = payment_start(order_id=order.pk)
    assert stocks(order) == {"Piranesi": 9}
    CartLineFactory(cart=order.cart, book=BookFactory(title="Kindred", price_amount=1100, stock=4), quantity=1)

    new = place_again(order)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED and order.stock_released
    assert intent_status(shopper_stripe, payment) == "canceled"
    assert new.pk != order.pk and new.status == PENDING
    assert sorted(new.lines.values_list("title", flat=True)) == ["Kindred", "Piranesi"]
    # The old copy went back on the shelf and the new order took one: one reserved, not two.
    assert Book.objects.get(title="Piranesi").stock == 9
    assert Book.objects.get(title="Kindred").stock == 3
    assert list(Order.objects.filter(cart=order.cart, status=PENDING)) == [new]
    assert f"replaces order {order.number}" in new.events.get(kind="placed").message


def test_a_changed_address_replaces_the_pending_order_too(place_order, emulated_stripe, shopper_stripe):
    order = place_order()
    payment = payment_start(order_id=order.pk)

    new = place_again(order, shipping=shipping_address(city="Cork", country="IE"))

    assert new.pk != order.pk and new.shipping_city == "Cork"
    assert intent_status(shopper_stripe, payment) == "canceled"
    assert Order.objects.filter(status=PENDING).count() == 1


def test_an_expired_reservation_is_replaced_not_resumed(place_order):
    order = place_order()
    Order.objects.filter(pk=order.pk).update(reserved_until=order.created_at)

    new = place_again(order)

    order.refresh_from_db()
    assert new.pk != order.pk and order.status == Order.Status.CANCELED
    assert Order.objects.filter(status=PENDING).count() == 1


def test_an_order_paid_meanwhile_is_marked_paid_and_not_replaced(place_order, emulated_stripe, shopper_stripe):
    order = place_order(books=[("Piranesi", 1299, 1)])
    payment = payment_start(order_id=order.pk)
    # Paid in another tab; no webhook reaches the shop (none is registered).
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    CartLineFactory(cart=order.cart, book=BookFactory(title="Kindred"), quantity=1)

    with pytest.raises(OrderError) as refused:
        place_again(order)

    assert refused.value.code == "already_paid"
    assert f"earlier order {order.number}" in refused.value.message and "paid" in refused.value.message
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Order.objects.count() == 1
    assert intent_status(shopper_stripe, payment) == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_double_checkout_gives_one_payable_order():
    cart = CartFactory(user=UserFactory())
    CartLineFactory(cart=cart, book=BookFactory(stock=5), quantity=2)
    clicks = 4
    barrier = threading.Barrier(clicks)
    placed, crashed = [], []

    def check_out(token):
        try:
            barrier.wait()
            # Two tabs: each form has its own token, so only the one-cart rule can keep them to one order.
            placed.append(
                order_place(cart=cart, email="a@example.com", shipping=shipping_address(), user=cart.user, checkout_token=token)
            )
        except Exception as exc:  # recorded, so the test fails with what went wrong
            crashed.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=check_out, args=(f"tab-{index}",)) for index in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert crashed == []
    assert Order.objects.count() == 1
    assert {order.pk for order in placed} == {Order.objects.get().pk}
    assert Book.objects.get().stock == 3


def test_signing_in_folds_the_guest_cart_and_keeps_one_payable_order(emulated_stripe, shopper_stripe):
    shopper = UserFactory()
    own = order_place(
        cart=CartLineFactory(cart=CartFactory(user=shopper), book=BookFactory(title="Kindred", stock=5)).cart,
        email=shopper.email,
        shipping=shipping_address(),
        user=shopper,
    )
    browser = Client()
    browser.post("/cart/add/", {"book": BookFactory(title="Piranesi", stock=5).pk, "quantity": 1})
    guest_cart_id = browser.session["cart_id"]
    guest = order_place(
        cart=Cart.objects.get(pk=guest_cart_id), email="guest@example.com", shipping=shipping_address()
    )
    guest_payment = payment_start(order_id=guest.pk)

    signed_in = browser.post("/accounts/login/", {"username": shopper.username, "password": TEST_PASSWORD})

    assert signed_in.status_code == 302
    guest.refresh_from_db()
    own.refresh_from_db()
    # Both orders stood for carts that are now one, holding both books: neither can be paid.
    assert guest.status == own.status == Order.Status.CANCELED
    assert intent_status(shopper_stripe, guest_payment) == "canceled"
    assert Book.objects.get(title="Piranesi").stock == 5 and Book.objects.get(title="Kindred").stock == 5
    merged = own.cart
    assert sorted(merged.lines.values_list("book__title", flat=True)) == ["Kindred", "Piranesi"]

    new = order_place(cart=merged, email=shopper.email, shipping=shipping_address(), user=shopper)

    assert list(Order.objects.filter(cart=merged, status=PENDING)) == [new]
