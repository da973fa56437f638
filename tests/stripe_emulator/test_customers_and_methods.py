"""Account, API keys, customers and payment methods."""

import json

import pytest
import stripe
from djstripe import models as djstripe_models

from .conftest import PUBLISHABLE_KEY, RETURN_URL, make_client


def test_account(client):
    account = client.v1.accounts.retrieve_current()
    assert account.object == "account" and account.id.startswith("acct_")
    assert account.charges_enabled and account.settings.dashboard.display_name


@pytest.mark.parametrize("key", ["sk_test_123", "sk_live_" + "a" * 24, "nonsense"])
def test_bad_keys_are_refused(emulator, key):
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(emulator, key).v1.customers.list()
    assert info.value.http_status == 401


def test_publishable_key_only_reaches_browser_routes(emulator):
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(emulator, PUBLISHABLE_KEY).v1.customers.list()
    assert "publishable API key" in info.value.user_message


def test_customer_create_retrieve_update_list(client, emulator):
    customer = client.v1.customers.create(params={"email": "ann@example.com", "name": "Ann",
                                                  "metadata": {"user_id": "4"}})
    assert customer.id.startswith("cus_")
    assert client.v1.customers.retrieve(customer.id).email == "ann@example.com"
    updated = client.v1.customers.update(customer.id, params={"name": "Ann Lee", "metadata": {"tier": "gold"}})
    assert updated.name == "Ann Lee"
    assert updated.metadata.to_dict() == {"user_id": "4", "tier": "gold"}
    client.v1.customers.create(params={"email": "bob@example.com"})
    assert [c.id for c in client.v1.customers.list(params={"email": "ann@example.com"}).data] == [customer.id]
    assert len(client.v1.customers.list().data) == 2
    events = client.v1.events.list(params={"type": "customer.*"}).data
    assert [e.type for e in events] == ["customer.created", "customer.updated", "customer.created"]
    assert events[1].data.previous_attributes.to_dict() == {"name": "Ann", "metadata": {"user_id": "4"}}


def test_payment_method_create_validates_card(client):
    card = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "40", "cvc": "123"}
    pm = client.v1.payment_methods.create(params={"type": "card", "card": card,
                                                  "billing_details": {"name": "Ann", "address": {"country": "IE"}}})
    assert (pm.card.brand, pm.card.last4, pm.card.exp_year) == ("visa", "4242", 2040)
    assert pm.billing_details.address.country == "IE"
    for change, code in [({"number": "4242424242424241"}, "incorrect_number"),
                         ({"exp_month": "13"}, "invalid_expiry_month"),
                         ({"exp_year": "2001"}, "invalid_expiry_year"),
                         ({"cvc": "1"}, "invalid_cvc")]:
        with pytest.raises(stripe.CardError) as info:
            client.v1.payment_methods.create(params={"type": "card", "card": {**card, **change}})
        assert info.value.code == code


