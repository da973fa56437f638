"""What every log line carries: the correlation id of the work it belongs to, and the order.

A correlation id names one chain of work: a web request (ops.middleware sets it from a sane
incoming `X-Request-ID`, or makes one), every Celery task that chain queues (bookstore/celery.py
carries it in the task's message headers), and what those tasks queue in turn. A webhook's
processing takes the id of the delivery that stored it, or the Stripe event's id when a sweep
or staff queued it (payments/paying/webhooks.py). The order number is bound wherever the work
learns which order it is about (an order URL, a webhook's payment, a task queued for it), so
one order's story is `order=<number>` across web, webhook and worker lines, and each step of
it one correlation id.

Context variables, not thread-locals: each request, task and thread-pool worker has its own.
Here in the project package, because payments (which may not import ops) binds them too.
"""

import logging
import re
import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")
order_number: ContextVar[str] = ContextVar("order_number", default="")

# An incoming X-Request-ID is kept only if it looks like an id (a proxy's or load balancer's);
# anything else (too long, spaces, control characters) could forge or break log lines.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def sane_correlation_id(candidate: str | None) -> str:
    """`candidate` if it is safe to log and echo back, else a new id."""
    return candidate if candidate and _SANE_ID.match(candidate) else new_correlation_id()


def bind_order(number: str | None) -> None:
    """Name the order the current work is about, from here to the end of the request or task."""
    if number:
        order_number.set(str(number))


class ContextFilter(logging.Filter):
    """Adds `correlation_id` and `order` to every record, for the formatters (settings.LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        record.order = order_number.get()
        return True
