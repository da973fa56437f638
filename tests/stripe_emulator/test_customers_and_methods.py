"""Account, API keys, customers and payment methods."""

import pytest
import stripe

from .conftest import PUBLISHABLE_KEY, make_client


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
