"""Timed background work (webhook attempts, disputes, refunds settling) on a few threads.

Tests need to know when the emulator has nothing left to do, so the scheduler
counts both waiting and running tasks and lets a caller wait until both are zero.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable

log = logging.getLogger("stripe_emulator")


class Scheduler:
    def __init__(self, workers: int = 4) -> None:
        self._workers = workers
        self._queue: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._order = itertools.count()  # keeps same-time tasks first-in first-out
        self._running = 0
        self._stopping = False
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"stripe-emulator-worker-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic() + max(delay, 0.0), next(self._order), fn, args))
            self._cond.notify()

    def clear(self) -> None:
        """Drop the waiting tasks (running ones finish)."""
        with self._cond:
            self._queue.clear()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no task waits or runs; False if that did not happen within `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._running, timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopping:
                    return
                _, _, fn, args = heapq.heappop(self._queue)
                self._running += 1
            try:
                fn(*args)
            except Exception:  # a failing task must not kill the worker
                log.exception("background task %s failed", getattr(fn, "__name__", fn))
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()
