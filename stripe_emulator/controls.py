"""Switches that tests and demos flip through `/_emulator/...`: injected faults and timings.

Faults make the emulator misbehave the ways Stripe can (late, repeated, reordered
or failing webhooks; 500s, 429s and slow answers from the API) so the shop's
handling of each can be tested. Settings tune timings so tests run fast.
"""

from __future__ import annotations

import copy
import random
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

REFUND_MODES = ("card", "pending_succeeded", "pending_failed")


class ControlError(ValueError):
    pass


@dataclass
class ApiFault:
    """Answer requests whose path starts with `path` with `status`, or `slow` seconds late, `times` times."""

    path: str
    status: int | None = None
    slow: float = 0.0
    times: int | None = None  # None: until cleared
    method: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (None, 429, 500, 502, 503):
            raise ControlError("api fault status must be 429, 500, 502 or 503")
        if self.status is None and not self.slow:
            raise ControlError("an api fault needs a status or slow seconds")


@dataclass
class Faults:
    duplicate: bool = False  # deliver every event twice
    shuffle: bool = False  # deliver in a random order (each first attempt held back up to SHUFFLE_WINDOW)
    delay: float = 0.0  # seconds before the first attempt of each delivery
    fail_first: int = 0  # fail this many attempts of each delivery before really sending
    drop_webhooks: float = 0.0  # this share of deliveries is lost: never sent, never retried (1: webhooks off)
    api: list[ApiFault] = field(default_factory=list)
    # Stripe's own 500s: the request does not run, and the 500 is kept under its Idempotency-Key.
    server_errors: int = 0  # the next N API requests
    server_error_rate: float = 0.0  # then each API request with this probability
    server_error_should_retry: bool = False  # their Stripe-Should-Retry header


@dataclass
class Settings:
    # Pauses between webhook attempts: one more attempt than pauses. Stripe's are hours
    # apart; these keep a test's retries within seconds.
    webhook_retry_delays: list[float] = field(default_factory=lambda: [0.2, 0.5, 1.0, 2.0, 4.0])
    webhook_timeout: float = 10.0
    # Seconds after a payment with 4000000000000259 before its dispute opens.
    dispute_after: float = 0.2
    # Seconds a refund stays pending when it is to settle later.
    refund_settle_after: float = 0.2
    # "card": refunds behave as the charged test card says (succeeded at once unless
    # 4000000000007726 / 4000000000005126); the others force every refund pending,
    # then succeeded or failed.
    refunds: str = "card"
    # When set, card payments go through `processing` for this many seconds before
    # succeeding, so the shop's "payment processing" path can be seen.
    processing_for: float | None = None
    # Seconds a SEPA Direct Debit stays `processing` before it settles or is returned (Stripe:
    # some five business days); the `*Delayed` test IBANs take the second (Stripe: 3 minutes).
    debit_settle_after: float = 0.5
    debit_settle_delayed_after: float = 180.0
    # Milliseconds each API request takes, uniformly random in [low, high]; Stripe's
    # are some 150-400 ms, which is what makes overlapping requests happen.
    latency_ms: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # API requests per second per API key (any 1 s window); None: unlimited.
    rate_limit: int | None = None
    # Deliveries in flight at once per endpoint. 1 keeps the order events happened in
    # (deterministic tests); Stripe sends in parallel.
    webhook_concurrency: int = 1


SHUFFLE_WINDOW = 0.3
LATENCY_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$")


class Controls:
    """The current faults and settings; `settings` and `faults` given here are what reset returns to."""

    def __init__(self, settings: dict[str, Any] | None = None, faults: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()
        self._initial_settings = _checked_settings(Settings(), settings or {})
        self._initial_faults = _checked_faults(Faults(), faults or {})
        self.reset()

    def reset(self) -> None:
        with self._lock:
            # Copies: api faults count their `times` down in place.
            self.faults = copy.deepcopy(self._initial_faults)
            self.settings = copy.deepcopy(self._initial_settings)

    def update_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.faults = _checked_faults(self.faults, changes)
            return asdict(self.faults)

    def faults_dict(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.faults)

    def settings_dict(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.settings)

    def clear_faults(self) -> dict[str, Any]:
        with self._lock:
            self.faults = Faults()
            return asdict(self.faults)

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.settings = _checked_settings(self.settings, changes)
            return asdict(self.settings)

    def api_latency(self) -> float:
        """Seconds the next API request is to take."""
        low, high = self.settings.latency_ms
        return self._random.uniform(low, high) / 1000 if high else 0.0

    def take_server_error(self) -> bool:
        """Whether this API request is to fail with Stripe's 500, counting it against `server_errors`."""
        with self._lock:
            if self.faults.server_errors:
                self.faults.server_errors -= 1
                return True
            return self._random.random() < self.faults.server_error_rate

    def take_api_fault(self, method: str, path: str) -> ApiFault | None:
        """The fault that applies to this request, counting it against the fault's `times`."""
        with self._lock:
            for fault in self.faults.api:
                if path.startswith(fault.path) and fault.method in (None, method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.api.remove(fault)
                    return fault
            return None


def parse_latency(value: Any) -> list[float]:
    """`150-400`, `"150-400"`, `[150, 400]` or `200` (fixed) as [low, high] milliseconds."""
    if isinstance(value, str):
        match = LATENCY_RANGE.match(value)
        if not match:
            raise ControlError(f"latency must look like 150-400 (milliseconds), not {value!r}")
        low, high = match.group(1), match.group(2) or match.group(1)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        low = high = value
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = value
    else:
        raise ControlError("latency_ms must be [low, high] milliseconds, one number, or \"low-high\"")
    try:
        bounds = [float(low), float(high)]
    except (TypeError, ValueError):
        raise ControlError("latency_ms bounds must be numbers") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise ControlError("latency_ms needs 0 <= low <= high")
    return bounds


def _checked_settings(current: Settings, changes: dict[str, Any]) -> Settings:
    changes = dict(changes)
    if changes.get("refunds", "card") not in REFUND_MODES:
        raise ControlError(f"refunds must be one of {', '.join(REFUND_MODES)}")
    if "latency_ms" in changes:
        changes["latency_ms"] = parse_latency(changes["latency_ms"])
    if changes.get("rate_limit") is not None and not _whole(changes["rate_limit"], minimum=1):
        raise ControlError("rate_limit must be a whole number of requests per second (>= 1), or null")
    if "webhook_concurrency" in changes and not _whole(changes["webhook_concurrency"], minimum=1):
        raise ControlError("webhook_concurrency must be a whole number >= 1")
    return _merged(current, changes)


def _checked_faults(current: Faults, changes: dict[str, Any]) -> Faults:
    changes = dict(changes)
    if "api" in changes:
        try:
            changes["api"] = [ApiFault(**item) for item in changes["api"]]
        except TypeError as exc:
            raise ControlError(f"bad api fault: {exc}") from None
    for name in ("drop_webhooks", "server_error_rate"):
        value = changes.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ControlError(f"{name} must be a share between 0 and 1")
    if "server_errors" in changes and not _whole(changes["server_errors"], minimum=0):
        raise ControlError("server_errors must be a whole number >= 0")
    return _merged(current, changes)


def _whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _merged(current: Any, changes: dict[str, Any]) -> Any:
    known = {f.name for f in fields(current)}
    unknown = set(changes) - known
    if unknown:
        raise ControlError(f"unknown names: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return type(current)(**{**{name: getattr(current, name) for name in known}, **changes})
