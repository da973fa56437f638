"""Saved cards on the shopper's pages: offered at checkout to the account that placed the order
(never to a guest), paying with one in one POST, 3D Secure through the bank's page, the saved
cards page with delete and make-default; another account's card or order answers 404."""

import pytest
from django.urls import reverse

from orders.models import Order
from payments.customers.selectors import payment_methods_for_user
from tests.factories import UserFactory
from tests.payments.test_customers import order_for, pay_and_save


def checkout(client, order):
    return client.get(reverse("payments:checkout", args=[order.number]))


def pay_saved(client, order, payment_method_id, attempt="page-1"):
    return client.post(
        reverse("payments:pay_with_saved_card", args=[order.number]), {"payment_method": payment_method_id, "attempt": attempt}
    )


def test_a_guest_never_sees_saved_cards_nor_saving(client, place_order, emulated_stripe):
    order = place_order(guest=True)
    page = client.get(reverse("payments:guest_checkout", args=[order.number, order.access_key])).content.decode()
    assert "Payment details" in page
    assert "Save this card" not in page and "Pay with a saved card" not in page
    assert client.get(reverse("payments:cards")).status_code == 302  # to sign in


def test_the_owner_saves_then_pays_with_one_post(client, emulated_stripe, shopper_stripe, db):
    user = UserFactory()
    client.force_login(user)
    first = order_for(user)
    assert "Save this card for next time" in checkout(client, first).content.decode()
    # The box, ticked (what static/js/save_card.js sends), then the Payment Element's confirm.
    response = client.post(reverse("payments:card_saving", args=[first.number]), {"save": "1"})
    assert response.status_code == 200 and response.json() == {"save": True}
    # Reloaded, the page shows the box as Stripe has it.
    assert " checked>\n  Save this card" in checkout(client, first).content.decode()
    pay_and_save(shopper_stripe, user)  # a card saved
    [card] = payment_methods_for_user(user)

    second = order_for(user)
    page = checkout(client, second).content.decode()
    assert "Pay with a saved card" in page and "Visa •••• 4242" in page and card.expiry_display in page
    response = pay_saved(client, second, card.id)
    assert response.status_code == 302 and response["Location"] == second.get_absolute_url()
    second.refresh_from_db()
    assert second.status == Order.Status.PAID
    assert "Paid" in client.get(second.get_absolute_url()).content.decode()


def test_a_card_that_wants_3d_secure_goes_to_the_bank(client, emulated_stripe, shopper_stripe, db):
    from tests.payments.test_customers import _complete_challenge
    from payments.paying.services import payment_sync
    from orders.services import Actor

    user = UserFactory()
    client.force_login(user)
    first = pay_and_save(shopper_stripe, user, card="pm_card_threeDSecure2Required")
    intent = shopper_stripe.v1.payment_intents.retrieve(first.payment.stripe_payment_intent_id)
    _complete_challenge(intent.next_action.redirect_to_url.url)
    payment_sync(payment_intent_id=intent.id, actor=Actor.system())
    [card] = payment_methods_for_user(user)

    second = order_for(user)
    checkout(client, second)
    response = pay_saved(client, second, card.id)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your bank asks you to confirm this payment" in page and f"{emulated_stripe.url}/3ds/" in page


def test_another_accounts_card_or_order_is_404_and_nothing_is_charged(client, emulated_stripe, shopper_stripe, db):
    owner, other = UserFactory(), UserFactory()
    pay_and_save(shopper_stripe, owner)
    [card] = payment_methods_for_user(owner)
    owners_order = order_for(owner)
    checkout_as_owner = client
    checkout_as_owner.force_login(owner)
    checkout(checkout_as_owner, owners_order)

    client.force_login(other)
    own = order_for(other)
    page = checkout(client, own).content.decode()
    assert "Pay with a saved card" not in page and card.id not in page
    assert pay_saved(client, own, card.id).status_code == 404
    assert pay_saved(client, owners_order, card.id).status_code == 404
    assert client.post(reverse("payments:card_delete", args=[card.id])).status_code == 404
    assert client.post(reverse("payments:card_default", args=[card.id])).status_code == 404
    assert client.post(reverse("payments:card_saving", args=[owners_order.number]), {"save": "1"}).status_code == 404
    for order in (own, owners_order):
        order.refresh_from_db()
        assert order.status == Order.Status.PENDING_PAYMENT
        intent = shopper_stripe.v1.payment_intents.retrieve(order.payment.stripe_payment_intent_id)
        assert intent.status == "requires_payment_method" and intent.payment_method is None
    assert shopper_stripe.v1.payment_methods.retrieve(card.id).customer is not None


def test_saved_cards_page_deletes_and_makes_default(client, emulated_stripe, shopper_stripe, db):
    user = UserFactory()
    client.force_login(user)
    pay_and_save(shopper_stripe, user, card="pm_card_visa")
    pay_and_save(shopper_stripe, user, card="pm_card_mastercard")
    mastercard, visa = payment_methods_for_user(user)
    page = client.get(reverse("payments:cards")).content.decode()
    assert "Visa •••• 4242" in page and "Mastercard •••• 4444" in page

    assert client.get(reverse("payments:card_delete", args=[visa.id])).status_code == 405
    response = client.post(reverse("payments:card_default", args=[visa.id]), {"next": "/pay/cards/"})
    assert response.status_code == 302 and response["Location"] == "/pay/cards/"
    assert payment_methods_for_user(user)[0].id == visa.id
    response = client.post(reverse("payments:card_delete", args=[visa.id]), {"next": "https://elsewhere.example/"}, follow=True)
    assert response.redirect_chain == [(reverse("payments:cards"), 302)]
    page = response.content.decode()
    assert "The card was deleted" in page and "Visa •••• 4242" not in page and "Mastercard •••• 4444" in page
    assert shopper_stripe.v1.payment_methods.retrieve(visa.id).customer is None


def test_forms_need_csrf(emulated_stripe, db):
    from django.test import Client

    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("payments:card_delete", args=["pm_x"])).status_code == 403
