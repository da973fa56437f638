"""Idempotency-Key: the first answer is replayed; other parameters under the same key are refused."""

import pytest
import stripe

from .conftest import OTHER_SECRET_KEY, make_client


def test_same_key_same_params_replays(client):
    params = {"amount": 1000, "currency": "eur"}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-1-attempt-1"})
    again = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-1-attempt-1"})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(client.v1.payment_intents.list().data) == 1
    assert len(client.v1.events.list(params={"type": "payment_intent.created"}).data) == 1


def test_replay_is_the_first_answer_even_after_changes(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"},
                                          options={"idempotency_key": "k-snapshot"})
    client.v1.payment_intents.update(pi.id, params={"amount": 2000})
    again = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"},
                                             options={"idempotency_key": "k-snapshot"})
    assert again.amount == 1000


def test_other_params_same_key_is_an_idempotency_error(client):
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"}, options={"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.payment_intents.create(params={"amount": 1001, "currency": "eur"}, options={"idempotency_key": "k1"})
    assert info.value.http_status == 400
    assert info.value.error.type == "idempotency_error"


def test_keys_are_scoped_per_api_key(emulator, client):
    params = {"amount": 1000, "currency": "eur"}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "shared"})
    other = make_client(emulator, OTHER_SECRET_KEY).v1.payment_intents.create(
        params=params, options={"idempotency_key": "shared"})
    assert other.id != first.id


def test_card_errors_replay_with_their_status(client):
    params = {"amount": 1000, "currency": "eur", "payment_method": "pm_card_chargeDeclined", "confirm": True,
              "return_url": "http://127.0.0.1:9/r"}
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "declined"})
    with pytest.raises(stripe.CardError) as again:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "declined"})
    assert again.value.http_status == 402
    assert again.value.headers.get("Idempotent-Replayed") == "true"
    assert again.value.error.payment_intent.id == first.value.error.payment_intent.id


def test_validation_errors_are_not_kept(client):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(params={"emial": "x@example.com"}, options={"idempotency_key": "fix-me"})
    # The same key with the parameters fixed runs, as Stripe allows.
    assert client.v1.customers.create(params={"email": "x@example.com"}, options={"idempotency_key": "fix-me"}).email
