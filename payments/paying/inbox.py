"""The webhook inbox: every Stripe event stored once, then processed off the web request.

`webhook_receive` (the endpoint's service) verifies the signature, stores the event unique by
Stripe's id and queues `payments.webhook_process` after the commit, so Stripe hears 2xx in
milliseconds and a redelivered event costs one lookup. What an event means is decided in
webhooks.py, which takes a row for one attempt with `webhook_claim` and ends the attempt
here. Beat's `webhook_inbox_sweep` queues rows whose task was lost (the broker was down, a
worker died), and `webhook_events_recover` stores the events Stripe could not deliver.

A row is taken for an attempt by a conditional UPDATE rather than a lock held while it is
processed: the handlers call Stripe and lock orders, and no row lock may be held across a
Stripe call (bookstore/locks.py).
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from djstripe import models as djstripe_models

from bookstore.celery import queue_after_commit
from payments import gateway
from payments.models import WebhookMessage

logger = logging.getLogger(__name__)

State = WebhookMessage.State
# Longer than a task may run (CELERY_TASK_TIME_LIMIT): an attempt still marked as running
# after this was lost with its worker.
PROCESSING_LEASE = timedelta(minutes=5)
# The normal path queues a row at once; the sweep leaves it that long first.
SWEEP_AFTER = timedelta(minutes=1)
# Longer than the task's longest retry countdown (retry_backoff_max in payments/tasks.py): a
# row that failed an attempt this long ago and was never tried again lost its retry.
RETRY_LOST_AFTER = timedelta(minutes=15)
SWEEP_BATCH = 500
# Undelivered events read per reconcile run: a bound on its calls (100 events a page).
RECOVER_MAX_EVENTS = 500


def webhook_receive(
    *, endpoint: djstripe_models.WebhookEndpoint, payload: bytes, signature: str
) -> tuple[WebhookMessage, bool]:
    """Verify a delivery against its endpoint's secret and store its event once.

    Raises PaymentGatewayError for a forged, stale or malformed delivery (nothing is stored).
    Returns the row and whether it is new. No call to Stripe.
    """
    event = gateway.webhook_event_verify(
        payload=payload, signature=signature, secret=endpoint.secret, tolerance=endpoint.djstripe_tolerance
    )
    return webhook_store(event=event, endpoint=endpoint)


def webhook_store(*, event: dict[str, Any], endpoint: djstripe_models.WebhookEndpoint | None) -> tuple[WebhookMessage, bool]:
    """Store an event unless it is stored already, and queue its processing once committed."""
    stored = WebhookMessage.objects.filter(stripe_event_id=event["id"]).first()
    if stored is not None:
        return stored, False
    try:
        with transaction.atomic():
            message = WebhookMessage.objects.create(
                stripe_event_id=event["id"], type=event["type"], payload=event, endpoint=endpoint
            )
            queue_after_commit("payments.webhook_process", message_id=message.pk)
    except IntegrityError:
        # Two deliveries of one event at once: the other one stored it and queued it.
        return WebhookMessage.objects.get(stripe_event_id=event["id"]), False
    return message, True


def webhook_claim(*, message_id: int) -> WebhookMessage | None:
    """Take a row for one processing attempt; None if it is done or being processed elsewhere."""
    now = timezone.now()
    taken = (
        WebhookMessage.objects.filter(pk=message_id, state=State.RECEIVED)
        .filter(Q(processing_until__isnull=True) | Q(processing_until__lt=now))
        .update(processing_until=now + PROCESSING_LEASE, attempts=F("attempts") + 1, attempted_at=now)
    )
    return WebhookMessage.objects.get(pk=message_id) if taken else None


def webhook_done(*, message_id: int, handled: bool) -> None:
    """End an attempt that worked: processed, or ignored when the event is not about the shop."""
    WebhookMessage.objects.filter(pk=message_id).update(
        state=State.PROCESSED if handled else State.IGNORED,
        processed_at=timezone.now(),
        processing_until=None,
        last_error="",
    )


def webhook_attempt_failed(*, message_id: int, error: str) -> None:
    """End an attempt that raised; the task retries it later."""
    WebhookMessage.objects.filter(pk=message_id).update(processing_until=None, last_error=error)


def webhook_give_up(*, message_id: int, error: str) -> None:
    """Retries are used up: the row waits for staff ("Process again" in the admin)."""
    logger.error("Stripe event of inbox row %s failed for good: %s", message_id, error)
    WebhookMessage.objects.filter(pk=message_id, state=State.RECEIVED).update(
        state=State.FAILED, processing_until=None, last_error=error
    )


def webhook_requeue(*, message_ids: list[int]) -> int:
    """Process these rows again, whatever their state (the handlers are idempotent).

    Rows being processed right now are left to that attempt. Returns how many were queued.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookMessage.objects.filter(pk__in=message_ids)
            .filter(Q(processing_until__isnull=True) | Q(processing_until__lt=now))
            .values_list("pk", flat=True)
        )
        WebhookMessage.objects.filter(pk__in=ids).update(state=State.RECEIVED, processing_until=None)
        for message_id in ids:
            queue_after_commit("payments.webhook_process", message_id=message_id)
    return len(ids)


def webhook_inbox_sweep(*, now: datetime | None = None) -> list[int]:
    """Queue the rows still waiting whose task was lost; returns their ids."""
    now = now or timezone.now()
    lost = WebhookMessage.objects.filter(state=State.RECEIVED, received_at__lt=now - SWEEP_AFTER).filter(
        # Never tried: its message never reached the broker.
        Q(processing_until__isnull=True, attempted_at__isnull=True)
        # Its worker died in the middle of an attempt.
        | Q(processing_until__lt=now)
        # Failed once and never retried: the retry was lost with its worker or broker.
        | Q(processing_until__isnull=True, attempted_at__lt=now - RETRY_LOST_AFTER)
    )
    ids = list(lost.order_by("received_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for message_id in ids:
        queue_after_commit("payments.webhook_process", message_id=message_id)
    if ids:
        logger.warning("Queued %d Stripe events the inbox had not processed.", len(ids))
    return ids


def webhook_events_recover(*, limit: int = RECOVER_MAX_EVENTS) -> list[WebhookMessage]:
    """Store the events Stripe has not delivered to every endpoint (Stripe's documented recovery
    for missed webhooks), as if they had arrived; returns the rows that are new."""
    events = gateway.events_undelivered(types=list(settings.STRIPE_WEBHOOK_EVENTS), limit=limit)
    stored = [webhook_store(event=event.to_dict(), endpoint=None) for event in events]
    return [message for message, new in stored if new]
