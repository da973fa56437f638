"""Health, readiness and metrics: for load balancers and Prometheus, not for shoppers.

None of these needs a session, a CSRF token or the shop's throttles, and /healthz and
/readyz need no sign-in; `SECURE_REDIRECT_EXEMPT` lets a probe use plain HTTP behind the
load balancer. /metrics answers staff signed in, or `Authorization: Bearer <METRICS_TOKEN>`;
anyone else gets 404, as if it were not there.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from ops.health import readiness
from ops.metrics import metrics_page


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Nothing else is asked, so a restart cannot cure what this sees."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    ready, parts = readiness()
    status = "ok" if all(part.ok for part in parts) else ("degraded" if ready else "unavailable")
    response = JsonResponse(
        {"status": status, "checks": {part.name: part.as_json() for part in parts}}, status=200 if ready else 503
    )
    # ops.health has logged each failed part once at WARNING. Django would log every 503 probe at
    # ERROR too (django.utils.log.log_response's own marker), a Sentry event every few seconds
    # from each load balancer for as long as an outage lasts.
    response._has_been_logged = True
    return response


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and constant_time_compare(offered.strip(), token):
        return True
    return request.user.is_active and request.user.is_staff


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        raise Http404
    return HttpResponse(metrics_page(), content_type=CONTENT_TYPE_LATEST)
