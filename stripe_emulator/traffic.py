"""Stripe under load: the per-key rate limit, and counters a test or bench reads (`/_emulator/stats`)."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

RATE_WINDOW = 1.0  # seconds: the limit is requests per second

# Every counter, so the stats always show the same names (0 until something happens).
COUNTERS = (
    "api_requests",  # every /v1 request, the refused ones included
    "rate_limited",  # answered 429 by the rate limit (not by an `api` fault)
    "idempotency_key_in_use",  # answered 409: the same key was still being processed
    "server_errors",  # answered 500 by the `server_errors` / `server_error_rate` faults
    "idempotent_replays",  # answered from a kept Idempotency-Key
    "webhook_attempts",  # deliveries sent (or failed by `fail_first`)
    "webhooks_dropped",  # deliveries lost to `drop_webhooks`
)
PEAKS = ("webhooks_in_flight_peak",)  # most deliveries in flight at once to one endpoint


class RateLimiter:
    """A sliding window per API key: at most `limit` requests admitted in any RATE_WINDOW seconds.

    Refused requests do not count against the window, so a client that backs off gets
    through again as soon as the window has room.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._admitted: dict[str, collections.deque[float]] = {}

    def clear(self) -> None:
        with self._lock:
            self._admitted.clear()

    def admit(self, api_key: str, limit: int | None) -> bool:
        if limit is None:
            return True
        now = time.monotonic()
        with self._lock:
            window = self._admitted.setdefault(api_key, collections.deque())
            while window and window[0] <= now - RATE_WINDOW:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._values: dict[str, int] = dict.fromkeys(COUNTERS + PEAKS, 0)

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def peak(self, name: str, value: int) -> None:
        with self._lock:
            self._values[name] = max(self._values[name], value)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)
