"""The shop on the Stripe emulator: the real stripe-python client and dj-stripe over HTTP.

- `stripe_emulator`: one emulator per test session, on a free loopback port.
- `emulated_stripe`: points the shop's gateway and dj-stripe at it, fresh for each test.
- `webhook_endpoint`: the shop's endpoint registered at the emulator for the live server,
  so the emulator's signed webhooks reach the shop's webhook inbox, and a Celery worker
  (tests/celery_fixtures.py) that processes it (transactional tests).
- `shopper_stripe`: a client for what a browser does with the client secret (confirming
  with a card), which the shop itself never does.
- `place_order` / `pay_with` / `paid_order`: composed states built through the real services
  (an order placed; paid with a chosen test card; paid with 4242).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial

import pytest
import stripe
from django.conf import settings

from orders.models import Order
from orders.services import order_place
from payments.models import WebhookMessage
from payments.paying.services import payment_start
from payments.setup.services import webhook_endpoint_register
from stripe_emulator import Emulator
from tests.factories import BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address

RETURN_URL = "http://127.0.0.1:9/return"


@pytest.fixture(scope="session")
def stripe_emulator():
    emulator = Emulator(host="127.0.0.1", port=0).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emulated_stripe(stripe_emulator, settings, monkeypatch) -> Iterator[Emulator]:
    stripe_emulator.reset()
    # Quick retries keep failure tests short; Stripe's own schedule spans days.
    stripe_emulator.configure(webhook_retry_delays=[0.05, 0.1, 0.2, 0.5, 1], dispute_after=0.1, refund_settle_after=0.1)
    settings.STRIPE_API_BASE = stripe_emulator.url
    settings.STRIPE_EMULATOR_URL = stripe_emulator.url
    settings.STRIPE_JS_URL = f"{stripe_emulator.url}/v3/"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    # dj-stripe's own calls (the account, objects it fetches) go through the global base.
    monkeypatch.setattr(stripe, "api_base", stripe_emulator.url)
    yield stripe_emulator
    # No delivery may reach the live server after the test: its database is gone by then,
    # and the 500s (and their retries) would land in the next test.
    stripe_emulator.wait_idle(timeout=10)
    stripe_emulator.reset()


@pytest.fixture
def webhook_endpoint(transactional_db, emulated_stripe, live_server, celery_worker):
    endpoint, _created = webhook_endpoint_register(base_url=live_server.url)
    # The shop stores each delivery and answers; the worker processes it afterwards. So with
    # the shop's endpoint, the emulator's `wait_idle` also waits for the inbox to be done with
    # what was delivered, and tests keep asserting on what the webhooks did after it.
    emulated_stripe.wait_idle = partial(_webhooks_processed, emulated_stripe.wait_idle)
    yield endpoint
    # Before the test's database is flushed (set up first, so torn down after this): a
    # delivery reaching the live server later would fail there, in the next test's output.
    emulated_stripe.wait_idle(timeout=15)
    del emulated_stripe.wait_idle  # the emulator's own again


def _webhooks_processed(deliveries_done: Callable[..., bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    if not deliveries_done(timeout=timeout):
        return False
    while WebhookMessage.objects.filter(state=WebhookMessage.State.RECEIVED).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stripe_client(url: str, key: str, **options) -> stripe.StripeClient:
    """A stripe-python client of the emulator at `url`; no retries unless asked, so failures show."""
    options.setdefault("max_network_retries", 0)
    return stripe.StripeClient(key, base_addresses={"api": url}, **options)


@pytest.fixture
def shopper_stripe(emulated_stripe) -> stripe.StripeClient:
    return stripe_client(emulated_stripe.url, settings.STRIPE_SECRET_KEY)


def confirm_with(client: stripe.StripeClient, payment_intent_id: str, payment_method: str):
    """Confirm as the Payment Element would; a decline comes back as the PaymentIntent."""
    try:
        return client.v1.payment_intents.confirm(
            payment_intent_id, params={"payment_method": payment_method, "return_url": RETURN_URL}
        )
    except stripe.CardError:
        return client.v1.payment_intents.retrieve(payment_intent_id)


def hosted_checkout_pay(url: str, number: str, **fields: str) -> tuple[int, str]:
    """Submit the emulator's hosted Checkout page at `url` with a test card (or, with `method`
    and its fields, another method), as a shopper would, without following the redirect:
    (HTTP status, Location)."""
    form = urllib.parse.urlencode(
        {"email": "guest@example.com", "number": number, "expiry": "12 / 34", "cvc": "123", **fields}
    )
    request = urllib.request.Request(url, data=form.encode(), method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def place_order(db) -> Callable[..., Order]:
    def place(*, user=None, guest: bool = False, books=None, email: str = "") -> Order:
        if user is None and not guest:
            user = UserFactory()
        cart = CartFactory(user=user)
        for title, price, quantity in books or [("Piranesi", 1299, 1), ("The Dispossessed", 950, 2)]:
            CartLineFactory(cart=cart, book=BookFactory(title=title, price_amount=price, stock=10), quantity=quantity)
        return order_place(
            cart=cart, email=email or (user.email if user else "guest@example.com"), shipping=shipping_address(), user=user
        )

    return place


@pytest.fixture
def pay_with(place_order, webhook_endpoint, shopper_stripe, emulated_stripe) -> Callable[..., Order]:
    """`pay_with("pm_card_refundFail", guest=True)`: an order placed, paid by that card through
    the emulator, and confirmed by its webhook; the one builder of a paid order through Stripe."""

    def pay(card: str = "pm_card_visa", **order_options) -> Order:
        order = place_order(**order_options)
        payment = payment_start(order_id=order.pk)
        confirm_with(shopper_stripe, payment.stripe_payment_intent_id, card)
        assert emulated_stripe.wait_idle(timeout=15)
        order.refresh_from_db()
        assert order.status == Order.Status.PAID, order.events.values_list("kind", "message")
        return order

    return pay


@pytest.fixture
def paid_order(pay_with) -> Order:
    """An order paid by card, its payment confirmed by the emulator's webhook."""
    return pay_with()
