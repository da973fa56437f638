"""PaymentIntents, test cards, charges and balance transactions through the real stripe-python client."""

import pytest
import stripe

from .conftest import PUBLISHABLE_KEY, RETURN_URL, make_client, paid_intent


def test_create_defaults_to_automatic_payment_methods(client):
    pi = client.v1.payment_intents.create(params={
        "amount": 1999, "currency": "EUR", "description": "Order 7", "receipt_email": "a@example.com",
        "metadata": {"order_id": "7"},
    })
    assert pi.object == "payment_intent"
    assert pi.status == "requires_payment_method"
    assert (pi.amount, pi.currency, pi.livemode) == (1999, "eur", False)
    assert pi.automatic_payment_methods.to_dict() == {"allow_redirects": "always", "enabled": True}
    assert pi.client_secret.startswith(pi.id + "_secret_")
    assert pi.metadata.to_dict() == {"order_id": "7"}
    assert pi.latest_charge is None and pi.last_payment_error is None


def test_confirm_with_test_card_succeeds_and_creates_charge(client):
    pi = client.v1.payment_intents.create(params={"amount": 2500, "currency": "eur"})
    pi = client.v1.payment_intents.confirm(pi.id, params={
        "payment_method": "pm_card_visa", "return_url": RETURN_URL,
        "expand": ["latest_charge.balance_transaction", "payment_method"],
    })
    assert pi.status == "succeeded"
    assert pi.amount_received == 2500
    charge = pi.latest_charge
    assert charge.object == "charge" and charge.status == "succeeded" and charge.paid and charge.captured
    assert charge.payment_intent == pi.id
    card = charge.payment_method_details.card
    assert (card.brand, card.last4, card.funding) == ("visa", "4242", "credit")
    assert charge.balance_transaction.object == "balance_transaction"
    assert charge.balance_transaction.amount == 2500
    assert charge.balance_transaction.net == 2500 - charge.balance_transaction.fee
    assert pi.payment_method.card.last4 == "4242"


def test_mastercard_and_card_numbers(client):
    pm = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "5555555555554444", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
    })
    pi = paid_intent(client, pm=pm.id)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.card.brand == "mastercard"
    assert charge.payment_method_details.card.exp_year == 2040


@pytest.mark.parametrize(("pm", "code", "decline_code", "message"), [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
])
def test_declines(client, pm, code, decline_code, message):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm, "return_url": RETURN_URL})
    error = info.value
    assert error.http_status == 402
    assert (error.code, error.error.decline_code, error.user_message) == (code, decline_code, message)
    assert error.error.payment_intent.id == pi.id
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == code
    assert pi.last_payment_error.type == "card_error"
    assert pi.last_payment_error.payment_method.card.last4
    assert pi.latest_charge.status == "failed"
    assert pi.latest_charge.failure_code == code
    # The shopper may try again with another card.
    assert client.v1.payment_intents.confirm(pi.id, params={
        "payment_method": "pm_card_visa", "return_url": RETURN_URL}).status == "succeeded"


@pytest.mark.parametrize(("number", "code"), [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "card_declined"),
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
])
def test_decline_by_card_number(client, number, code):
    pm = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 1, "exp_year": 2040, "cvc": "314"}})
    with pytest.raises(stripe.CardError) as info:
        paid_intent(client, pm=pm.id)
    assert info.value.code == code


