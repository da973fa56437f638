"""What the bench scripts share: their environment and a page measurement.

A script puts the repository on sys.path, then calls `bench_environment` before it
imports Django or the shop.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
import warnings
from urllib.parse import urlsplit

BENCH_SECRET_KEY = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


def bench_environment(*, database: str, allowed_hosts: str = "testserver", **extra: str) -> dict[str, str]:
    """Production-like settings on loopback, with its own database (BENCH_DATABASE_URL overrides
    `postgres://postgres@127.0.0.1:5432/<database>`); returns what it set, for subprocesses."""
    env = {
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}"),
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "DJANGO_SECRET_KEY": BENCH_SECRET_KEY,
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "false",
        "DJANGO_ALLOWED_HOSTS": allowed_hosts,
        "LOG_LEVEL": "WARNING",
        # A load test on loopback, not a deployment: no broker (below), so the web process's
        # start-up checks (ops.E006) would refuse to serve.
        "DJANGO_CHECK_AT_START": "false",
        **extra,
    }
    os.environ.update(env)
    # Without Redis the cache is per process and Celery publishes to a folder: no server needed.
    os.environ.pop("REDIS_URL", None)
    # WhiteNoise's note about a missing STATIC_ROOT is noise here.
    warnings.filterwarnings("ignore", message="No directory at")
    return env


def python_yardstick_ms(repeats: int = 5) -> float:
    """Median milliseconds of a fixed pure-Python workload (ten million additions in a loop).

    The machines benches run on differ in speed from one day to the next (on 2026-11-30 a receipt
    took 2.5 times the milliseconds measured on the session before's machine, unchanged code);
    printed beside a bench's figures, it lets figures from two machines be compared.
    """
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for number in range(10_000_000):
            total += number
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(client, url: str, *, method: str = "GET", data: dict | None = None, requests: int = 20) -> tuple[int, float]:
    """Queries of one request through Django's test client, and the median milliseconds of `requests` more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = client.get if method == "GET" else client.post
    with CaptureQueriesContext(connection) as captured:
        response = send(url, data or {})
    # Counted now: every later request empties the connection's query log, and the capture with it.
    queries = len(captured)
    if response.status_code != 200:
        sys.exit(f"{method} {url} answered {response.status_code}")
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        send(url, data or {})
        timings.append((time.perf_counter() - started) * 1000)
    return queries, statistics.median(timings)


def recreate_database() -> None:
    """Drop and create the bench's own database (DATABASE_URL as `bench_environment` set it)."""
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    if not name.endswith("_bench"):
        sys.exit(f"Refusing to drop {name!r}: the bench database's name must end in _bench.")
    with psycopg.connect(
        host=url.hostname, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres", autocommit=True
    ) as admin:
        # FORCE: a worker or server left over from an interrupted run must not keep it alive.
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` (0.95 for p95) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextlib.contextmanager
def emulated_shop():
    """A throwaway test database and an in-process emulator the shop's settings point at, for
    benches that drive the shop in this process; yields the emulator and a secret-key client of it.
    Call after django.setup()."""
    import stripe
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from stripe_emulator import Emulator

    setup_test_environment()
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    emulator = Emulator(host="127.0.0.1", port=0).start()
    try:
        settings.STRIPE_API_BASE = emulator.url
        settings.STRIPE_EMULATOR_URL = emulator.url
        settings.STRIPE_JS_URL = f"{emulator.url}/v3/"
        # The manifest storage needs `collectstatic`; pages are served from the finders.
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        stripe.api_base = emulator.url
        yield emulator, stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": emulator.url})
    finally:
        emulator.stop()
        connection.creation.destroy_test_db(original_name, verbosity=0)
