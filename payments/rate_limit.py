"""One request rate for everything the shop sends to Stripe, however many processes send it.

Stripe counts requests per account and mode (100/s live, 25/s test) across the shop's web
workers, Celery workers and beat together, so a limit kept in one process lets N processes
send N times the rate. With Redis (`REDIS_URL`) the bucket lives there; without it (one
process: development, some tests) the same arithmetic runs in memory.

The algorithm is GCRA, a token bucket kept as one timestamp (the "theoretical arrival time"):
a request reserves the next free slot and learns how long to wait for it, so callers sleep
once, in the order they asked, instead of polling; in any window of W seconds at most
`rate * W + burst` requests start. In Redis that is one key and one EVALSHA per request, on
Redis's clock, so the workers' clocks need not agree. We keep these few lines rather than
take pyrate-limiter (a sorted-set log per window, client clocks, waiting by retrying) or
`limits` (no waiting, and a new dependency) for the same job.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

import redis

logger = logging.getLogger(__name__)

# Seconds; Redis answers in well under a millisecond on its own network.
REDIS_TIMEOUT = 0.5

# KEYS[1]: the bucket. ARGV: microseconds between requests, microseconds of burst
# tolerance, the longest wait (microseconds) the caller accepts. Returns the wait in
# microseconds, or -1 (nothing reserved) when it would be longer than the caller accepts.
# Numbers are written with %.0f: Redis would turn a 16-digit Lua number into "1.7e+15".
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local wait = math.max(tat - tonumber(ARGV[2]) - now, 0)
if wait > tonumber(ARGV[3]) then
    return -1
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return wait
"""


class LocalBucket:
    """GCRA for the threads of one process."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self.interval = 1 / rate
        self.tolerance = (burst - 1) * self.interval
        self._tat = 0.0
        self._lock = threading.Lock()

    def reserve(self, *, max_wait: float) -> float | None:
        with self._lock:
            now = time.monotonic()
            tat = max(self._tat, now)
            wait = max(tat - self.tolerance - now, 0.0)
            if wait > max_wait:
                return None
            self._tat = tat + self.interval
            return wait


class RedisBucket:
    """GCRA shared by every process that reaches this Redis."""

    def __init__(self, *, url: str, key: str, rate: float, burst: int) -> None:
        self.key = key
        self.interval_us = round(1_000_000 / rate)
        self.tolerance_us = (burst - 1) * self.interval_us
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        self._script = client.register_script(GCRA_SCRIPT)
        # Redis down must not stop payments: each process then keeps its own share of
        # the rate, which is what it would have without Redis.
        self._fallback = LocalBucket(rate=rate, burst=burst)

    def reserve(self, *, max_wait: float) -> float | None:
        try:
            wait_us = self._script(
                keys=[self.key], args=[self.interval_us, self.tolerance_us, round(max_wait * 1_000_000)]
            )
        except redis.RedisError as exc:
            logger.warning("Stripe rate limiter: Redis unavailable (%s); limiting this process alone", exc)
            return self._fallback.reserve(max_wait=max_wait)
        return None if wait_us < 0 else wait_us / 1_000_000


@functools.lru_cache(maxsize=8)
def bucket(*, redis_url: str, key: str, rate: float, burst: int) -> LocalBucket | RedisBucket:
    if redis_url:
        return RedisBucket(url=redis_url, key=key, rate=rate, burst=burst)
    return LocalBucket(rate=rate, burst=burst)


def acquire(*, redis_url: str, key: str, rate: float, max_wait: float) -> bool:
    """Wait for a slot under `rate` requests per second; False, at once, if it is more than `max_wait` away."""
    # A fifth of a second's worth may go at once: with the rate at 80% of Stripe's limit,
    # no one second then sees more than 96% of it.
    burst = max(1, int(rate // 5))
    wait = bucket(redis_url=redis_url, key=key, rate=rate, burst=burst).reserve(max_wait=max_wait)
    if wait is None:
        return False
    if wait:
        time.sleep(wait)
    return True