def test_attach_detach_list(client):
    customer = client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_mastercard", params={"customer": customer.id})
    assert pm.customer == customer.id and pm.card.brand == "mastercard"
    assert [m.id for m in client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"}).data] == [
        pm.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(pm.id, params={"customer": client.v1.customers.create().id})
    assert client.v1.payment_methods.detach(pm.id).customer is None
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    assert [e.type for e in client.v1.events.list(params={"type": "payment_method.*"}).data] == [
        "payment_method.detached", "payment_method.attached"]


def test_test_payment_method_ids_make_fresh_payment_methods(client):
    first = client.v1.payment_methods.retrieve("pm_card_visa")
    second = client.v1.payment_methods.retrieve("pm_card_visa")
    assert first.id != second.id and first.id.startswith("pm_")
    assert first.card.fingerprint == second.card.fingerprint


def test_customer_retrieve_includes_the_lists_expand_asks_for(client):
    customer = client.v1.customers.create(params={"email": "ann@example.com"})
    assert "sources" not in client.v1.customers.retrieve(customer.id)
    # dj-stripe asks for these whenever it fetches a Customer (a webhook's included).
    expanded = client.v1.customers.retrieve(customer.id, params={"expand": ["default_source", "sources", "tax_ids"]})
    assert expanded.default_source is None
    assert expanded.sources.data == [] and expanded.sources.url == f"/v1/customers/{customer.id}/sources"
    assert expanded.tax_ids.object == "list"


def test_detaching_the_default_card_clears_the_default(client):
    customer = client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    updated = client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    assert updated.invoice_settings.default_payment_method == pm.id
    client.v1.payment_methods.detach(pm.id)
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None
    event = client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert event.data.previous_attributes.invoice_settings.default_payment_method == pm.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_methods.detach(pm.id)
    assert info.value.code == "payment_method_unexpected_state"


def test_deleting_a_customer_leaves_a_stub_and_detaches_its_cards(client):
    customer = client.v1.customers.create(params={"email": "gone@example.com"})
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.deleted is True and deleted.id == customer.id
    assert client.v1.customers.retrieve(customer.id).deleted is True
    assert client.v1.payment_methods.retrieve(pm.id).customer is None
    assert client.v1.customers.list().data == []
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.update(customer.id, params={"name": "Back"})
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    assert [e.type for e in client.v1.events.list().data][:2] == ["customer.deleted", "payment_method.detached"]


def test_a_saved_card_pays_only_for_its_own_customer(client):
    owner, other = client.v1.customers.create(), client.v1.customers.create()
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": owner.id})
    for customer in (other.id, None):
        params = {"amount": 1000, "currency": "eur", **({"customer": customer} if customer else {})}
        pi = client.v1.payment_intents.create(params=params)
        with pytest.raises(stripe.InvalidRequestError) as info:
            client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm.id, "return_url": RETURN_URL})
        assert info.value.param == "payment_method"
        assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", "customer": owner.id})
    paid = client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm.id, "return_url": RETURN_URL})
    assert paid.status == "succeeded"


def test_setup_future_usage_attaches_the_card_when_the_payment_succeeds(client):
    customer = client.v1.customers.create()
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    pi = client.v1.payment_intents.update(pi.id, params={"customer": customer.id, "setup_future_usage": "on_session"})
    assert pi.setup_future_usage == "on_session"
    # Unset with an empty value, as Stripe takes it.
    assert client.v1.payment_intents.update(pi.id, params={"setup_future_usage": ""}).setup_future_usage is None
    client.v1.payment_intents.update(pi.id, params={"setup_future_usage": "on_session"})
    paid = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa", "return_url": RETURN_URL})
    assert client.v1.payment_methods.retrieve(paid.payment_method).customer == customer.id
    assert "payment_method.attached" in [e.type for e in client.v1.events.list().data]


@pytest.mark.django_db
def test_djstripe_processes_customer_events(emulator, settings, monkeypatch):
    # dj-stripe's handlers fetch the Customer with `expand[]=sources` (Stripe answers 200).
    monkeypatch.setattr(stripe, "api_base", emulator.url)
    settings.STRIPE_API_BASE = emulator.url
    client = make_client(emulator, settings.STRIPE_SECRET_KEY)
    customer = client.v1.customers.create(params={"email": "ann@example.com"})
    client.v1.customers.update(customer.id, params={"email": "ann.lee@example.com"})
    created, updated = (json.loads(str(client.v1.events.list(params={"type": kind}).data[0]))
                        for kind in ("customer.created", "customer.updated"))
    djstripe_models.Event.process(created, api_key=settings.STRIPE_SECRET_KEY)
    djstripe_models.Event.process(updated, api_key=settings.STRIPE_SECRET_KEY)
    assert djstripe_models.Customer.objects.get(id=customer.id).email == "ann.lee@example.com"
    client.v1.customers.delete(customer.id)
    deleted = json.loads(str(client.v1.events.list(params={"type": "customer.deleted"}).data[0]))
    djstripe_models.Event.process(deleted, api_key=settings.STRIPE_SECRET_KEY)
    assert djstripe_models.Customer.objects.get(id=customer.id).date_purged is not None
