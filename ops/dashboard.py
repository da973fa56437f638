"""What the staff dashboard shows (the admin's first page): the shop's last 30 days in a few queries.

Selectors only. Each figure is one aggregate query (or one of a handful of rows), whatever the
number of orders, events or messages, so the admin's index costs the same on a busy shop:
`dashboard_figures` makes seven queries in all. Days begin at midnight in the shop's own zone
(settings.TIME_ZONE, Europe/Dublin): "today" and each bar of the chart are Dublin days, not UTC
ones. Money stays in integer minor units beside its currency; the page formats it.

The admin links (ops/admin_site.py) filter each changelist with the same conditions, so a
figure and the rows it links to agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import Order, OrderEvent
from payments.models import Payment, Receipt, Refund, WebhookMessage

DAYS = 30
# Stripe's dispute ids; `dispute_record` flags the order with the dispute's id as the reference.
DISPUTE_ID_PREFIX = "dp_"
REFUND_IN_FLIGHT = (Refund.Status.PENDING, Refund.Status.REQUIRES_ACTION)


@dataclass(frozen=True)
class DaySales:
    day: date
    starts: datetime  # midnight in the shop's zone
    ends: datetime
    orders: int
    amount: int  # minor units of the dashboard's currency


@dataclass(frozen=True)
class RefundFigures:
    currency: str
    made_today: int  # refunds asked for today (by staff or in Stripe's dashboard)
    succeeded_today_amount: int
    failed_today: int
    in_flight: int  # pending or requiring action, whenever made


@dataclass(frozen=True)
class Dashboard:
    zone: ZoneInfo
    today_starts: datetime
    since: datetime  # midnight starting the first day of the chart
    currency: str
    sales: list[DaySales]
    # Paid in another currency than the shop's over the same days: {currency: minor units}.
    other_currency_sales: dict[str, int]
    orders_by_status: dict[str, int]  # orders placed since `since`, every status present
    needs_attention: int  # flagged orders, whenever flagged
    disputed_order_ids: list[int]  # orders with a dispute opened since `since`
    payment_failures_today: int  # declined or failed attempts today (OrderEvent "payment_failed")
    payments_failing_today: int  # payments touched today whose last attempt failed (still unpaid)
    refunds: list[RefundFigures]
    receipts_failed: int  # receipts whose delivery failed for good, left to staff
    webhooks_waiting: int  # inbox rows not processed yet
    webhooks_oldest_waiting: datetime | None
    webhooks_failed: int  # inbox rows whose retries are used up

    @property
    def sales_total(self) -> int:
        return sum(day.amount for day in self.sales)

    @property
    def sales_orders(self) -> int:
        return sum(day.orders for day in self.sales)

    @property
    def webhook_lag(self) -> timedelta | None:
        """How long the oldest waiting event has waited: the inbox's lag."""
        if self.webhooks_oldest_waiting is None:
            return None
        return max(timezone.now() - self.webhooks_oldest_waiting, timedelta(0))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def sales_by_day(*, since: datetime, days: int, zone: ZoneInfo, currency: str) -> tuple[list[DaySales], dict[str, int]]:
    """Orders paid each day (by `paid_at`, whatever has been refunded since) and their totals: one query."""
    rows = (
        Order.objects.filter(status__in=Order.PAID_STATUSES, paid_at__gte=since)
        .annotate(day=TruncDate("paid_at", tzinfo=zone))
        .values("day", "currency")
        .annotate(orders=Count("id"), amount=Sum("total_amount"))
        .order_by()
    )
    ours: dict[date, tuple[int, int]] = {}
    others: dict[str, int] = {}
    for row in rows:
        if row["currency"] == currency:
            ours[row["day"]] = (row["orders"], row["amount"])
        else:
            others[row["currency"]] = others.get(row["currency"], 0) + row["amount"]
    first = since.astimezone(zone).date()
    sales = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        orders, amount = ours.get(day, (0, 0))
        sales.append(
            DaySales(day=day, starts=_midnight(day, zone), ends=_midnight(day + timedelta(days=1), zone), orders=orders, amount=amount)
        )
    return sales, others


