"""Checkout Sessions: the API through stripe-python, the hosted page over HTTP (no browser),
3D Secure and declines on it, expiry, the events, and dj-stripe's mirror of a session."""

import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe
from djstripe import models as djstripe_models

from .conftest import make_client

SUCCESS_URL = "http://127.0.0.1:9/orders/N1/?redirect_status=succeeded&session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1:9/orders/N1/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _session(client, **params):
    return client.v1.checkout.sessions.create(params={
        "mode": "payment",
        "line_items": [
            {"price_data": {"currency": "eur", "unit_amount": 1000, "product_data": {"name": "The Glass Archive"}},
             "quantity": 2},
            {"price_data": {"currency": "eur", "unit_amount": 500, "product_data": {"name": "Salt and Ember"}},
             "quantity": 1},
        ],
        "customer_email": "guest@example.com",
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "N1",
        "metadata": {"order_number": "N1"},
        "payment_intent_data": {"metadata": {"order_number": "N1"}},
        **params,
    })


def _submit(url: str, number: str, **fields) -> tuple[int, str, str]:
    """Post the hosted page's form: (status, Location, page)."""
    data = {"email": "guest@example.com", "number": number, "expiry": "12 / 34", "cvc": "123", **fields}
    try:
        with urllib.request.build_opener(NoRedirect).open(url, data=urllib.parse.urlencode(data).encode()) as answer:
            return answer.status, "", answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or "", exc.read().decode()


def test_create_answers_stripes_object(client):
    session = _session(client)
    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_total, session.currency) == (2500, "eur")
    assert session.payment_intent is None  # Stripe makes it when the shopper pays (API 2022-08-01 on)
    assert session.url.endswith(f"/c/pay/{session.id}")
    assert session.customer_email == "guest@example.com"
    assert session.client_reference_id == "N1"
    assert session.metadata.to_dict() == {"order_number": "N1"}
    assert session.success_url == SUCCESS_URL  # the placeholder is filled in on the way back only
    assert time.time() + 23 * 3600 < session.expires_at <= time.time() + 24 * 3600 + 1
    assert "line_items" not in session


def test_line_items_expanded_and_listed(client):
    session = _session(client)
    expanded = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    items = expanded.line_items.data
    assert [(i.description, i.quantity, i.amount_total, i.price.unit_amount) for i in items] == [
        ("The Glass Archive", 2, 2000, 1000), ("Salt and Ember", 1, 500, 500)]
    assert items[0].object == "item" and items[0].price.object == "price"
    listed = client.v1.checkout.sessions.line_items.list(session.id, params={"limit": 1})
    assert [i.description for i in listed.data] == ["The Glass Archive"] and listed.has_more
    rest = client.v1.checkout.sessions.line_items.list(session.id, params={"starting_after": listed.data[0].id})
    assert [i.description for i in rest.data] == ["Salt and Ember"] and not rest.has_more


@pytest.mark.parametrize("params, param", [
    ({"line_items": []}, "line_items"),
    ({"line_items": [{"price_data": {"currency": "eur", "unit_amount": 100, "product_data": {"name": "x"}}}]},
     "line_items[0][quantity]"),
    ({"line_items": [{"price_data": {"currency": "eur", "unit_amount": 100}, "quantity": 1}]},
     "line_items[0][price_data][product_data]"),
    ({"line_items": [{"price": "price_missing", "quantity": 1}]}, "line_items[0][price]"),
    ({"expires_at": int(time.time()) + 600}, "expires_at"),
    ({"expires_at": int(time.time()) + 25 * 3600}, "expires_at"),
    ({"payment_intent_data": {"metadata": {"a": "b"}, "colour": "red"}}, "payment_intent_data[colour]"),
    ({"succes_url": "http://x"}, "succes_url"),
])
def test_create_refuses_what_stripe_refuses(client, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        _session(client, **params)
    assert info.value.param == param


def test_idempotency_key_replays_the_session(client):
    first = client.v1.checkout.sessions.create(params=_params(), options={"idempotency_key": "order-N1-checkout-1"})
    again = client.v1.checkout.sessions.create(params=_params(), options={"idempotency_key": "order-N1-checkout-1"})
    assert again.id == first.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params={**_params(), "customer_email": "other@example.com"},
                                           options={"idempotency_key": "order-N1-checkout-1"})


