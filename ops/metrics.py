"""`/metrics` in Prometheus' text format: the counters of bookstore/metrics.py, and the shop's
state read at scrape time.

The state comes from a few grouped COUNT queries and Redis LLENs per scrape (`ShopCollector`),
so it is right whichever process answers and needs no bookkeeping elsewhere. A part that
cannot be read (the database or Redis down) is left out of that scrape and logged; /readyz
says what is down.

With `PROMETHEUS_MULTIPROC_DIR` set, the counters are every process's, added up from that
folder (prometheus-client's multiprocess mode); otherwise they are this process's only.
"""

import logging
import os

import redis
from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from orders.models import Order
from payments.models import CreditNote, Payment, Receipt, Refund, WebhookMessage

logger = logging.getLogger(__name__)


def _celery_queues() -> list[str]:
    """Celery's default queue and every queue CELERY_TASK_ROUTES sends a task to."""
    return list(dict.fromkeys(["celery", *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())]))


def _grouped(queryset, *fields: str) -> list[tuple]:
    return [(*(str(row[field]) for field in fields), row["n"]) for row in queryset.values(*fields).annotate(n=Count("pk"))]


class ShopCollector:
    """The shop's state, read when Prometheus scrapes."""

    def collect(self):
        for part in (self._orders_and_payments, self._webhook_inbox, self._documents, self._celery_queues):
            try:
                yield from part()
            except Exception as exc:
                logger.warning("Metrics: %s could not be read: %s: %s", part.__name__.strip("_"), type(exc).__name__, exc)

    def _orders_and_payments(self):
        orders = GaugeMetricFamily("bookstore_orders", "Orders, by state.", labels=["state"])
        for state, count in _grouped(Order.objects.order_by(), "status"):
            orders.add_metric([state], count)
        yield orders
        payments = GaugeMetricFamily(
            "bookstore_payments",
            "Payments, by outcome (the PaymentIntent's status) and the last decline code ('' if none).",
            labels=["outcome", "decline_code"],
        )
        for outcome, decline_code, count in _grouped(Payment.objects.order_by(), "status", "last_decline_code"):
            payments.add_metric([outcome, decline_code], count)
        yield payments
        refunds = GaugeMetricFamily("bookstore_refunds", "Refunds, by state.", labels=["state"])
        for state, count in _grouped(Refund.objects.order_by(), "status"):
            refunds.add_metric([state], count)
        yield refunds

    def _webhook_inbox(self):
        events = GaugeMetricFamily(
            "bookstore_webhook_events",
            "Stripe events in the webhook inbox, by state: received (waiting), processed, ignored, failed.",
            labels=["state"],
        )
        for state, count in _grouped(WebhookMessage.objects.order_by(), "state"):
            events.add_metric([state], count)
        yield events
        oldest = WebhookMessage.objects.filter(state=WebhookMessage.State.RECEIVED).aggregate(oldest=Min("received_at"))["oldest"]
        yield GaugeMetricFamily(
            "bookstore_webhook_inbox_lag_seconds",
            "Age of the oldest Stripe event still waiting to be processed (0 when none waits).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )

    def _documents(self):
        receipts = Receipt.objects.aggregate(
            failed=Count("pk", filter=Q(failed_at__isnull=False)), unrendered=Count("pk", filter=Q(rendered_at__isnull=True))
        )
        credit_notes = CreditNote.objects.aggregate(unrendered=Count("pk", filter=Q(rendered_at__isnull=True)))
        failed = GaugeMetricFamily(
            "bookstore_receipts_failed", "Receipts whose delivery failed for good and waits for staff (Retry in the admin)."
        )
        failed.add_metric([], receipts["failed"])
        yield failed
        unrendered = GaugeMetricFamily("bookstore_documents_unrendered", "Documents issued without a PDF yet.", labels=["document"])
        unrendered.add_metric(["receipt"], receipts["unrendered"])
        unrendered.add_metric(["credit_note"], credit_notes["unrendered"])
        yield unrendered

    def _celery_queues(self):
        if not settings.CELERY_BROKER_URL.startswith("redis"):
            return
        depth = GaugeMetricFamily("bookstore_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"])
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
        try:
            # Kombu's Redis transport keeps each queue as a list named after it.
            for queue in _celery_queues():
                depth.add_metric([queue], client.llen(queue))
        finally:
            client.close()
        yield depth


class _ThisProcess:
    """The default registry's metrics: this process's counters, and its own CPU and memory."""

    def collect(self):
        return REGISTRY.collect()


def metrics_page() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(ShopCollector())
    return generate_latest(registry)
