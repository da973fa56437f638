"""Stripe's rate limits at the gateway: 429s retried out of the shopper's sight, the
`Stripe-Should-Retry` header obeyed, and one request rate for all the shop's processes.

Through the emulator over HTTP with the real stripe-python client; its `rate_limit` answers
Stripe's 429 and its counters say how many requests it refused.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe

from orders.models import Order
from payments import gateway
from payments.paying.services import payment_start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_key(settings) -> str:
    """A key of this test's own: its own bucket in the limiter and its own window at the emulator."""
    settings.STRIPE_SECRET_KEY = "sk_test_" + secrets.token_hex(12)
    return settings.STRIPE_SECRET_KEY


@pytest.fixture
def intent_id(emulated_stripe, own_key) -> str:
    client = stripe.StripeClient(own_key, base_addresses={"api": emulated_stripe.url}, max_network_retries=0)
    return client.v1.payment_intents.create(params={"amount": 1299, "currency": "eur"}).id


def requests_to(emulator, action) -> int:
    before = emulator.stats()["api_requests"]
    action()
    return emulator.stats()["api_requests"] - before


def most_in_any_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t < start + 1.0) for i, start in enumerate(stamps))


def test_a_429_from_stripe_is_retried_and_the_shopper_gets_the_payment_intent(
    place_order, emulated_stripe, own_key, settings
):
    # Stripe, not the shop, holds the line here: one request a second per key.
    settings.STRIPE_RATE_LIMIT_PER_SECOND = 0
    settings.STRIPE_RATE_LIMITED_RETRIES = 10
    emulated_stripe.configure(rate_limit=1)
    orders = [place_order(), place_order()]

    payments = [payment_start(order_id=order.pk) for order in orders]

    assert emulated_stripe.stats()["rate_limited"] >= 1
    assert all(payment.client_secret for payment in payments)
    for order in orders:
        order.refresh_from_db()
        assert order.status == Order.Status.PENDING_PAYMENT
    # Retried with the same key: one PaymentIntent per order at Stripe, not one per attempt.
    emulated_stripe.configure(rate_limit=None)
    listed = stripe.StripeClient(own_key, base_addresses={"api": emulated_stripe.url}).v1.payment_intents.list()
    assert sorted(intent.id for intent in listed.data) == sorted(p.stripe_payment_intent_id for p in payments)


def test_a_429_past_the_bounds_tells_the_shopper_to_try_again(emulated_stripe, own_key, settings):
    settings.STRIPE_RATE_LIMITED_RETRIES = 2
    emulated_stripe.set_faults(api=[{"path": "/v1/payment_intents", "method": "POST", "status": 429}])

    with pytest.raises(gateway.PaymentGatewayError) as refused:
        gateway.payment_intent_create(
            amount=1299, currency="EUR", idempotency_key="order-1-payment", metadata={},
            receipt_email="reader@example.com", description="Order 1",
        )  # fmt: skip

    assert refused.value.message == gateway.BUSY_MESSAGE and refused.value.retryable
    assert emulated_stripe.stats()["api_requests"] == 3  # the first try and two retries


@pytest.mark.parametrize(("should_retry", "requests"), [(False, 1), (True, 2)])
def test_a_500_is_retried_only_if_stripe_says_so(emulated_stripe, intent_id, settings, should_retry, requests):
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    emulated_stripe.set_faults(server_errors=1, server_error_should_retry=should_retry)

    def retrieve():
        try:
            gateway.payment_intent_retrieve(intent_id)
        except gateway.PaymentGatewayError as exc:
            assert not should_retry and exc.message == gateway.UNAVAILABLE_MESSAGE

    assert requests_to(emulated_stripe, retrieve) == requests


class _LockTimeout(BaseHTTPRequestHandler):
    """Stripe's 429 for a busy object, saying a retry would not help."""

    def do_GET(self) -> None:
        self.server.requests += 1
        body = json.dumps({"error": {"type": "invalid_request_error", "code": "lock_timeout", "message": "Locked."}})
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Stripe-Should-Retry", "false")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


def test_a_429_saying_stripe_should_retry_false_is_not_retried(own_key, settings):
    # The emulator's 429s carry no Stripe-Should-Retry; this stand-in answers only that.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LockTimeout)
    server.requests = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(gateway.PaymentGatewayError) as refused:
            gateway.payment_intent_retrieve("pi_busy")
    finally:
        server.shutdown()
        server.server_close()

    assert refused.value.message == gateway.BUSY_MESSAGE and refused.value.stripe_code == "lock_timeout"
    assert server.requests == 1


