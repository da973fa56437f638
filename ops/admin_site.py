"""The admin site: Django's, whose index leads with the staff dashboard (ops/dashboard.py).

Staff land on the index when they sign in, so the dashboard is the first thing they see. Its
figures need the permission to view orders; a member of staff without it sees Django's index
alone. Each figure links to its admin list filtered to the rows it counts, when the reader may
view that list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from bookstore.money import format_money
from ops.dashboard import REFUND_IN_FLIGHT, Dashboard, DaySales, dashboard_figures
from orders.models import Order
from payments.models import Payment, Receipt, Refund, WebhookMessage

DASHBOARD_PERMISSION = "orders.view_order"
# The chart's drawing box, in SVG user units; CSS scales it to the column's width.
CHART_WIDTH, CHART_HEIGHT, BAR_GAP, CHART_MARGIN = 600, 160, 4, 20
# Beat's inbox sweep re-queues events waiting a minute: older than that, something is wrong.
INBOX_LAG_ALERT = timedelta(minutes=1)


def _when(moment: datetime) -> str:
    # The admin's changelist filters parse what Django's own date filters put in their links.
    return str(moment)


class ShopAdminSite(admin.AdminSite):
    def index(self, request: HttpRequest, extra_context: dict | None = None):
        if request.user.has_perm(DASHBOARD_PERMISSION):
            extra_context = {**(extra_context or {}), "dashboard": self.dashboard_context(request)}
        return super().index(request, extra_context)

    def changelist_link(self, request: HttpRequest, model: type[Model], **filters: object) -> str | None:
        model_admin = self._registry.get(model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return None
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", current_app=self.name)
        return f"{url}?{urlencode(filters)}" if filters else url

    def dashboard_context(self, request: HttpRequest) -> dict:
        figures = dashboard_figures()
        link = partial(self.changelist_link, request)
        since, today = _when(figures.since), _when(figures.today_starts)
        status_labels = dict(Order.Status.choices)
        lag = figures.webhook_lag
        attention = [
            {
                "label": "Orders needing attention",
                "value": figures.needs_attention,
                "href": link(Order, needs_attention__exact=1),
                "alert": bool(figures.needs_attention),
            },
            {
                "label": "Disputes opened (30 days)",
                "value": len(figures.disputed_order_ids),
                "href": link(Order, id__in=",".join(map(str, figures.disputed_order_ids)))
                if figures.disputed_order_ids
                else None,
                "alert": bool(figures.disputed_order_ids),
            },
            {
                "label": "Payments failed today",
                "value": figures.payments_failing_today,
                "note": f"{figures.payment_failures_today} failed attempt(s) today; these payments are still unpaid",
                "href": link(
                    Payment,
                    status__exact=Payment.Status.REQUIRES_PAYMENT_METHOD,
                    last_error_code__gt="",
                    updated_at__gte=today,
                ),
            },
            {
                "label": "Failed receipts",
                "value": figures.receipts_failed,
                "note": "delivery failed for good: retry from the list",
                "href": link(Receipt, failed_at__isnull="False"),
                "alert": bool(figures.receipts_failed),
            },
            {
                "label": "Webhook inbox: waiting",
                "value": figures.webhooks_waiting,
                "note": (
                    f"oldest received {timezone.localtime(figures.webhooks_oldest_waiting, figures.zone):%H:%M:%S}, "
                    f"{int(lag.total_seconds())} s ago"
                    if lag is not None
                    else "nothing waiting"
                ),
                "href": link(WebhookMessage, state__exact=WebhookMessage.State.RECEIVED),
                "alert": lag is not None and lag > INBOX_LAG_ALERT,
            },
            {
                "label": "Webhook inbox: failed",
                "value": figures.webhooks_failed,
                "note": "retries used up: process again from the list",
                "href": link(WebhookMessage, state__exact=WebhookMessage.State.FAILED),
                "alert": bool(figures.webhooks_failed),
            },
        ]
        refunds = []
        for row in figures.refunds:
            refunds += [
                {"label": f"Refunds made today ({row.currency})", "value": row.made_today, "href": link(Refund, created_at__gte=today)},
                {"label": f"Refunded today ({row.currency})", "value": format_money(row.succeeded_today_amount, row.currency),
                 "href": link(Refund, status__exact=Refund.Status.SUCCEEDED, succeeded_at__gte=today)},
                {"label": f"Refunds failed today ({row.currency})", "value": row.failed_today,
                 "href": link(Refund, status__exact=Refund.Status.FAILED, updated_at__gte=today), "alert": bool(row.failed_today)},
                {"label": f"Refunds pending ({row.currency})", "value": row.in_flight,
                 "href": link(Refund, status__in=",".join(REFUND_IN_FLIGHT))},
            ]  # fmt: skip
        if not refunds:
            refunds = [{"label": "Refunds", "value": "none today, none pending", "href": link(Refund)}]
        return {
            "as_of": timezone.localtime(timezone.now(), figures.zone),
            "zone": figures.zone.key,
            "sales_total": format_money(figures.sales_total, figures.currency),
            "sales_orders": figures.sales_orders,
            "other_currency_sales": [format_money(amount, currency) for currency, amount in sorted(figures.other_currency_sales.items())],
            "chart": self.sales_chart(request, figures),
            "orders_by_status": [
                {
                    "label": status_labels[status],
                    "value": count,
                    "href": link(Order, status__exact=status, created_at__gte=since),
                }
                for status, count in figures.orders_by_status.items()
            ],
            "attention": attention,
            "refunds": refunds,
        }

    def sales_chart(self, request: HttpRequest, figures: Dashboard) -> dict:
        """Bars of each day's paid total, drawn server-side as SVG (no script: the CSP allows none inline)."""
        top = max((day.amount for day in figures.sales), default=0)
        slot = CHART_WIDTH / len(figures.sales)
        bars, ticks = [], []
        for index, day in enumerate(figures.sales):
            x = index * slot
            # Today and each week before it.
            if (len(figures.sales) - 1 - index) % 7 == 0:
                ticks.append({"x": round(x + slot / 2, 1), "text": f"{day.day:%-d %b}"})
            if not day.amount:
                continue
            height = max(round(day.amount / top * CHART_HEIGHT, 1), 1)
            bars.append(
                {
                    "x": round(x + BAR_GAP / 2, 1),
                    "y": round(CHART_HEIGHT - height, 1),
                    "width": round(slot - BAR_GAP, 1),
                    "height": height,
                    "label": self.day_label(day, figures.currency),
                    "href": self.changelist_link(
                        request, Order, status__in=",".join(Order.PAID_STATUSES), paid_at__gte=_when(day.starts), paid_at__lt=_when(day.ends)
                    ),
                }
            )
        return {
            # A margin either side for the first and last day's labels, centred under their bars.
            "view_box": f"-{CHART_MARGIN} 0 {CHART_WIDTH + 2 * CHART_MARGIN} {CHART_HEIGHT + 18}",
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "tick_y": CHART_HEIGHT + 14,
            "bars": bars,
            "ticks": ticks,
            "top": format_money(top, figures.currency),
            "days": [
                {"label": self.day_label(day, figures.currency), "orders": day.orders} for day in figures.sales if day.orders
            ],
        }

    @staticmethod
    def day_label(day: DaySales, currency: str) -> str:
        orders = f"{day.orders} order{'s' if day.orders != 1 else ''}"
        return f"{day.day:%a %-d %b}: {format_money(day.amount, currency)} from {orders}"
