"""The shop's own Prometheus metrics that count as things happen (prometheus-client objects).

Counted where the work is done (the gateway's HTTP client, the PDF renderer) and exposed by
ops at `/metrics` (ops/metrics.py), with the figures read from the database at scrape time.
Here in the project package so that payments can count without importing ops.

Gunicorn and Celery run several processes: with `PROMETHEUS_MULTIPROC_DIR` set (an empty
folder, emptied at each deploy) prometheus-client keeps these values in files there and
`/metrics` adds up every process's; without it each process counts on its own.
"""

import contextlib
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from prometheus_client import Counter, Histogram

STRIPE_REQUESTS = Counter(
    "bookstore_stripe_requests",
    "HTTP requests to Stripe (each attempt, 429s and retries included), by endpoint and answer "
    "(the HTTP status, or 'error' when no answer came).",
    ["method", "endpoint", "status"],
)
STRIPE_REQUEST_SECONDS = Histogram(
    "bookstore_stripe_request_seconds",
    "Time of one HTTP request to Stripe, by endpoint.",
    ["method", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20),
)
STRIPE_LIMITER_REFUSED = Counter(
    "bookstore_stripe_limiter_refused",
    "Stripe calls the shop's own rate limiter refused (no slot in time): the shopper was asked to retry.",
)
DOCUMENTS_RENDERED = Counter(
    "bookstore_documents_rendered", "PDF renders, by document (receipt, credit_note) and outcome.", ["document", "outcome"]
)
DOCUMENT_RENDER_SECONDS = Histogram(
    "bookstore_document_render_seconds",
    "Time to render one PDF, by document.",
    ["document"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)

# Stripe object ids in a path become {id}: one series per endpoint, not one per object. Paths
# are /v1/<things>/<id>/<action or things>/<id>: an id is a segment in an id's place that looks
# like one (prefix_random), or any segment with a digit or a capital (`v1` aside).
_ID = re.compile(r"^[a-z]+_[A-Za-z0-9_]+$")
_ID_ANYWHERE = re.compile(r"[0-9A-Z]")


def stripe_endpoint(path: str) -> str:
    segments = path.split("/")
    return "/".join(
        "{id}" if index > 1 and ((index % 2 == 1 and _ID.match(segment)) or _ID_ANYWHERE.search(segment)) else segment
        for index, segment in enumerate(segments)
    )


@contextlib.contextmanager
def stripe_request_observed(*, method: str, url: str) -> Iterator[dict]:
    """Time and count one HTTP request to Stripe; the caller puts the answer's status in the dict."""
    answer: dict = {"status": "error"}
    endpoint = stripe_endpoint(urlsplit(url).path)
    started = time.perf_counter()
    try:
        yield answer
    finally:
        STRIPE_REQUEST_SECONDS.labels(method.upper(), endpoint).observe(time.perf_counter() - started)
        STRIPE_REQUESTS.labels(method.upper(), endpoint, str(answer["status"])).inc()


@contextlib.contextmanager
def document_render_observed(document: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        DOCUMENTS_RENDERED.labels(document, "failed").inc()
        raise
    DOCUMENT_RENDER_SECONDS.labels(document).observe(time.perf_counter() - started)
    DOCUMENTS_RENDERED.labels(document, "rendered").inc()