def test_no_slot_within_the_wait_tells_the_shopper_to_try_again_without_asking_stripe(
    emulated_stripe, intent_id, settings
):
    settings.STRIPE_RATE_LIMIT_PER_SECOND = 1
    settings.STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS = 0.5
    assert requests_to(emulated_stripe, lambda: gateway.payment_intent_retrieve(intent_id)) == 1

    with pytest.raises(gateway.PaymentGatewayError) as refused:
        gateway.payment_intent_retrieve(intent_id)

    assert refused.value.message == gateway.BUSY_MESSAGE and refused.value.retryable
    assert emulated_stripe.stats()["api_requests"] == 2  # the intent's creation and the first retrieve


CHILD = """
import sys, time
import django
django.setup()
from payments import gateway
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    gateway.payment_intent_retrieve(sys.argv[1])
    print(time.time(), flush=True)
"""


def test_the_limiter_holds_the_rate_across_two_processes(emulated_stripe, settings):
    rate, burst, calls = 20, 4, 30  # burst: a fifth of the rate
    emulated_stripe.configure(rate_limit=30)  # above the shop's 20 + 4, under two processes' 40
    client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": emulated_stripe.url})
    intent_id = client.v1.payment_intents.create(params={"amount": 500, "currency": "eur"}).id
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "STRIPE_EMULATOR_URL": emulated_stripe.url,
        "STRIPE_RATE_LIMIT_PER_SECOND": str(rate),
        "STRIPE_MAX_NETWORK_RETRIES": "0",
    }
    env.pop("STRIPE_SECRET_KEY", None)  # the emulator's key, as in settings
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, intent_id, str(calls)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    stamps = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        stamps += [float(line) for line in out.split()]

    assert len(stamps) == 2 * calls
    # Counted, not timed: after the first answer, no more than the rate over the window
    # it took, plus one bucket (and one request of slack for the answers' own jitter).
    window = max(stamps) - min(stamps)
    assert len(stamps) - 1 <= rate * window + burst + 1
    assert most_in_any_second(stamps) <= rate + burst + 1
    assert emulated_stripe.stats()["rate_limited"] == 0


def test_without_redis_each_process_keeps_the_rate_itself(emulated_stripe, intent_id, settings):
    settings.REDIS_URL = ""
    rate, burst = 10, 2
    settings.STRIPE_RATE_LIMIT_PER_SECOND = rate
    emulated_stripe.configure(rate_limit=14)
    stamps: list[float] = []

    def shopper() -> None:
        for _ in range(4):
            gateway.payment_intent_retrieve(intent_id)
            stamps.append(time.time())

    threads = [threading.Thread(target=shopper) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(stamps) == 20
    assert len(stamps) - 1 <= rate * (max(stamps) - min(stamps)) + burst + 1
    assert emulated_stripe.stats()["rate_limited"] == 0


def test_the_same_request_still_running_at_stripe_waits_for_its_answer(emulated_stripe, own_key, settings):
    # Two tabs starting one payment: the second request reaches Stripe while the first holds the key.
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    emulated_stripe.configure(latency_ms=[400, 400])
    ids: list[str] = []
    barrier = threading.Barrier(2)

    def create() -> None:
        barrier.wait()
        ids.append(gateway.payment_intent_create(
            amount=1299, currency="EUR", idempotency_key="order-8-payment", metadata={},
            receipt_email="reader@example.com", description="Order 8",
        ).id)  # fmt: skip

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ids) == 2 and ids[0] == ids[1]
    assert emulated_stripe.stats()["idempotency_key_in_use"] >= 1


def test_the_same_request_still_running_past_the_retries_is_told_apart_from_a_refusal(
    emulated_stripe, own_key, settings
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_RATE_LIMITED_RETRIES = 0
    emulated_stripe.configure(latency_ms=[400, 400])
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def create() -> None:
        barrier.wait()
        try:
            outcomes.append(gateway.payment_intent_create(
                amount=1299, currency="EUR", idempotency_key="order-7-payment", metadata={},
                receipt_email="reader@example.com", description="Order 7",
            ).id)  # fmt: skip
        except gateway.PaymentGatewayError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    created = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, gateway.PaymentGatewayError)]
    assert len(created) == 1 and len(refused) == 1
    assert refused[0].code == "in_progress" and refused[0].message == gateway.IN_PROGRESS_MESSAGE
