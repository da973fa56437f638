"""Saved cards kept in step through the shop's webhook inbox and a real worker: the account's new
email reaches its Customer (task by name, after commit), a card detached or a Customer deleted at
Stripe (the Dashboard, say) disappears from the shop, and events about others' Customers are
recorded and ignored."""

import pytest
from djstripe import models as djstripe_models

from payments.customers.selectors import payment_methods_for_user
from payments.customers.services import customer_for_user
from payments.models import WebhookMessage
from tests.celery_fixtures import wait_for
from tests.factories import UserFactory
from tests.payments.test_customers import pay_and_save

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_changed_email_reaches_the_customer(webhook_endpoint, emulated_stripe, shopper_stripe):
    user = UserFactory(email="old@example.com")
    customer = customer_for_user(user=user)
    user.last_login = None
    user.save(update_fields=["last_login"])  # a sign-in: nothing to tell Stripe
    user.email = "new@example.com"
    user.save()
    wait_for(lambda: shopper_stripe.v1.customers.retrieve(customer.id).email == "new@example.com", what="the email at Stripe")
    assert emulated_stripe.wait_idle(timeout=15)
    assert djstripe_models.Customer.objects.get(id=customer.id).email == "new@example.com"
    assert WebhookMessage.objects.get(type="customer.updated").state == WebhookMessage.State.PROCESSED


def test_a_card_detached_at_stripe_leaves_the_shop(webhook_endpoint, emulated_stripe, shopper_stripe):
    user = UserFactory()
    pay_and_save(shopper_stripe, user)
    assert emulated_stripe.wait_idle(timeout=15)
    [card] = payment_methods_for_user(user)
    shopper_stripe.v1.payment_methods.detach(card.id)
    assert emulated_stripe.wait_idle(timeout=15)
    assert payment_methods_for_user(user) == []


def test_a_customer_deleted_at_stripe_is_replaced_when_next_needed(webhook_endpoint, emulated_stripe, shopper_stripe):
    user = UserFactory()
    pay_and_save(shopper_stripe, user)
    assert emulated_stripe.wait_idle(timeout=15)
    old = customer_for_user(user=user)
    shopper_stripe.v1.customers.delete(old.id)
    assert emulated_stripe.wait_idle(timeout=15)
    assert payment_methods_for_user(user) == []
    new = customer_for_user(user=user)
    assert new.id != old.id and shopper_stripe.v1.customers.retrieve(new.id).email == user.email


def test_others_customers_are_ignored(webhook_endpoint, emulated_stripe, shopper_stripe):
    stranger = shopper_stripe.v1.customers.create(params={"email": "someone@example.com"})
    shopper_stripe.v1.payment_methods.attach("pm_card_visa", params={"customer": stranger.id})
    shopper_stripe.v1.customers.update(stranger.id, params={"name": "Someone"})
    assert emulated_stripe.wait_idle(timeout=15)
    states = dict(WebhookMessage.objects.values_list("type", "state"))
    assert states["payment_method.attached"] == states["customer.updated"] == WebhookMessage.State.IGNORED
    assert not djstripe_models.Customer.objects.filter(id=stranger.id).exists()
