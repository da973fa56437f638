"""Stripe under load: latency, the per-key rate limit, parallel webhooks, undelivered events, 409s and kept 500s."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest
import stripe

from .conftest import OTHER_SECRET_KEY, control, make_client

ROOT = Path(__file__).resolve().parents[2]


def _timed(fn: Callable[[], Any]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def _overlapping(spans: list[tuple[float, float]]) -> bool:
    """Whether some request arrived before an earlier one had been answered."""
    ordered = sorted(spans)
    return any(later[0] < earlier[1] for earlier, later in zip(ordered, ordered[1:]))


def _wait_for(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# --- latency -----------------------------------------------------------------------


def test_api_requests_take_the_configured_latency(emulator, client):
    emulator.configure(latency_ms=[120, 200])
    customer = client.v1.customers.create()
    for call in (client.v1.customers.list, lambda: client.v1.customers.retrieve(customer.id),
                 lambda: client.v1.customers.update(customer.id, params={"name": "Ada"})):
        assert _timed(call) >= 0.12


def test_latency_does_not_serialise_requests(emulator):
    emulator.configure(latency_ms="400-400")
    clients = [make_client(emulator) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        # One after another they would take 6 x 0.4 s at least.
        elapsed = _timed(lambda: list(pool.map(lambda c: c.v1.customers.list(), clients)))
    assert 0.4 <= elapsed < 2.4


def test_latency_settings_are_checked(emulator):
    assert control(emulator, "POST", "/_emulator/settings", {"latency_ms": "150-400"})[1]["latency_ms"] == [150, 400]
    assert emulator.configure(latency_ms=50)["latency_ms"] == [50, 50]
    for bad in ("fast", [400, 150], [-1, 5], [1, 2, 3]):
        assert control(emulator, "POST", "/_emulator/settings", {"latency_ms": bad})[0] == 400
    emulator.reset()
    assert control(emulator, "GET", "/_emulator/settings")[1]["latency_ms"] == [0, 0]


# --- rate limit ----------------------------------------------------------------------


def test_requests_beyond_the_rate_limit_raise_rate_limit_error(emulator, client):
    emulator.configure(rate_limit=3)
    client.v1.customers.create()
    client.v1.customers.list()  # reads count too
    client.v1.accounts.retrieve_current()
    with pytest.raises(stripe.RateLimitError) as info:
        client.v1.customers.list()
    assert info.value.http_status == 429
    assert info.value.error.type == "invalid_request_error" and info.value.error.code == "rate_limit"
    assert info.value.user_message.startswith("Request rate limit exceeded.")
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create()
    # Per API key: another key (of the same account) has its own allowance.
    assert len(make_client(emulator, OTHER_SECRET_KEY).v1.customers.list().data) == 1
    stats = control(emulator, "GET", "/_emulator/stats")[1]
    assert stats["rate_limited"] == 2 and stats["api_requests"] == 6
    assert emulator.stats()["rate_limited"] == 2
    # Refused requests take no room: a second later the key is let through again.
    time.sleep(1.05)
    assert len(client.v1.customers.list().data) == 1


def test_rate_limited_requests_are_not_retried_by_stripe_python(emulator):
    emulator.configure(rate_limit=1)
    patient = make_client(emulator, max_network_retries=2)
    patient.v1.customers.list()
    with pytest.raises(stripe.RateLimitError):
        patient.v1.customers.list()
    assert emulator.stats()["api_requests"] == 2  # no Stripe-Should-Retry, not a 409 or 5xx: no retry


# --- webhooks in parallel --------------------------------------------------------------


def test_deliveries_to_one_endpoint_overlap(emulator, client, endpoint, receiver):
    emulator.configure(webhook_concurrency=4)
    receiver.answers = [(200, 0.3)] * 4
    for i in range(4):
        client.v1.customers.create(params={"name": str(i)})
    assert emulator.wait_idle(10)
    assert len(receiver.events) == 4 and receiver.rejected == []
    assert _overlapping(receiver.spans)
    assert emulator.stats()["webhooks_in_flight_peak"] >= 2


def test_one_delivery_at_a_time_by_default(emulator, client, endpoint, receiver):
    receiver.answers = [(200, 0.1)] * 3
    for i in range(3):
        client.v1.customers.create(params={"name": str(i)})
    assert emulator.wait_idle(10)
    assert not _overlapping(receiver.spans)
    assert [e["data"]["object"]["name"] for e in receiver.events] == ["0", "1", "2"]
    assert emulator.stats()["webhooks_in_flight_peak"] == 1


def test_a_duplicate_overlaps_its_original(emulator, client, endpoint, receiver):
    emulator.configure(webhook_concurrency=2)
    emulator.set_faults(duplicate=True)
    receiver.answers = [(200, 0.3)] * 2
    client.v1.customers.create()
    assert emulator.wait_idle(10)
    assert len({e["id"] for e in receiver.events}) == 1 and len(receiver.events) == 2
    assert _overlapping(receiver.spans)


def test_parallel_deliveries_are_still_retried(emulator, client, endpoint, receiver):
    emulator.configure(webhook_concurrency=8)
    receiver.answers = [(500, 0)] * 3
    created = {client.v1.customers.create().id for _ in range(3)}
    assert emulator.wait_idle(10)
    assert {e["data"]["object"]["id"] for e in receiver.events} == created
    assert sorted(d["attempt"] for d in emulator.deliveries() if d["outcome"] == "failed") == [1, 1, 1]


def test_webhook_concurrency_is_checked(emulator):
    assert control(emulator, "POST", "/_emulator/settings", {"webhook_concurrency": 0})[0] == 400
    assert control(emulator, "POST", "/_emulator/settings", {"rate_limit": "many"})[0] == 400


# --- undelivered events ----------------------------------------------------------------


def _undelivered(client: stripe.StripeClient, **params: Any) -> list[str]:
    return [e.id for e in client.v1.events.list(params={"delivery_success": False, **params}).data]


def _delivered(client: stripe.StripeClient) -> list[str]:
    return [e.id for e in client.v1.events.list(params={"delivery_success": True}).data]


def test_events_are_undelivered_until_a_retry_succeeds(emulator, client, endpoint, receiver):
    emulator.configure(webhook_retry_delays=[1.0])
    receiver.answers = [(500, 0)]
    client.v1.customers.create()
    _wait_for(lambda: len(emulator.deliveries()) == 1)
    [event] = client.v1.events.list().data
    assert _undelivered(client) == [event.id] and _delivered(client) == []
    assert emulator.wait_idle(5)
    assert _undelivered(client) == [] and _delivered(client) == [event.id]


def test_events_given_up_on_stay_undelivered(emulator, client, endpoint, receiver):
    emulator.configure(webhook_retry_delays=[])
    receiver.answers = [(500, 0)]
    client.v1.customers.create()
    assert emulator.wait_idle(5)
    assert len(_undelivered(client, type="customer.*")) == 1


def test_dropped_deliveries_leave_events_undelivered(emulator, client, endpoint, receiver):
    emulator.set_faults(drop_webhooks=1)
    for _ in range(3):
        client.v1.customers.create()
    assert emulator.wait_idle(5)
    assert receiver.events == [] and receiver.spans == []
    assert {d["outcome"] for d in emulator.deliveries()} == {"dropped"}
    assert emulator.stats()["webhooks_dropped"] == 3
    # It pages like every list.
    first = client.v1.events.list(params={"delivery_success": False, "limit": 2})
    assert len(first.data) == 2 and first.has_more
    rest = client.v1.events.list(params={"delivery_success": False, "limit": 2, "starting_after": first.data[-1].id})
    assert len(rest.data) == 1 and not rest.has_more
    assert [e.id for e in first.data + rest.data] == [e.id for e in client.v1.events.list().data]


def test_events_no_endpoint_wanted_count_as_delivered(client):
    client.v1.customers.create()
    assert _undelivered(client) == [] and len(_delivered(client)) == 1
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list(params={"delivery_success": "maybe"})  # type: ignore[typeddict-item]
    assert info.value.param == "delivery_success"


def test_drop_webhooks_is_checked(emulator):
    assert control(emulator, "POST", "/_emulator/faults", {"drop_webhooks": 2})[0] == 400
    assert control(emulator, "POST", "/_emulator/faults", {"drop_webhooks": 0.5})[1]["drop_webhooks"] == 0.5


# --- idempotency under concurrency -----------------------------------------------------


def _create_in_background(client: stripe.StripeClient, key: str) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["customer"] = client.v1.customers.create(params={"name": "Ada"}, options={"idempotency_key": key})
        except stripe.StripeError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_same_key_while_the_first_runs_gets_409(emulator):
    emulator.configure(latency_ms=[400, 400])
    first, first_outcome = _create_in_background(make_client(emulator), "in-flight")
    _wait_for(lambda: emulator.stats()["api_requests"] == 1)  # then it holds the key for 0.4 s
    with pytest.raises(stripe.APIError) as info:  # stripe-python gives 409s no class of their own
        make_client(emulator).v1.customers.create(params={"name": "Ada"}, options={"idempotency_key": "in-flight"})
    first.join()
    assert info.value.http_status == 409
    assert info.value.error.type == "idempotency_error" and info.value.error.code == "idempotency_key_in_use"
    assert "another in-progress request" in info.value.user_message
    customer = first_outcome["customer"]
    # The 409 was not kept: now the key answers with the first request's result.
    again = make_client(emulator).v1.customers.create(params={"name": "Ada"}, options={"idempotency_key": "in-flight"})
    assert again.id == customer.id and again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(make_client(emulator).v1.customers.list().data) == 1
    assert emulator.stats()["idempotency_key_in_use"] == 1


def test_stripe_python_retries_a_409_into_the_first_answer(emulator):
    emulator.configure(latency_ms=[300, 300])
    first, first_outcome = _create_in_background(make_client(emulator), "retry-409")
    _wait_for(lambda: emulator.stats()["api_requests"] == 1)
    second = make_client(emulator, max_network_retries=2).v1.customers.create(
        params={"name": "Ada"}, options={"idempotency_key": "retry-409"})
    first.join()
    assert second.id == first_outcome["customer"].id
    assert emulator.stats()["idempotency_key_in_use"] >= 1


# --- Stripe's 500s, kept under their key -------------------------------------------------


def test_a_500_is_kept_and_replayed_under_its_key(emulator, client):
    emulator.set_faults(server_errors=1)
    with pytest.raises(stripe.APIError) as first:
        client.v1.customers.create(options={"idempotency_key": "boom"})
    assert first.value.http_status == 500 and first.value.error.type == "api_error"
    assert first.value.headers["Stripe-Should-Retry"] == "false"
    with pytest.raises(stripe.APIError) as again:
        client.v1.customers.create(options={"idempotency_key": "boom"})
    assert again.value.http_status == 500
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert again.value.headers["Stripe-Should-Retry"] == "false"
    assert client.v1.customers.list().data == []  # the request never ran
    assert client.v1.customers.create(options={"idempotency_key": "another"}).id
    assert emulator.stats()["server_errors"] == 1 and emulator.stats()["idempotent_replays"] == 1


def test_stripe_should_retry_false_stops_stripe_python_retrying(emulator):
    emulator.set_faults(server_errors=1)
    with pytest.raises(stripe.APIError):
        make_client(emulator, max_network_retries=2).v1.customers.create(options={"idempotency_key": "k"})
    assert emulator.stats()["api_requests"] == 1  # a 500 is retried by default; the header said no


def test_stripe_should_retry_true_makes_stripe_python_retry_into_the_replay(emulator):
    emulator.set_faults(server_errors=1, server_error_should_retry=True)
    with pytest.raises(stripe.APIError) as info:
        make_client(emulator, max_network_retries=1).v1.customers.create(options={"idempotency_key": "k"})
    assert info.value.headers["Stripe-Should-Retry"] == "true"
    assert info.value.headers["Idempotent-Replayed"] == "true"  # the retry got the kept 500
    assert emulator.stats()["api_requests"] == 2 and emulator.stats()["server_errors"] == 1


def test_server_error_rate_fails_reads_too(emulator, client):
    emulator.set_faults(server_error_rate=1)
    with pytest.raises(stripe.APIError) as info:
        client.v1.customers.list()
    assert info.value.http_status == 500
    emulator.clear_faults()
    assert client.v1.customers.list().data == []


# --- the command line ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line_flags_set_what_reset_returns_to():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--latency", "150-400", "--rate-limit", "100",
         "--webhook-concurrency", "8", "--drop-webhooks", "0.25", "--server-error-rate", "0.1",
         "--server-error-should-retry"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    class Remote:
        url = f"http://127.0.0.1:{port}"

    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                control(Remote, "POST", "/_emulator/reset")  # type: ignore[arg-type]
                break
            except OSError:
                assert time.monotonic() < deadline, process.stdout.read().decode()  # type: ignore[union-attr]
                time.sleep(0.05)
        settings = control(Remote, "GET", "/_emulator/settings")[1]  # type: ignore[arg-type]
        faults = control(Remote, "GET", "/_emulator/faults")[1]  # type: ignore[arg-type]
        assert (settings["latency_ms"], settings["rate_limit"], settings["webhook_concurrency"]) == ([150, 400], 100, 8)
        assert (faults["drop_webhooks"], faults["server_error_rate"], faults["server_error_should_retry"]) == (
            0.25, 0.1, True)
        bad = subprocess.run([sys.executable, "-m", "stripe_emulator", "--latency", "fast"], cwd=ROOT,
                             capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30)
        assert bad.returncode == 2 and b"latency must look like" in bad.stderr
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
