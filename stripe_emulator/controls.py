"""Switches that tests and demos flip through `/_emulator/...`: injected faults and timings.

Faults make the emulator misbehave the ways Stripe can (late, repeated, reordered
or failing webhooks; 500s, 429s and slow answers from the API) so the shop's
handling of each can be tested. Settings tune timings so tests run fast.
"""

from __future__ import annotations

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
    api: list[ApiFault] = field(default_factory=list)


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


SHUFFLE_WINDOW = 0.3


class Controls:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.faults = Faults()
            self.settings = Settings()

    def update_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if "api" in changes:
                try:
                    changes = {**changes, "api": [ApiFault(**item) for item in changes["api"]]}
                except TypeError as exc:
                    raise ControlError(f"bad api fault: {exc}") from None
            self.faults = _merged(self.faults, changes)
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
            if changes.get("refunds", "card") not in REFUND_MODES:
                raise ControlError(f"refunds must be one of {', '.join(REFUND_MODES)}")
            self.settings = _merged(self.settings, changes)
            return asdict(self.settings)

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


def _merged(current: Any, changes: dict[str, Any]) -> Any:
    known = {f.name for f in fields(current)}
    unknown = set(changes) - known
    if unknown:
        raise ControlError(f"unknown names: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return type(current)(**{**{name: getattr(current, name) for name in known}, **changes})
