"""`Emulator`: the emulator as an object a test or a command starts and stops."""

from __future__ import annotations

import threading
from typing import Any

from .backend import Backend
from .server import EmulatorHTTPServer


class Emulator:
    """The Stripe emulator on `host:port` (port 0 picks a free one), serving from background threads.

    The methods below do what the `/_emulator/...` routes do, for tests in the same process.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_file: str | None = None, *,
                 settings: dict[str, Any] | None = None, faults: dict[str, Any] | None = None) -> None:
        """`settings` and `faults` (as for configure and set_faults) are where it starts and what reset restores."""
        self.host = host
        self.port = port
        self.backend = Backend(state_file, settings, faults)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        """Start serving; returns once the socket listens (so `url` is usable at once)."""
        self._server = EmulatorHTTPServer((self.host, self.port), self.backend)
        self.port = self._server.server_address[1]
        self.backend.start()
        # A short poll interval makes stop() quick (it waits for the next poll).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stripe-emulator-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self.backend.stop()
        self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (for `python -m stripe_emulator`)."""
        assert self._thread is not None, "start() first"
        self._thread.join()

    # --- controls (the same as the /_emulator routes) ----------------------------

    def reset(self) -> None:
        """Drop every object, event, endpoint, pending delivery, fault and setting."""
        self.backend.reset()

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change webhook and API faults (others stay): duplicate, shuffle, delay, fail_first, drop_webhooks,
        api=[...], server_errors, server_error_rate, server_error_should_retry."""
        return self.backend.controls.update_faults(faults)

    def clear_faults(self) -> dict[str, Any]:
        return self.backend.controls.clear_faults()

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change timings and behaviours: webhook_retry_delays, webhook_timeout, dispute_after,
        refund_settle_after, refunds ("card" | "pending_succeeded" | "pending_failed"), processing_for,
        latency_ms ([low, high] or "low-high"), rate_limit (per second per key, or None), webhook_concurrency."""
        return self.backend.controls.update_settings(settings)

    def stats(self) -> dict[str, int]:
        """Counters since the last reset: api_requests, rate_limited (429s), idempotency_key_in_use (409s),
        server_errors, idempotent_replays, webhook_attempts, webhooks_dropped, webhooks_in_flight_peak."""
        return self.backend.stats.snapshot()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook attempt so far, oldest first: event, type, endpoint, url, attempt, status, outcome..."""
        return self.backend.dispatcher.deliveries()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no webhook or delayed change (dispute, refund settling) is pending; False on timeout."""
        return self.backend.scheduler.wait_idle(timeout)
