"""Webhook endpoints and delivery: signatures, subscriptions, retries and every delivery fault."""

import pytest
import stripe

from .conftest import make_client, paid_intent


def test_deliveries_are_signed_like_stripe(emulator, client, endpoint, receiver):
    assert endpoint.secret.startswith("whsec_")
    pi = paid_intent(client)
    assert emulator.wait_idle(5)
    assert receiver.rejected == []
    assert receiver.types() == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    event = receiver.events[-1]
    assert event["object"] == "event" and event["id"].startswith("evt_")
    assert event["livemode"] is False and event["api_version"]
    assert event["data"]["object"]["id"] == pi.id and event["data"]["object"]["status"] == "succeeded"
    assert event["request"]["idempotency_key"]  # stripe-python sends one on every POST
    # Once delivered, nothing is pending for the event.
    assert client.v1.events.retrieve(event["id"]).pending_webhooks == 0


def test_wrong_secret_fails_verification(emulator, client, endpoint, receiver):
    receiver.secret = "whsec_not_the_right_one"
    emulator.configure(webhook_retry_delays=[])
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    assert receiver.events == [] and len(receiver.rejected) == 1
    assert emulator.deliveries()[0]["status"] == 400


def test_only_subscribed_events_are_sent(emulator, client, receiver):
    endpoint = client.v1.webhook_endpoints.create(params={
        "url": receiver.url, "enabled_events": ["payment_intent.succeeded"], "api_version": "2026-05-27.dahlia"})
    receiver.secret = endpoint.secret
    paid_intent(client)
    assert emulator.wait_idle(5)
    assert receiver.types() == ["payment_intent.succeeded"]
    assert receiver.events[0]["api_version"] == "2026-05-27.dahlia"


def test_endpoint_crud(client, receiver):
    created = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"],
                                                         "description": "shop"})
    fetched = client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched and fetched.status == "enabled"
    updated = client.v1.webhook_endpoints.update(created.id, params={
        "enabled_events": ["refund.created"], "disabled": True, "url": receiver.url + "/v2"})
    assert (updated.status, updated.enabled_events, updated.url) == ("disabled", ["refund.created"],
                                                                    receiver.url + "/v2")
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [created.id]
    assert client.v1.webhook_endpoints.delete(created.id).deleted is True
    assert client.v1.webhook_endpoints.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["no.such_event"]})


def test_disabled_endpoint_gets_nothing(emulator, client, endpoint, receiver):
    client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    assert emulator.deliveries() == []


def test_non_2xx_is_retried_until_accepted(emulator, client, endpoint, receiver):
    receiver.answers = [(500, 0), (503, 0)]
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    attempts = [(d["attempt"], d["status"], d["outcome"]) for d in emulator.deliveries()]
    assert attempts == [(1, 500, "failed"), (2, 503, "failed"), (3, 200, "succeeded")]
    assert receiver.types() == ["customer.created"]


def test_gives_up_after_the_last_attempt(emulator, client, endpoint, receiver):
    receiver.answers = [(500, 0)] * 10
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    deliveries = emulator.deliveries()
    assert len(deliveries) == 4  # one attempt, then one per retry delay
    assert deliveries[-1]["will_retry"] is False
    assert client.v1.events.list().data[0].pending_webhooks == 1


def test_timeout_is_retried(emulator, client, endpoint, receiver):
    emulator.configure(webhook_timeout=0.2)
    receiver.answers = [(200, 0.5)]
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    first, second = emulator.deliveries()
    assert first["status"] is None and "timed out" in first["error"]
    assert second["outcome"] == "succeeded"


def test_fault_fail_first(emulator, client, endpoint, receiver):
    emulator.set_faults(fail_first=2)
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    assert [d["error"] is not None for d in emulator.deliveries()] == [True, True, False]
    assert len(receiver.events) == 1


def test_fault_duplicate(emulator, client, endpoint, receiver):
    emulator.set_faults(duplicate=True)
    customer = client.v1.customers.create()
    assert emulator.wait_idle(5)
    assert receiver.types() == ["customer.created", "customer.created"]
    assert {e["data"]["object"]["id"] for e in receiver.events} == {customer.id}
    assert len({e["id"] for e in receiver.events}) == 1  # the same event, twice


def test_fault_delay(emulator, client, endpoint, receiver):
    emulator.set_faults(delay=0.3)
    client.v1.customers.create()
    assert receiver.events == []
    assert emulator.wait_idle(5)
    assert len(receiver.events) == 1


def test_fault_shuffle(emulator, client, endpoint, receiver):
    emulator.set_faults(shuffle=True)
    created = [client.v1.customers.create(params={"name": str(i)}).id for i in range(8)]
    assert emulator.wait_idle(5)
    received = [e["data"]["object"]["id"] for e in receiver.events]
    assert sorted(received) == sorted(created)
    assert received != created  # 1 chance in 8! of the same order


def test_dispute_event_follows_the_dispute_card(emulator, client, endpoint, receiver):
    pi = paid_intent(client, pm="pm_card_createDispute")
    assert emulator.wait_idle(5)
    assert receiver.types()[-1] == "charge.dispute.created"
    dispute = receiver.events[-1]["data"]["object"]
    assert (dispute["object"], dispute["charge"], dispute["payment_intent"]) == ("dispute", pi.latest_charge, pi.id)
    assert dispute["status"] == "needs_response"
    assert receiver.events[-1]["request"] == {"id": None, "idempotency_key": None}
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert info.value.code == "charge_disputed"


def test_declines_and_cancels_send_their_events(emulator, client, endpoint, receiver):
    with pytest.raises(stripe.CardError):
        paid_intent(client, pm="pm_card_chargeDeclined")
    client.v1.payment_intents.cancel(client.v1.payment_intents.list().data[0].id)
    assert emulator.wait_idle(5)
    assert receiver.types() == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed",
                                "payment_intent.canceled"]
    failed = receiver.events[2]["data"]["object"]
    assert failed["last_payment_error"]["decline_code"] == "generic_decline"


def test_processing_setting(emulator, client, endpoint, receiver):
    emulator.configure(processing_for=0.1)
    pi = paid_intent(client)
    assert pi.status == "processing"
    assert emulator.wait_idle(5)
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert receiver.types()[1:] == ["payment_intent.processing", "charge.succeeded", "payment_intent.succeeded"]


@pytest.mark.parametrize("status", [500, 429])
def test_api_fault_status(emulator, client, status):
    emulator.set_faults(api=[{"path": "/v1/customers", "status": status, "times": 1}])
    with pytest.raises(stripe.StripeError) as info:
        client.v1.customers.create()
    assert info.value.http_status == status
    assert client.v1.customers.create().id  # only once
    assert client.v1.payment_intents.list().data == []  # other paths untouched


def test_api_fault_is_survived_by_client_retries(emulator):
    emulator.set_faults(api=[{"path": "/v1/customers", "status": 500, "times": 1}])
    patient = make_client(emulator, max_network_retries=2)
    customer = patient.v1.customers.create(options={"idempotency_key": "retry-me"})
    assert len(patient.v1.customers.list().data) == 1 and customer.id


def test_api_fault_slow(emulator):
    emulator.set_faults(api=[{"path": "/v1/customers", "slow": 0.3, "method": "GET"}])
    impatient = make_client(emulator, http_client=stripe.RequestsClient(timeout=0.1))
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.list()
    assert impatient.v1.customers.create().id  # POST is not affected
