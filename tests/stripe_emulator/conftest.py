"""Fixtures for the emulator's tests: the session's emulator (tests/stripe_fixtures.py), reset before each test."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripe_emulator import Emulator
from tests.stripe_fixtures import RETURN_URL, stripe_client

SECRET_KEY = "sk_test_" + "emulatorTests" * 2
OTHER_SECRET_KEY = "sk_test_" + "anotherKey" * 3
PUBLISHABLE_KEY = "pk_test_" + "emulatorTests" * 2


@pytest.fixture(scope="session")
def emulator(stripe_emulator) -> Emulator:
    return stripe_emulator


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator):
    emulator.reset()
    # Retries a few tenths of a second apart keep failure tests quick.
    emulator.configure(webhook_retry_delays=[0.05, 0.1, 0.2], dispute_after=0.05, refund_settle_after=0.05)


def make_client(emulator: Emulator, key: str = SECRET_KEY, **options: Any) -> stripe.StripeClient:
    return stripe_client(emulator.url, key, **options)


@pytest.fixture
def client(emulator) -> stripe.StripeClient:
    return make_client(emulator)


def control(emulator: Emulator, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """Call a /_emulator route over HTTP, as a test in another process would."""
    request = urllib.request.Request(
        emulator.url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Receiver:
    """A tiny webhook endpoint that checks each delivery with `stripe.Webhook.construct_event`.

    `answers` is a list of (status, seconds to wait first) used one per request, then 200;
    `spans` has (arrived, answered) `time.monotonic()` pairs, one per request, to see overlaps.
    """

    def __init__(self) -> None:
        self.secret: str | None = None
        self.events: list[dict[str, Any]] = []
        self.spans: list[tuple[float, float]] = []
        self.rejected: list[str] = []
        self.answers: list[tuple[int, float]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                arrived = time.monotonic()
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    status, wait = receiver.answers.pop(0) if receiver.answers else (200, 0.0)
                time.sleep(wait)
                try:
                    event = stripe.Webhook.construct_event(payload, self.headers["Stripe-Signature"], receiver.secret)
                except (stripe.SignatureVerificationError, ValueError) as exc:
                    receiver.rejected.append(str(exc))
                    status = 400
                else:
                    if status == 200:
                        with receiver._lock:
                            receiver.events.append(event.to_dict())
                with receiver._lock:
                    receiver.spans.append((arrived, time.monotonic()))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the emulator gave up waiting (timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(client, receiver):
    """A webhook endpoint for every event type, pointing at `receiver`."""
    created = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
    receiver.secret = created.secret
    return created


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def press(url: str, action: str) -> urllib.error.HTTPError:
    """Press a button (`action`) on one of the bank's pages (3D Secure, iDEAL...); its 303 back to the shop."""
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(url, data=urllib.parse.urlencode({"action": action}).encode())
    return info.value


def paid_intent(client: stripe.StripeClient, amount: int = 2000, pm: str = "pm_card_visa", **params: Any):
    return client.v1.payment_intents.create(params={
        "amount": amount, "currency": "eur", "payment_method": pm, "confirm": True, "return_url": RETURN_URL,
        **params,
    })