def test_confirm_needs_return_url_with_automatic_payment_methods(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert info.value.param == "return_url"
    pi = client.v1.payment_intents.create(params={
        "amount": 1000, "currency": "eur", "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}})
    assert client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"}).status == "succeeded"
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", "payment_method_types": ["card"]})
    assert pi.automatic_payment_methods is None
    assert client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"}).status == "succeeded"


@pytest.mark.parametrize("status", ["succeeded", "canceled"])
def test_confirm_in_a_final_state_is_refused(client, status):
    pi = paid_intent(client) if status == "succeeded" else client.v1.payment_intents.cancel(
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"}).id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa", "return_url": RETURN_URL})
    assert info.value.http_status == 400
    assert info.value.code == "payment_intent_unexpected_state"
    assert info.value.error.payment_intent.status == status


def test_confirm_without_payment_method(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"return_url": RETURN_URL})
    assert info.value.code == "payment_intent_unexpected_state"


def test_create_with_payment_method_then_confirm(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa"})
    assert pi.status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(pi.id, params={"return_url": RETURN_URL}).status == "succeeded"


def test_cancel(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    pi = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert (pi.status, pi.cancellation_reason) == ("canceled", "abandoned")
    assert pi.canceled_at
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.cancel(paid_intent(client).id)
    assert info.value.code == "payment_intent_unexpected_state"


def test_update(client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", "metadata": {"a": "1", "b": "2"}})
    pi = client.v1.payment_intents.update(pi.id, params={"amount": 1500, "metadata": {"a": "", "c": "3"}})
    assert pi.amount == 1500
    assert pi.metadata.to_dict() == {"b": "2", "c": "3"}
    paid = paid_intent(client)
    assert client.v1.payment_intents.update(paid.id, params={"description": "late note"}).description == "late note"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.update(paid.id, params={"amount": 1})
    assert info.value.code == "payment_intent_unexpected_state"


def test_list_filters_paginates_and_expands(client):
    customer = client.v1.customers.create(params={"email": "list@example.com"})
    ids = [paid_intent(client, customer=customer.id).id for _ in range(3)]
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    first = client.v1.payment_intents.list(params={"customer": customer.id, "limit": 2,
                                                   "expand": ["data.latest_charge"]})
    assert [pi.id for pi in first.data] == ids[::-1][:2]
    assert first.has_more
    assert first.data[0].latest_charge.object == "charge"
    rest = client.v1.payment_intents.list(params={"customer": customer.id, "starting_after": first.data[-1].id})
    assert [pi.id for pi in rest.data] == [ids[0]] and not rest.has_more
    assert len(list(client.v1.payment_intents.list(params={"limit": 1}).auto_paging_iter())) == 4


def test_charges_and_balance_transactions(client):
    pi = paid_intent(client)
    charges = client.v1.charges.list(params={"payment_intent": pi.id, "expand": ["data.payment_intent"]})
    assert [c.id for c in charges.data] == [pi.latest_charge]
    assert charges.data[0].payment_intent.id == pi.id
    txn = client.v1.balance_transactions.retrieve(charges.data[0].balance_transaction)
    assert (txn.type, txn.source, txn.amount) == ("charge", pi.latest_charge, 2000)
    assert [t.id for t in client.v1.balance_transactions.list().data] == [txn.id]


def test_setup_future_usage_attaches_to_customer(client):
    customer = client.v1.customers.create()
    pi = paid_intent(client, customer=customer.id, setup_future_usage="off_session")
    methods = client.v1.customers.payment_methods.list(customer.id)
    assert [pm.id for pm in methods.data] == [pi.payment_method]


def test_errors_look_like_stripe(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.retrieve("pi_missing")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    assert "No such payment_intent: 'pi_missing'" in info.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", "amout": 1})
    assert (info.value.code, info.value.param) == ("parameter_unknown", "amout")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={"currency": "eur"})
    assert (info.value.code, info.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.retrieve(paid_intent(client).id, params={"expand": ["amount"]})
    assert "cannot be expanded" in info.value.user_message


def test_stripe_version_is_honoured(emulator, client):
    pinned = stripe.StripeClient(client._requestor.api_key, base_addresses={"api": emulator.url},
                                 stripe_version="2026-05-27.dahlia")
    pi = pinned.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})
    assert pi.last_response.headers["Stripe-Version"] == "2026-05-27.dahlia"
    event = client.v1.events.list(params={"type": "payment_intent.created"}).data[0]
    assert event.api_version == "2026-05-27.dahlia"
    assert event.data.object.id == pi.id
    assert event["request"]["id"] == pi.last_response.request_id
    with pytest.raises(stripe.InvalidRequestError):
        stripe.StripeClient(client._requestor.api_key, base_addresses={"api": emulator.url},
                            stripe_version="yesterday").v1.customers.list()


def test_browser_calls_with_publishable_key_and_client_secret(emulator, client):
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", "metadata": {"order": "7"}})
    browser = make_client(emulator, PUBLISHABLE_KEY)
    seen = browser.v1.payment_intents.retrieve(pi.id, params={"client_secret": pi.client_secret})
    assert seen.status == "requires_payment_method"
    assert "metadata" not in seen and "customer" not in seen  # Stripe shows browsers less
    with pytest.raises(stripe.InvalidRequestError) as info:
        browser.v1.payment_intents.retrieve(pi.id, params={"client_secret": pi.id + "_secret_wrong"})
    assert info.value.param == "client_secret"
    card = {"number": "4000000000009995", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    with pytest.raises(stripe.CardError) as info:
        browser.v1.payment_intents.confirm(pi.id, params={
            "client_secret": pi.client_secret, "return_url": RETURN_URL,
            "payment_method_data": {"type": "card", "card": card}})
    assert info.value.error.decline_code == "insufficient_funds"
    assert "metadata" not in info.value.error.payment_intent
