"""Timed background work (webhook attempts, disputes, refunds settling) on a pool of threads.

Tests need to know when the emulator has nothing left to do, so the scheduler
counts both waiting and running tasks and lets a caller wait until both are zero.
The pool grows when every worker is busy (webhook deliveries in parallel to slow
endpoints hold a worker each), so a due task never waits for a free thread.
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
    def __init__(self, workers: int = 4, max_workers: int = 64) -> None:
        self._workers = workers
        self._max_workers = max_workers
        self._queue: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._order = itertools.count()  # keeps same-time tasks first-in first-out
        self._running = 0
        self._waited = 0  # queued tasks that wait_idle waits for
        self._waiting_workers = 0
        self._stopping = False
        lock = threading.Lock()
        # Two conditions on one lock: a new task wakes one worker, not every wait_idle caller too.
        self._wake = threading.Condition(lock)
        self._idle = threading.Condition(lock)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self._wake:
            self._stopping = False
            self._threads = []
            for _ in range(self._workers):
                self._spawn()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any, waited: bool = True) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + max(delay, 0.0), next(self._order), fn, args, waited))
            self._waited += waited
            self._wake.notify()

    def clear(self) -> None:
        """Drop the waiting tasks (running ones finish)."""
        with self._wake:
            self._queue.clear()
            self._waited = 0
            self._wake.notify_all()
            if not self._running:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no task waits or runs; False if that did not happen within `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._waited and not self._running, timeout)

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, name=f"stripe-emulator-worker-{len(self._threads)}",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            with self._wake:
                self._waiting_workers += 1
                while not self._stopping:
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    if wait is not None and wait <= 0:
                        break
                    self._wake.wait(wait)
                self._waiting_workers -= 1
                if self._stopping:
                    return
                _, _, fn, args, waited = heapq.heappop(self._queue)
                self._waited -= waited
                self._running += 1
                # Someone must keep watching the queue while this task runs.
                if not self._waiting_workers and len(self._threads) < self._max_workers:
                    self._spawn()
            try:
                fn(*args)
            except Exception:  # a failing task must not kill the worker
                log.exception("background task %s failed", getattr(fn, "__name__", fn))
            finally:
                with self._wake:
                    self._running -= 1
                    if not self._waited and not self._running:
                        self._idle.notify_all()
