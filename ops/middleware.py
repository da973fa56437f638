"""One correlation id per web request, in every log line it writes and in its answer's header.

First in MIDDLEWARE, so every other middleware's lines carry it too. The id is the incoming
`X-Request-ID` when it looks like one (a proxy or load balancer made it, so its logs and ours
match), else a new one; the answer says which in `X-Request-ID`. A view with an order in its
URL (`<number>`) names the order for its lines. One line per request at the end, with the
status and time, ties the id to the path; probes of the health and metrics URLs write none.
"""

import logging
import time

from django.http import HttpRequest, HttpResponse

from bookstore import logs

logger = logging.getLogger("ops.requests")

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class CorrelationIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation = logs.sane_correlation_id(request.headers.get("X-Request-ID"))
        # Set, not reset at the end: Django logs a 4xx or 5xx answer ("Not Found: ...") after
        # the middleware has returned, and that line belongs to this request too. The next
        # request on this thread sets both again.
        logs.correlation_id.set(correlation)
        logs.order_number.set("")
        started = time.perf_counter()
        response = self.get_response(request)
        if request.path not in QUIET_PATHS:
            milliseconds = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %s %.0f ms",
                request.method,
                request.path,
                response.status_code,
                milliseconds,
                extra={"status": response.status_code, "duration_ms": round(milliseconds, 1)},
            )
        response["X-Request-ID"] = correlation
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        logs.bind_order(view_kwargs.get("number"))