def order_counts(*, since: datetime) -> tuple[dict[str, int], int]:
    """Orders placed since `since` by status, and flagged orders (any age): one query, on the
    rows the created_at and needs_attention indexes find."""
    counts = Order.objects.filter(Q(created_at__gte=since) | Q(needs_attention=True)).aggregate(
        needs_attention=Count("id", filter=Q(needs_attention=True)),
        **{status: Count("id", filter=Q(status=status, created_at__gte=since)) for status in Order.Status.values},
    )
    needs_attention = counts.pop("needs_attention")
    return counts, needs_attention


def event_counts(*, since: datetime, today_starts: datetime) -> tuple[list[int], int]:
    """Orders disputed since `since`, and payment attempts that failed today: one query."""
    rows = OrderEvent.objects.filter(
        Q(kind=OrderEvent.Kind.FLAGGED, reference__startswith=DISPUTE_ID_PREFIX, created_at__gte=since)
        | Q(kind=OrderEvent.Kind.PAYMENT_FAILED, created_at__gte=today_starts)
    ).values_list("kind", "order_id")
    disputed: list[int] = []
    failures = 0
    for kind, order_id in rows:
        if kind == OrderEvent.Kind.FLAGGED:
            disputed.append(order_id)
        else:
            failures += 1
    return sorted(set(disputed)), failures


def payments_failing(*, today_starts: datetime) -> int:
    """Payments changed today whose last attempt failed: the shopper has not paid since."""
    return (
        Payment.objects.filter(status=Payment.Status.REQUIRES_PAYMENT_METHOD, updated_at__gte=today_starts)
        .exclude(last_error_code="")
        .count()
    )


def refund_figures(*, today_starts: datetime) -> list[RefundFigures]:
    """Refunds made, succeeded and failed today, and those still in flight, per currency: one query."""
    rows = (
        Refund.objects.filter(Q(created_at__gte=today_starts) | Q(updated_at__gte=today_starts) | Q(status__in=REFUND_IN_FLIGHT))
        .values("currency")
        .annotate(
            made_today=Count("id", filter=Q(created_at__gte=today_starts)),
            succeeded_today_amount=Sum("amount", filter=Q(status=Refund.Status.SUCCEEDED, succeeded_at__gte=today_starts), default=0),
            failed_today=Count("id", filter=Q(status=Refund.Status.FAILED, updated_at__gte=today_starts)),
            in_flight=Count("id", filter=Q(status__in=REFUND_IN_FLIGHT)),
        )
        .order_by("currency")
    )
    return [RefundFigures(**row) for row in rows]


def receipts_failed() -> int:
    return Receipt.objects.filter(failed_at__isnull=False).count()


def webhook_inbox_figures() -> dict[str, object]:
    """The inbox's backlog (rows waiting, the oldest's arrival) and rows that used up their retries: one query."""
    return WebhookMessage.objects.aggregate(
        waiting=Count("id", filter=Q(state=WebhookMessage.State.RECEIVED)),
        oldest_waiting=Min("received_at", filter=Q(state=WebhookMessage.State.RECEIVED)),
        failed=Count("id", filter=Q(state=WebhookMessage.State.FAILED)),
    )


def dashboard_figures(*, now: datetime | None = None, days: int = DAYS) -> Dashboard:
    """Every figure of the staff dashboard, as of `now`, in seven queries."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = (now or timezone.now()).astimezone(zone).date()
    today_starts = _midnight(today, zone)
    since = _midnight(today - timedelta(days=days - 1), zone)
    currency = settings.SHOP_CURRENCY
    sales, other_currency_sales = sales_by_day(since=since, days=days, zone=zone, currency=currency)
    orders_by_status, needs_attention = order_counts(since=since)
    disputed_order_ids, payment_failures_today = event_counts(since=since, today_starts=today_starts)
    inbox = webhook_inbox_figures()
    return Dashboard(
        zone=zone,
        today_starts=today_starts,
        since=since,
        currency=currency,
        sales=sales,
        other_currency_sales=other_currency_sales,
        orders_by_status=orders_by_status,
        needs_attention=needs_attention,
        disputed_order_ids=disputed_order_ids,
        payment_failures_today=payment_failures_today,
        payments_failing_today=payments_failing(today_starts=today_starts),
        refunds=refund_figures(today_starts=today_starts),
        receipts_failed=receipts_failed(),
        webhooks_waiting=inbox["waiting"],
        webhooks_oldest_waiting=inbox["oldest_waiting"],
        webhooks_failed=inbox["failed"],
    )
