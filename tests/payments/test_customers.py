"""An account's Stripe Customer and its saved cards, through the emulator over HTTP with the real
stripe-python client and dj-stripe: one Customer per account even under concurrent first
purchases, a card kept while paying, paid with again without typing it (3D Secure still asked
when the card wants it), deleted (detached at Stripe) and made default; another account's card
is refused before Stripe is asked."""

import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import connection
from djstripe import models as djstripe_models

from orders.models import Order
from payments.customers.selectors import payment_methods_for_user
from payments.customers.services import (
    CustomerError,
    customer_email_sync,
    customer_for_user,
    payment_card_saving,
    payment_method_delete,
    payment_method_make_default,
    payment_pay_with_saved_card,
)
from payments.paying.services import payment_start, payment_sync
from orders.services import Actor
from cart.models import Cart
from orders.services import order_place
from tests.factories import BookFactory, CartLineFactory, UserFactory, shipping_address
from tests.stripe_fixtures import RETURN_URL, confirm_with


def order_for(user) -> Order:
    """An order placed by `user` from their one cart (a returning shopper's next order)."""
    cart, _ = Cart.objects.get_or_create(user=user)
    CartLineFactory(cart=cart, book=BookFactory(price_amount=1299, stock=10), quantity=1)
    return order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)


def pay_and_save(shopper_stripe, user, card="pm_card_visa") -> Order:
    """What the checkout page does for "Save this card": the choice, then the Payment Element's confirm."""
    order = order_for(user)
    payment = payment_start(order_id=order.pk)
    payment_card_saving(order=order, user=user, save=True)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, card)
    payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=Actor.system())
    order.refresh_from_db()
    return order


def test_one_customer_per_account_mirrored_with_its_subscriber(emulated_stripe, shopper_stripe, db):
    user = UserFactory(email="ann@example.com")
    first = customer_for_user(user=user)
    assert first.subscriber == user and first.email == "ann@example.com"
    assert customer_for_user(user=user).id == first.id
    customers = shopper_stripe.v1.customers.list().data
    assert [c.id for c in customers] == [first.id]
    assert customers[0].metadata["djstripe_subscriber"] == str(user.pk)


def test_guests_get_no_customer(emulated_stripe, db):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(CustomerError):
        customer_for_user(user=AnonymousUser())
    assert payment_methods_for_user(AnonymousUser()) == []
    assert djstripe_models.Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_purchases_make_one_customer(emulated_stripe, shopper_stripe, settings):
    # stripe-python retries the 409 Stripe answers a key still in flight, as production does.
    settings.STRIPE_MAX_NETWORK_RETRIES = 3
    user = UserFactory()
    buyers = 4
    barrier = threading.Barrier(buyers)
    got, crashed = [], []

    def first_purchase():
        try:
            barrier.wait()
            got.append(customer_for_user(user=user).id)
        except Exception as exc:  # recorded, so the test fails with what went wrong
            crashed.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=first_purchase) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert crashed == []
    assert len(set(got)) == 1
    assert [c.id for c in shopper_stripe.v1.customers.list().data] == got[:1]
    assert list(djstripe_models.Customer.objects.values_list("id", flat=True)) == got[:1]


def test_a_card_saved_while_paying_pays_the_next_order_without_typing(emulated_stripe, shopper_stripe, db):
    user = UserFactory()
    first = pay_and_save(shopper_stripe, user)
    assert first.status == Order.Status.PAID
    [card] = payment_methods_for_user(user)
    assert (card.brand, card.last4) == ("visa", "4242")
    intent = shopper_stripe.v1.payment_intents.retrieve(first.payment.stripe_payment_intent_id)
    assert intent.setup_future_usage == "on_session"

    second = order_for(user)
    payment = payment_start(order_id=second.pk)
    challenge = payment_pay_with_saved_card(
        order=second, user=user, payment_method_id=card.id, return_url=RETURN_URL, attempt="a1"
    )
    assert challenge is None
    second.refresh_from_db()
    assert second.status == Order.Status.PAID
    paid = shopper_stripe.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert paid.payment_method == card.id and paid.customer == customer_for_user(user=user).id


