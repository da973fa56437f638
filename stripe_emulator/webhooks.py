"""Webhook delivery as Stripe does it: signed, at least once, retried with backoff, in parallel, in no set order."""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .controls import SHUFFLE_WINDOW, Controls
from .scheduler import Scheduler
from .store import Store
from .traffic import Stats

DELIVERY_LOG_SIZE = 10_000


def signature_header(secret: str, payload: bytes, timestamp: int) -> str:
    """Stripe's `Stripe-Signature`: HMAC-SHA256 of "{t}.{body}" with the endpoint's secret."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def wants(endpoint: dict[str, Any], event_type: str) -> bool:
    return endpoint["status"] == "enabled" and (
        "*" in endpoint["enabled_events"] or event_type in endpoint["enabled_events"]
    )


@dataclass
class Delivery:
    event_id: str
    endpoint_id: str
    generation: int  # the reset generation it belongs to; older ones are dropped
    attempt: int = 1


class Dispatcher:
    def __init__(self, store: Store, scheduler: Scheduler, controls: Controls, stats: Stats) -> None:
        self._store = store
        self._scheduler = scheduler
        self._controls = controls
        self._stats = stats
        self._lock = threading.Lock()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=DELIVERY_LOG_SIZE)
        self._delivered: set[tuple[str, str]] = set()  # (event, endpoint) pairs that got a 2xx
        self._outbox: dict[str, collections.deque[Delivery]] = {}  # due deliveries by endpoint
        self._started: dict[str, int] = {}  # deliveries handed to a worker, by endpoint
        self._in_flight: dict[str, int] = {}  # deliveries being sent now, by endpoint
        self._generation = 0
        self._random = random.Random()

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._log.clear()
            self._delivered.clear()
            self._outbox.clear()
            self._started.clear()
            self._in_flight.clear()

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def deliver(self, event: dict[str, Any], endpoint_ids: list[str]) -> None:
        """Queue the event for each endpoint that subscribed to it when it happened."""
        faults = self._controls.faults
        copies = 2 if faults.duplicate else 1
        for endpoint_id in endpoint_ids:
            for _ in range(copies):
                delivery = Delivery(event["id"], endpoint_id, self._generation)
                delay = faults.delay + (self._random.uniform(0, SHUFFLE_WINDOW) if faults.shuffle else 0.0)
                if delay:
                    self._scheduler.call_later(delay, self._enqueue, delivery)
                else:
                    self._enqueue(delivery)

    def _enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            if delivery.generation != self._generation:
                return
            self._outbox.setdefault(delivery.endpoint_id, collections.deque()).append(delivery)
        self._pump(delivery.endpoint_id)

    def _pump(self, endpoint_id: str) -> None:
        # Up to `webhook_concurrency` deliveries per endpoint at once, started in the order
        # they became due: with 1, events arrive in the order they happened unless a fault
        # (shuffle, delay) or a retry reorders them; with more, as from Stripe, which sends
        # in parallel and promises no order. A duplicate is due with its original, so with
        # 2 or more the two copies overlap.
        limit = self._controls.settings.webhook_concurrency
        with self._lock:
            outbox = self._outbox.get(endpoint_id)
            while outbox and self._started.get(endpoint_id, 0) < limit:
                self._started[endpoint_id] = self._started.get(endpoint_id, 0) + 1
                self._scheduler.call_later(0, self._send, outbox.popleft())

    def _send(self, delivery: Delivery) -> None:
        endpoint_id = delivery.endpoint_id
        with self._lock:
            current = delivery.generation == self._generation
            if current:
                self._in_flight[endpoint_id] = in_flight = self._in_flight.get(endpoint_id, 0) + 1
        if not current:
            return
        self._stats.peak("webhooks_in_flight_peak", in_flight)
        try:
            self._attempt(delivery)
        finally:
            with self._lock:
                if delivery.generation == self._generation:
                    self._in_flight[endpoint_id] -= 1
                    self._started[endpoint_id] -= 1
            # Queued before this task ends, so wait_idle never sees a gap between deliveries.
            self._pump(endpoint_id)

    def _attempt(self, delivery: Delivery) -> None:
        with self._store.lock:  # copies: the stored dicts may change while this sends
            event = dict(self._store.find(delivery.event_id) or {})
            endpoint = dict(self._store.find(delivery.endpoint_id) or {})
            secret = self._store.endpoint_secrets.get(delivery.endpoint_id)
        if not event or not endpoint or secret is None:
            return  # deleted since: Stripe stops delivering to a deleted endpoint too
        record = {
            "event": event["id"],
            "type": event["type"],
            "endpoint": endpoint["id"],
            "url": endpoint["url"],
            "attempt": delivery.attempt,
            "status": None,
            "error": None,
            "at": time.time(),
        }
        started = time.monotonic()
        faults = self._controls.faults
        if delivery.attempt == 1 and self._random.random() < faults.drop_webhooks:
            record.update(error="dropped (drop_webhooks)", duration=0.0, outcome="dropped", will_retry=False)
            self._stats.count("webhooks_dropped")
            self._record(delivery, record)
            return
        self._stats.count("webhook_attempts")
        if delivery.attempt <= faults.fail_first:
            record["error"] = "injected failure (fail_first)"
        else:
            record["status"], record["error"] = self._post(endpoint, secret, event)
        record["duration"] = round(time.monotonic() - started, 4)
        succeeded = record["status"] is not None and 200 <= record["status"] < 300
        delays = self._controls.settings.webhook_retry_delays
        record["outcome"] = "succeeded" if succeeded else "failed"
        record["will_retry"] = not succeeded and delivery.attempt <= len(delays)
        if not self._record(delivery, record):
            return
        if succeeded:
            self._settled(event["id"], endpoint["id"])
        elif record["will_retry"]:
            delivery.attempt += 1
            self._scheduler.call_later(delays[delivery.attempt - 2], self._enqueue, delivery)

    def _record(self, delivery: Delivery, record: dict[str, Any]) -> bool:
        """Log the attempt; False if a reset happened meanwhile (the attempt is forgotten)."""
        with self._lock:
            if delivery.generation != self._generation:
                return False
            self._log.append(record)
            return True

    def _post(self, endpoint: dict[str, Any], secret: str, event: dict[str, Any]) -> tuple[int | None, str | None]:
        # An endpoint pinned to an API version gets events labelled with it, as Stripe renders them.
        body = {**event, "api_version": endpoint["api_version"] or event["api_version"]}
        payload = json.dumps(body, indent=2).encode()
        request = urllib.request.Request(
            endpoint["url"],
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": signature_header(secret, payload, int(time.time())),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._controls.settings.webhook_timeout) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
            return None, f"{type(exc).__name__}: {exc}"

    def _settled(self, event_id: str, endpoint_id: str) -> None:
        with self._lock:
            if (event_id, endpoint_id) in self._delivered:
                return  # a duplicate copy already counted
            self._delivered.add((event_id, endpoint_id))
        with self._store.lock:
            event = self._store.find(event_id)
            if event is not None:
                event["pending_webhooks"] = max(event["pending_webhooks"] - 1, 0)
