"""dj-stripe mirrors the emulator's objects into the database as it would Stripe's."""

import json
import uuid

import pytest
import stripe
from django.urls import reverse
from djstripe import models as djstripe_models

from .conftest import make_client, paid_intent


@pytest.fixture
def shop_key(emulator, settings, monkeypatch):
    # dj-stripe's own calls (the account, related objects it fetches) use the global api_base;
    # the shop's webhook handlers ask the emulator through the gateway.
    monkeypatch.setattr(stripe, "api_base", emulator.url)
    settings.STRIPE_API_BASE = emulator.url
    return settings.STRIPE_SECRET_KEY


@pytest.mark.django_db
def test_refresh_account(shop_key, emulator):
    api_key, _ = djstripe_models.APIKey.objects.get_or_create_by_api_key(shop_key)
    api_key.refresh_account()
    account = djstripe_models.Account.objects.get()
    assert account.id == make_client(emulator, shop_key).v1.accounts.retrieve_current().id
    assert api_key.djstripe_owner_account == account
    assert str(account) == "Stripe emulator"


@pytest.mark.django_db
def test_sync_payment_objects(shop_key, emulator):
    client = make_client(emulator, shop_key)
    customer = client.v1.customers.create(params={"email": "reader@example.com"})
    pi = paid_intent(client, customer=customer.id, setup_future_usage="off_session", metadata={"order_id": "42"})
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})

    synced_customer = djstripe_models.Customer.sync_from_stripe_data(customer, api_key=shop_key)
    assert synced_customer.email == "reader@example.com"
    synced_pm = djstripe_models.PaymentMethod.sync_from_stripe_data(
        client.v1.payment_methods.retrieve(pi.payment_method), api_key=shop_key)
    assert synced_pm.customer == synced_customer
    synced_pi = djstripe_models.PaymentIntent.sync_from_stripe_data(
        client.v1.payment_intents.retrieve(pi.id), api_key=shop_key)
    assert {k: synced_pi.stripe_data[k] for k in ("status", "amount", "currency")} == {
        "status": "succeeded", "amount": 2000, "currency": "eur"}
    assert synced_pi.metadata == {"order_id": "42"}
    assert synced_pi.customer == synced_customer and synced_pi.payment_method == synced_pm
    synced_charge = djstripe_models.Charge.sync_from_stripe_data(
        client.v1.charges.retrieve(pi.latest_charge), api_key=shop_key)
    assert synced_charge.payment_intent == synced_pi
    assert synced_charge.balance_transaction.stripe_data["amount"] == 2000  # fetched from the emulator by dj-stripe
    synced_refund = djstripe_models.Refund.sync_from_stripe_data(refund, api_key=shop_key)
    assert synced_refund.charge == synced_charge and synced_refund.stripe_data["amount"] == 500
    assert synced_refund.djstripe_owner_account.id == client.v1.accounts.retrieve_current().id


@pytest.mark.django_db
def test_sync_event_from_a_webhook_payload(shop_key, emulator):
    client = make_client(emulator, shop_key)
    pi = paid_intent(client)
    # As dj-stripe's webhook view has it: parsed JSON (it reads `request` wrongly from a StripeObject).
    event = json.loads(str(client.v1.events.list(params={"type": "payment_intent.succeeded"}).data[0]))
    synced = djstripe_models.Event.sync_from_stripe_data(event, api_key=shop_key)
    assert synced.type == "payment_intent.succeeded"
    assert synced.data["object"]["id"] == pi.id
    assert synced.request_id == event["request"]["id"]
    # Mirroring the event's object (what a receiver does) works from the snapshot alone.
    mirrored = djstripe_models.PaymentIntent.sync_from_stripe_data(synced.data["object"], api_key=shop_key)
    assert mirrored.stripe_data["status"] == "succeeded"


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.stripe_emulator.djstripe_urls")
def test_djstripe_webhook_view_accepts_deliveries(shop_key, emulator, live_server):
    client = make_client(emulator, shop_key)
    # As dj-stripe's admin does it: the endpoint's uuid is in its URL and in its metadata.
    endpoint_uuid = str(uuid.uuid4())
    endpoint = client.v1.webhook_endpoints.create(params={
        "url": live_server.url + reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint_uuid}),
        "enabled_events": ["*"], "metadata": {"djstripe_uuid": endpoint_uuid},
    })
    djstripe_models.WebhookEndpoint.sync_from_stripe_data(endpoint, api_key=shop_key)

    pi = paid_intent(client)
    assert emulator.wait_idle(30)
    assert {d["status"] for d in emulator.deliveries()} == {200}
    triggers = djstripe_models.WebhookEventTrigger.objects.all()
    assert triggers.count() == 3 and all(t.valid and t.processed for t in triggers)
    assert djstripe_models.Event.objects.get(type="payment_intent.succeeded").data["object"]["id"] == pi.id
