"""SEPA Direct Debit, iDEAL and Bancontact through stripe-python: their objects, states and events."""

import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from .conftest import PUBLISHABLE_KEY, RETURN_URL, SECRET_KEY, make_client, press

ONLINE_ACCEPTANCE = {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1",
                                                                          "user_agent": "pytest"}}}
SEPA_BILLING = {"name": "Jenny Rosen", "email": "jenny@example.com"}


def _intent(client, **params):
    return client.v1.payment_intents.create(params={"amount": 2500, "currency": "eur", **params})


def _sepa_pay(client, iban: str):
    pi = _intent(client)
    return client.v1.payment_intents.confirm(pi.id, params={
        "payment_method_data": {"type": "sepa_debit", "sepa_debit": {"iban": iban}, "billing_details": SEPA_BILLING},
        "mandate_data": ONLINE_ACCEPTANCE, "return_url": RETURN_URL,
    })


def test_automatic_payment_methods_offer_the_euro_methods_for_euros_only(client):
    assert _intent(client).payment_method_types == ["card", "sepa_debit", "ideal", "bancontact"]
    no_redirects = _intent(client, automatic_payment_methods={"enabled": True, "allow_redirects": "never"})
    assert no_redirects.payment_method_types == ["card", "sepa_debit"]
    dollars = client.v1.payment_intents.create(params={"amount": 2500, "currency": "usd"})
    assert dollars.payment_method_types == ["card"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.create(params={"amount": 2500, "currency": "usd", "payment_method_types": ["ideal"]})
    assert info.value.code == "payment_intent_invalid_currency"


def test_a_card_only_intent_refuses_a_bank_method(client):
    pi = _intent(client, payment_method_types=["card"])
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={
            "payment_method_data": {"type": "ideal", "ideal": {"bank": "ing"}}, "return_url": RETURN_URL})
    assert info.value.code == "payment_intent_incompatible_payment_method"


def test_sepa_debit_processes_then_succeeds_with_a_mandate(emulator, client, endpoint, receiver):
    emulator.configure(debit_settle_after=0.2)
    pi = _sepa_pay(client, "DE89370400440532013000")
    assert pi.status == "processing"
    assert emulator.wait_idle(5)
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge", "payment_method"]})
    assert pi.status == "succeeded" and pi.amount_received == 2500
    assert pi.payment_method.type == "sepa_debit" and pi.payment_method.sepa_debit.last4 == "3000"
    details = pi.latest_charge.payment_method_details
    assert details.type == "sepa_debit"
    assert (details.sepa_debit.last4, details.sepa_debit.country, details.sepa_debit.bank_code) == (
        "3000", "DE", "37040044")
    mandate = client.v1.mandates.retrieve(details.sepa_debit.mandate)
    assert (mandate.status, mandate.type, mandate.payment_method) == ("active", "multi_use", pi.payment_method.id)
    assert mandate.payment_method_details.sepa_debit.reference
    assert mandate.customer_acceptance.online.user_agent == "pytest"
    assert receiver.types()[-3:] == ["payment_intent.processing", "charge.succeeded", "payment_intent.succeeded"]


@pytest.mark.parametrize("iban, code", [
    ("AT861904300235473202", "generic_could_not_process"),
    ("DE65370400440002222227", "insufficient_funds"),
])
def test_sepa_debit_returned_after_processing(emulator, client, endpoint, receiver, iban, code):
    emulator.configure(debit_settle_after=0.1)
    assert _sepa_pay(client, iban).status == "processing"
    assert emulator.wait_idle(5)
    pi = client.v1.payment_intents.list().data[0]
    assert pi.status == "requires_payment_method" and pi.last_payment_error.code == code
    assert pi.last_payment_error.payment_method.type == "sepa_debit"
    assert receiver.types()[-3:] == ["payment_intent.processing", "charge.failed", "payment_intent.payment_failed"]


def test_delayed_ibans_wait_for_their_own_setting(emulator, client):
    emulator.configure(debit_settle_after=0.05, debit_settle_delayed_after=0.4)
    pi = _sepa_pay(client, "AT321904300235473204")
    assert not emulator.wait_idle(0.2)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    assert emulator.wait_idle(5)
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_sepa_debit_checks_iban_billing_details_and_mandate(client):
    pi = _intent(client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013001"}})
    assert info.value.code == "invalid_bank_account_iban"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": "DE91370400440000055555"}})
    assert info.value.code == "sepa_debit_bank_not_supported"
    pm = client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": "AT611904300234573201"}})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm.id, "return_url": RETURN_URL,
                                                          "mandate_data": ONLINE_ACCEPTANCE})
    assert info.value.param == "billing_details[name]"
    pm = client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": "AT611904300234573201"},
                                                  "billing_details": SEPA_BILLING})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm.id, "return_url": RETURN_URL})
    assert info.value.param == "mandate_data"
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_a_processing_debit_cannot_be_canceled(emulator, client):
    emulator.configure(debit_settle_after=30)
    pi = _sepa_pay(client, "DE89370400440532013000")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.cancel(pi.id)
    assert info.value.code == "payment_intent_unexpected_state"


