"""Stripe's webhook endpoint: verify, store once, answer 2xx. Processing is a Celery task.

At the path dj-stripe's view had (`stripe/webhook/<uuid>/`), so endpoints registered at
Stripe keep working; the uuid names dj-stripe's `WebhookEndpoint` row, whose secret and
tolerance check the signature. The answer never waits on Stripe or on our handlers.
"""

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from djstripe import models as djstripe_models

from payments.gateway import PaymentGatewayError
from payments.paying.inbox import webhook_receive

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs its requests instead.
@login_not_required
@transaction.non_atomic_requests  # the row is committed before the task is queued, in webhook_store
@require_POST
def stripe_webhook(request: HttpRequest, uuid) -> HttpResponse:
    endpoint = get_object_or_404(djstripe_models.WebhookEndpoint, djstripe_uuid=uuid)
    try:
        message, new = webhook_receive(
            endpoint=endpoint, payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except PaymentGatewayError as exc:
        logger.warning("Refused a webhook delivery to endpoint %s: %s", endpoint.id, exc)
        return HttpResponseBadRequest(exc.message, content_type="text/plain")
    return JsonResponse({"event": message.stripe_event_id, "state": message.state, "duplicate": not new})