def _params():
    return {"mode": "payment", "success_url": SUCCESS_URL, "customer_email": "guest@example.com", "line_items": [
        {"price_data": {"currency": "eur", "unit_amount": 1500, "product_data": {"name": "Book"}}, "quantity": 1}]}


def test_pay_on_the_hosted_page(emulator, client, endpoint, receiver):
    session = _session(client)
    with urllib.request.urlopen(session.url) as page:
        html = page.read().decode()
    assert "Pay 25.00 EUR" in html and "The Glass Archive" in html and CANCEL_URL in html
    status, location, _ = _submit(session.url, "4242 4242 4242 4242", name="Ada Guest")
    assert status == 303
    assert location == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)

    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.payment_intent.status == "succeeded"
    assert paid.payment_intent.amount == 2500
    assert paid.payment_intent.metadata.to_dict() == {"order_number": "N1"}
    assert paid.customer_details.email == "guest@example.com"
    assert paid.customer_details.name == "Ada Guest"
    assert emulator.wait_idle(5)
    assert receiver.types() == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                                "checkout.session.completed"]
    completed = receiver.events[-1]["data"]["object"]
    assert (completed["id"], completed["payment_status"]) == (session.id, "paid")
    # Back on a paid session's page: straight to the shop.
    assert _submit(session.url, "4242424242424242")[:2] == (303, location)


def test_decline_then_pay_keeps_one_payment_intent(emulator, client, endpoint, receiver):
    session = _session(client)
    status, _, page = _submit(session.url, "4000 0000 0000 0002")
    assert status == 402 and "Your card was declined." in page
    declined = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert declined.status == "open"
    assert declined.payment_intent.status == "requires_payment_method"
    assert declined.payment_intent.last_payment_error.decline_code == "generic_decline"

    status, _, page = _submit(session.url, "1234 5678")
    assert status == 402 and "Your card number is incorrect." in page
    status, _, page = _submit(session.url, "4242 4242 4242 4242", expiry="")
    assert status == 402 and "Your card&#x27;s expiration date is incomplete." in page

    assert _submit(session.url, "4242 4242 4242 4242")[0] == 303
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_intent) == ("complete", declined.payment_intent.id)
    assert emulator.wait_idle(5)
    assert receiver.types().count("checkout.session.completed") == 1


@pytest.mark.parametrize("action, paid", [("complete", True), ("fail", False)])
def test_three_d_secure_through_the_challenge_page(emulator, client, action, paid):
    session = _session(client)
    status, challenge, _ = _submit(session.url, "4000 0025 0000 3155")
    assert status == 303 and "/3ds/" in challenge
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(challenge, data=urllib.parse.urlencode({"action": action}).encode())
    back = info.value.headers["Location"]
    assert back.startswith(f"{session.url}/return?")
    try:
        with opener.open(back) as answer:
            status, location, page = answer.status, "", answer.read().decode()
    except urllib.error.HTTPError as exc:
        status, location, page = exc.code, exc.headers.get("Location"), ""
    current = client.v1.checkout.sessions.retrieve(session.id)
    if paid:
        assert (status, location) == (303, SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id))
        assert (current.status, current.payment_status) == ("complete", "paid")
    else:
        assert status == 200 and "We are unable to authenticate your payment method." in page
        assert current.status == "open"


def test_expire_cancels_its_payment_intent_and_closes_the_page(emulator, client, endpoint, receiver):
    session = _session(client)
    _submit(session.url, "4000 0000 0000 0002")
    pi_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    # Stripe's rule: the PaymentIntent of a session is stopped by expiring the session.
    with pytest.raises(stripe.InvalidRequestError, match="Expire the Checkout Session"):
        client.v1.payment_intents.cancel(pi_id)

    expired = client.v1.checkout.sessions.expire(session.id, params={"expand": ["payment_intent"]})
    assert expired.status == "expired"
    assert expired.payment_intent.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.expire(session.id)
    assert info.value.code == "checkout_session_not_expirable"
    status, _, page = _submit(session.url, "4242 4242 4242 4242")
    assert status == 410 and "expired" in page and CANCEL_URL in page
    assert emulator.wait_idle(5)
    assert receiver.types()[-2:] == ["payment_intent.canceled", "checkout.session.expired"]