def test_sepa_refund_is_pending_then_succeeds(emulator, client, endpoint, receiver):
    emulator.configure(debit_settle_after=0.05, refund_settle_after=0.3)
    pi = _sepa_pay(client, "AT611904300234573201")
    assert emulator.wait_idle(5)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert refund.status == "pending"
    assert emulator.wait_idle(5)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"


@pytest.mark.parametrize("kind, data, words", [
    ("ideal", {"ideal": {"bank": "ing"}}, "iDEAL"),
    ("bancontact", {"bancontact": {}, "billing_details": {"name": "Jenny Rosen"}}, "Bancontact"),
])
def test_redirect_methods_authorized_at_the_bank(emulator, client, endpoint, receiver, kind, data, words):
    pi = _intent(client)
    pi = client.v1.payment_intents.confirm(pi.id, params={
        "payment_method_data": {"type": kind, **data}, "return_url": RETURN_URL})
    assert pi.status == "requires_action" and pi.next_action.type == "redirect_to_url"
    url = pi.next_action.redirect_to_url.url
    with urllib.request.urlopen(url) as response:
        page = response.read().decode()
    assert f"{words} test payment" in page and "25.00 EUR" in page
    redirect = press(url, "authorize")
    location = urllib.parse.urlsplit(redirect.headers["Location"])
    assert location._replace(query="").geturl() == RETURN_URL
    assert urllib.parse.parse_qs(location.query)["redirect_status"] == ["succeeded"]
    pi = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge"]})
    assert pi.status == "succeeded"
    details = pi.latest_charge.payment_method_details
    assert details.type == kind
    if kind == "ideal":
        assert (details.ideal.bank, details.ideal.bic) == ("ing", "INGBNL2A")
    else:
        assert details.bancontact.bank_name == "VAN DE PUTTE"
    assert emulator.wait_idle(5)
    assert receiver.types()[-3:] == ["payment_intent.requires_action", "charge.succeeded", "payment_intent.succeeded"]
    # The redirect is spent.
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url)
    assert info.value.code == 404


def test_ideal_failed_at_the_bank_and_abandoned(client):
    pi = _intent(client)
    pi = client.v1.payment_intents.confirm(pi.id, params={
        "payment_method_data": {"type": "ideal", "ideal": {"bank": "rabobank"}}, "return_url": RETURN_URL})
    redirect = press(pi.next_action.redirect_to_url.url, "fail")
    assert "redirect_status=failed" in redirect.headers["Location"]
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "payment_intent_payment_attempt_failed"
    # Tried again, then left at the bank: the shop cancels it, and the bank page is gone.
    pi = client.v1.payment_intents.confirm(pi.id, params={
        "payment_method_data": {"type": "ideal", "ideal": {"bank": "ing"}}, "return_url": RETURN_URL})
    url = pi.next_action.redirect_to_url.url
    assert client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"}).status == "canceled"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url)
    assert info.value.code == 404


def test_redirect_methods_need_a_return_url(client):
    pi = _intent(client, payment_method_types=["ideal"])
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method_data": {"type": "ideal"}})
    assert info.value.param == "return_url"


def test_the_browser_confirms_sepa_with_the_publishable_key(emulator, client):
    pi = _intent(client)
    browser = make_client(emulator, PUBLISHABLE_KEY)
    confirmed = browser.v1.payment_intents.confirm(pi.id, params={
        "client_secret": pi.client_secret, "return_url": RETURN_URL,
        "payment_method_data": {"type": "sepa_debit", "sepa_debit": {"iban": "AT611904300234573201"},
                                "billing_details": SEPA_BILLING},
        "mandate_data": {"customer_acceptance": {"type": "online", "online": {"infer_from_client": "true"}}},
    })
    assert confirmed.status == "processing"
    assert make_client(emulator, SECRET_KEY).v1.payment_intents.retrieve(pi.id).status == "processing"
