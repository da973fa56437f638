"""Refunds: amounts, limits, reasons, and refunds that settle later."""

import pytest
import stripe

from .conftest import paid_intent


def test_full_refund_by_default(client):
    pi = paid_intent(client, amount=3000)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "reason": "requested_by_customer",
                                              "metadata": {"refund_id": "9"}})
    assert (refund.object, refund.status, refund.amount) == ("refund", "succeeded", 3000)
    assert (refund.charge, refund.payment_intent) == (pi.latest_charge, pi.id)
    assert refund.reason == "requested_by_customer" and refund.metadata.to_dict() == {"refund_id": "9"}
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert (info.value.http_status, info.value.code) == (400, "charge_already_refunded")
    txn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (txn.type, txn.amount) == ("refund", -3000)


def test_partial_refunds_up_to_the_captured_amount(client):
    pi = paid_intent(client, amount=1000)
    client.v1.refunds.create(params={"charge": pi.latest_charge, "amount": 400})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 601})
    assert (info.value.code, info.value.param) == ("amount_too_large", "amount")
    assert "(6.01 EUR) is greater than unrefunded amount on charge (6.00 EUR)" in info.value.user_message
    last = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert last.amount == 600
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    assert [r.amount for r in client.v1.refunds.list(params={"payment_intent": pi.id}).data] == [600, 400]
    assert len(client.v1.refunds.list(params={"charge": pi.latest_charge}).data) == 2
    events = client.v1.events.list(params={"type": "charge.refunded"}).data
    assert events[0].data.previous_attributes.to_dict() == {"amount_refunded": 400, "refunded": False}


def test_refund_refusals(client):
    unpaid = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": unpaid.id})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params={"payment_intent": paid_intent(client).id, "reason": "changed_mind"})
    assert info.value.param == "reason"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"amount": 100})


def test_pending_refund_card_settles_later(emulator, client, endpoint, receiver):
    pi = paid_intent(client, pm="pm_card_pendingRefund")
    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert refund.status == "pending"
    assert emulator.wait_idle(5)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    updated = [e for e in receiver.events if e["type"] == "refund.updated"]
    assert updated[0]["data"]["previous_attributes"] == {"status": "pending"}


@pytest.mark.parametrize(("card", "setting"), [("pm_card_refundFail", "card"), ("pm_card_visa", "pending_failed")])
def test_failing_refunds(emulator, client, endpoint, receiver, card, setting):
    emulator.configure(refunds=setting)
    pi = paid_intent(client, pm=card)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})
    assert emulator.wait_idle(5)
    refund = client.v1.refunds.retrieve(refund.id)
    assert (refund.status, refund.failure_reason) == ("failed", "expired_or_canceled_card")
    assert client.v1.charges.retrieve(pi.latest_charge).amount_refunded == 0
    assert "refund.failed" in receiver.types()


def test_forced_pending_then_succeeded(emulator, client):
    emulator.configure(refunds="pending_succeeded")
    refund = client.v1.refunds.create(params={"payment_intent": paid_intent(client).id})
    assert refund.status == "pending"
    assert emulator.wait_idle(5)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