def test_a_paid_session_cannot_expire(client):
    session = _session(client)
    _submit(session.url, "4242 4242 4242 4242")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.expire(session.id)
    assert info.value.code == "checkout_session_not_expirable"


def test_expires_at_its_time(emulator, client, monkeypatch):
    session = _session(client, expires_at=int(time.time()) + 30 * 60)
    assert emulator.wait_idle(1)  # an open session keeps nobody waiting
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 31 * 60)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_processing_payment_completes_unpaid_then_async_succeeded(emulator, client, endpoint, receiver):
    emulator.configure(processing_for=0.05)
    session = _session(client)
    assert _submit(session.url, "4242 4242 4242 4242")[0] == 303
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    assert emulator.wait_idle(5)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    checkout_events = [t for t in receiver.types() if t.startswith("checkout.")]
    assert checkout_events == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]


@pytest.mark.django_db
def test_djstripe_mirrors_the_session(emulator, settings, monkeypatch):
    monkeypatch.setattr(stripe, "api_base", emulator.url)
    settings.STRIPE_API_BASE = emulator.url
    client = make_client(emulator, settings.STRIPE_SECRET_KEY)
    session = _session(client)
    _submit(session.url, "4242 4242 4242 4242")
    current = client.v1.checkout.sessions.retrieve(session.id, params={"expand": [
        "payment_intent", "payment_intent.latest_charge", "line_items"]})
    mirrored = djstripe_models.Session.sync_from_stripe_data(current, api_key=settings.STRIPE_SECRET_KEY)
    assert mirrored.id == session.id
    assert (mirrored.status, mirrored.payment_status, mirrored.amount_total) == ("complete", "paid", 2500)
    assert mirrored.metadata == {"order_number": "N1"}
    assert mirrored.payment_intent.id == current.payment_intent.id
    assert mirrored.payment_intent.stripe_data["status"] == "succeeded"
    assert mirrored.url == session.url


def test_the_page_offers_the_currencys_methods(client):
    session = _session(client)
    assert session.payment_method_types == ["card", "sepa_debit", "ideal", "bancontact"]
    usd = _session(client, line_items=[
        {"price_data": {"currency": "usd", "unit_amount": 1000, "product_data": {"name": "Book"}}, "quantity": 1}])
    assert usd.payment_method_types == ["card"]
    only_cards = _session(client, payment_method_types=["card"])
    status, _, page = _submit(only_cards.url, "", method="sepa_debit", iban="DE89370400440532013000")
    assert status == 400 and "Choose one of the payment methods shown." in page


def test_sepa_debit_completes_unpaid_then_settles(emulator, client, endpoint, receiver):
    emulator.configure(debit_settle_after=0.05)
    session = _session(client)
    status, location, _ = _submit(session.url, "", method="sepa_debit", iban="DE89 3704 0044 0532 0130 00",
                                  name="Jenny Rosen")
    assert status == 303 and session.id in location
    current = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (current.status, current.payment_status) == ("complete", "unpaid")
    assert current.payment_intent.status == "processing"
    assert emulator.wait_idle(5)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert [t for t in receiver.types() if t.startswith("checkout.")] == [
        "checkout.session.completed", "checkout.session.async_payment_succeeded"]


def test_ideal_goes_to_the_bank_and_back(client):
    session = _session(client)
    status, bank_page, _ = _submit(session.url, "", method="ideal", ideal_bank="ing")
    assert status == 303 and "/bank/" in bank_page
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(bank_page, data=urllib.parse.urlencode({"action": "authorize"}).encode())
    back = info.value.headers["Location"]
    assert back.startswith(f"{session.url}/return?")
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(back)
    assert info.value.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
