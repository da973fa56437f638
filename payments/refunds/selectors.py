"""What is left to refund, read without locks: for the admin's pages and the refund service's check.

Whether a refund may be made is decided by `refund_check` in services.py, which uses these.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from orders.models import Order
from payments.models import Refund

# Refunds Stripe may still pay out: their amounts are not refundable again meanwhile.
IN_FLIGHT_STATUSES = (Refund.Status.PENDING, Refund.Status.REQUIRES_ACTION)
FAILED_STATUSES = (Refund.Status.FAILED, Refund.Status.CANCELED)


def refund_in_flight_amount(*, order: Order) -> int:
    return order.refunds.filter(status__in=IN_FLIGHT_STATUSES).aggregate(total=Sum("amount"))["total"] or 0


def refund_available_amount(*, order: Order) -> int:
    """What staff may still refund: paid, minus refunded, minus refunds Stripe has not settled; 0 if unpaid."""
    if not order.can_refund():
        return 0
    return max(order.refundable_amount - refund_in_flight_amount(order=order), 0)


def refund_state_token(*, order: Order) -> str:
    """Names the order's refunds as they are now; the admin form carries it to the confirmation.

    Any refund made after the form was opened (a double submit, a colleague, Stripe's
    dashboard) adds a row, so the token no longer matches and the stale form is refused.
    """
    last_refund_id = order.refunds.order_by("-pk").values_list("pk", flat=True).first() or 0
    return f"{last_refund_id}-{order.refunded_amount}"


def refunds_since(*, order: Order, state: str) -> list[Refund]:
    """The order's refunds made after `state` (a `refund_state_token`) was read, oldest first."""
    last_id = state.partition("-")[0]
    since = order.refunds.filter(pk__gt=int(last_id)) if last_id.isdigit() else order.refunds.all()
    return list(since.select_related("created_by").order_by("pk"))


def refund_quiet_in_flight(*, order: Order, quiet_for: timedelta) -> Refund | None:
    """The order's refund Stripe has answered but not settled, unchanged longest, if for over `quiet_for`.

    Its webhook should have settled it by then: asking Stripe is worth one call. Only one,
    so the pages that ask stay within the Stripe budget however many refunds an order has.
    """
    return (
        order.refunds.filter(
            status__in=IN_FLIGHT_STATUSES, stripe_refund_id__isnull=False, updated_at__lt=timezone.now() - quiet_for
        )
        .order_by("updated_at")
        .first()
    )


def refund_window_closes_at(*, order: Order) -> datetime | None:
    return order.paid_at + timedelta(days=settings.REFUND_WINDOW_DAYS) if order.paid_at else None
