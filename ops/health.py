"""Readiness: can this process serve the shop? Each part answers ok, or failed with a short reason.

The reasons are fixed words, never an exception's text (which names hosts, ports and
versions): the answer is safe to expose to a load balancer and anyone who asks it. The full
error goes to the log, with the probe's correlation id.

`database`, `migrations`, `cache` and `broker` are required: without any of them orders
cannot be placed or paid, so the answer is 503 and a load balancer sends shoppers elsewhere.
`stripe` is reported but not required: when Stripe is down every machine is equally cut off,
and taking them all out of the load balancer would close the catalogue too; its answer is
kept for STRIPE_CHECK_SECONDS, so probes never spend Stripe's rate budget.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bookstore.celery import app as celery_app
from payments import gateway

logger = logging.getLogger(__name__)

STRIPE_CHECK_SECONDS = 30
STRIPE_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Part:
    name: str
    ok: bool
    reason: str = ""

    def as_json(self) -> dict[str, str]:
        return {"status": "ok"} if self.ok else {"status": "failed", "reason": self.reason}


class NotReady(Exception):
    """A part failed for the reason given (safe to show)."""


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


# Once every migration is applied it stays so for this process's life: code (and so the
# migration files) only change with a new process.
_migrations_applied = False


def _migrations() -> None:
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise NotReady(f"{len(pending)} not applied")
    _migrations_applied = True


def _cache() -> None:
    token = str(time.monotonic_ns())
    cache.set("ops:readyz", token, timeout=10)
    if cache.get("ops:readyz") != token:
        raise NotReady("did not keep a value")


def _broker() -> None:
    with celery_app.connection_for_read() as broker:
        broker.ensure_connection(max_retries=0, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)


_stripe_answer: tuple[float, str] | None = None
_stripe_lock = threading.Lock()


def _stripe() -> None:
    global _stripe_answer
    with _stripe_lock:
        if _stripe_answer is None or time.monotonic() - _stripe_answer[0] > STRIPE_CHECK_SECONDS:
            try:
                gateway.stripe_reachable(timeout=STRIPE_TIMEOUT_SECONDS)
                failure = ""
            except gateway.PaymentGatewayError as exc:
                logger.warning("Readiness: Stripe did not answer well: %s", exc.__cause__ or exc)
                failure = "refused the API key" if exc.code == "provider_misconfigured" else "unreachable"
            _stripe_answer = (time.monotonic(), failure)
        failure = _stripe_answer[1]
    if failure:
        raise NotReady(failure)


REQUIRED: dict[str, Callable[[], None]] = {
    "database": _database,
    "migrations": _migrations,
    "cache": _cache,
    "broker": _broker,
}
OPTIONAL: dict[str, Callable[[], None]] = {"stripe": _stripe}


def _part(name: str, check: Callable[[], None]) -> Part:
    try:
        check()
    except NotReady as exc:
        return Part(name, False, str(exc))
    except Exception as exc:
        logger.warning("Readiness: %s failed: %s: %s", name, type(exc).__name__, exc)
        return Part(name, False, "unreachable")
    return Part(name, True)


def readiness() -> tuple[bool, list[Part]]:
    """Whether every required part is ok, and every part's answer."""
    required = [_part(name, check) for name, check in REQUIRED.items()]
    optional = [_part(name, check) for name, check in OPTIONAL.items()]
    return all(part.ok for part in required), required + optional