def test_a_card_not_saved_is_not_kept(emulated_stripe, shopper_stripe, db):
    user = UserFactory()
    order = order_for(user)
    payment = payment_start(order_id=order.pk)
    payment_card_saving(order=order, user=user, save=True)
    payment_card_saving(order=order, user=user, save=False)  # ticked, then unticked
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=Actor.system())
    assert payment_methods_for_user(user) == []


def test_a_saved_card_that_wants_3d_secure_still_asks(emulated_stripe, shopper_stripe, db):
    user = UserFactory()
    first = pay_and_save(shopper_stripe, user, card="pm_card_threeDSecure2Required")
    # Its first payment waits for the challenge; the card is kept once the payment succeeds.
    assert first.status == Order.Status.PENDING_PAYMENT
    intent = shopper_stripe.v1.payment_intents.retrieve(first.payment.stripe_payment_intent_id)
    _complete_challenge(intent.next_action.redirect_to_url.url)
    payment_sync(payment_intent_id=intent.id, actor=Actor.system())
    [card] = payment_methods_for_user(user)

    second = order_for(user)
    payment_start(order_id=second.pk)
    challenge = payment_pay_with_saved_card(order=second, user=user, payment_method_id=card.id, return_url=RETURN_URL, attempt="a")
    assert challenge and "/3ds/" in challenge
    second.refresh_from_db()
    assert second.status == Order.Status.PENDING_PAYMENT


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _complete_challenge(url: str) -> None:
    # The challenge page's "Complete" button; its redirect back to the shop is not followed here.
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.build_opener(_NoRedirect).open(url, data=urllib.parse.urlencode({"action": "complete"}).encode())
    assert info.value.code == 303


def test_another_accounts_card_is_refused_and_never_charged(emulated_stripe, shopper_stripe, db):
    owner, thief = UserFactory(), UserFactory()
    pay_and_save(shopper_stripe, owner)
    [card] = payment_methods_for_user(owner)
    order = order_for(thief)
    payment = payment_start(order_id=order.pk)
    with pytest.raises(CustomerError) as info:
        payment_pay_with_saved_card(order=order, user=thief, payment_method_id=card.id, return_url=RETURN_URL, attempt="x")
    assert info.value.code == "not_found"
    with pytest.raises(CustomerError):
        payment_method_delete(user=thief, payment_method_id=card.id)
    with pytest.raises(CustomerError):
        payment_method_make_default(user=thief, payment_method_id=card.id)
    assert shopper_stripe.v1.payment_intents.retrieve(payment.stripe_payment_intent_id).status == "requires_payment_method"
    assert shopper_stripe.v1.payment_methods.retrieve(card.id).customer is not None
    # Nor the owner on the thief's order.
    with pytest.raises(CustomerError):
        payment_pay_with_saved_card(order=order, user=owner, payment_method_id=card.id, return_url=RETURN_URL, attempt="y")


def test_delete_detaches_at_stripe_and_default_is_stripes(emulated_stripe, shopper_stripe, db):
    user = UserFactory()
    pay_and_save(shopper_stripe, user, card="pm_card_visa")
    pay_and_save(shopper_stripe, user, card="pm_card_mastercard")
    mastercard, visa = payment_methods_for_user(user)
    assert (mastercard.brand, visa.brand) == ("mastercard", "visa")
    payment_method_make_default(user=user, payment_method_id=visa.id)
    customer = customer_for_user(user=user)
    assert shopper_stripe.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method == visa.id
    assert [(c.brand, c.is_default) for c in payment_methods_for_user(user)] == [("visa", True), ("mastercard", False)]

    payment_method_delete(user=user, payment_method_id=visa.id)
    assert [c.brand for c in payment_methods_for_user(user)] == ["mastercard"]
    assert shopper_stripe.v1.payment_methods.retrieve(visa.id).customer is None
    assert shopper_stripe.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None


def test_the_customers_email_follows_the_account(emulated_stripe, shopper_stripe, db):
    user = UserFactory(email="old@example.com")
    customer = customer_for_user(user=user)
    user.email = "new@example.com"
    user.save()
    assert customer_email_sync(user_id=user.pk) is True
    assert shopper_stripe.v1.customers.retrieve(customer.id).email == "new@example.com"
    assert djstripe_models.Customer.objects.get(id=customer.id).email == "new@example.com"
    assert customer_email_sync(user_id=user.pk) is False
