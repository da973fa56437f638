"""The order confirmation email: what is reserved and until when, where to pay, and for a
guest the secret link back to the order. Sent once per order by the worker
(payments.order_confirmation_send, queued when order_place places a new order)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bookstore.celery import queue_after_commit
from bookstore.emails import email_from_templates
from orders.models import Order, OrderEvent
from orders.services import Actor, order_event_record

# The one confirmation an order gets: OrderEvent's unique (order, kind, reference) makes it once.
CONFIRMATION_REFERENCE = "order-confirmation"
# The sweep leaves younger orders to the normal path (their task may just be queued).
CONFIRMATION_SWEEP_GRACE = timedelta(minutes=2)


def _shop_url(path: str) -> str:
    return f"{settings.SHOP_URL}{path}"


def order_confirmation_links(order: Order) -> dict[str, str]:
    """Absolute links for the email: the payment page and the order page (a guest's carry its key)."""
    if order.user_id is None:
        pay = reverse("payments:guest_checkout", args=[order.number, order.access_key])
        return {"pay_url": _shop_url(pay), "order_url": _shop_url(order.get_guest_url())}
    return {"pay_url": _shop_url(reverse("payments:checkout", args=[order.number])), "order_url": _shop_url(order.get_absolute_url())}


def order_confirmation_send(*, order_id: int) -> bool:
    """Email the order's confirmation unless it was sent already; True if this call sent it.

    An order no longer awaiting payment gets none: paid, its receipt follows; canceled
    (replaced by a new checkout of its cart, or expired), there is nothing to pay.
    """
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    if not order.is_awaiting_payment:
        return False
    message = email_from_templates(
        subject=f"Order {order.number} received: your books are reserved",
        template="emails/order_confirmation",
        context={"order": order, "guest": order.user_id is None, "shop_name": settings.SHOP_NAME, **order_confirmation_links(order)},
        to=[order.email],
    )
    with transaction.atomic():
        # The marker is written first and the mail sent before it commits: a second run
        # (a redelivered task) blocks on the unique reference until this one commits, then
        # finds it and sends nothing; a failed send rolls the marker back for the retry.
        # The order's row is not locked, so a webhook never waits for the mail server.
        try:
            with transaction.atomic():
                order_event_record(
                    order=order,
                    kind=OrderEvent.Kind.CONFIRMATION_SENT,
                    actor=Actor.system(),
                    reference=CONFIRMATION_REFERENCE,
                    message=f"Order confirmation emailed to {order.email}.",
                )
        except IntegrityError:
            return False
        message.send()
    return True


def order_confirmations_sweep(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Queue the confirmations the normal path lost (the broker was down when the order was
    placed, or the task's retries ran out) for orders still awaiting payment past a grace
    period; returns their ids. Beat runs it every few minutes; sending is idempotent."""
    now = now or timezone.now()
    lost = list(
        Order.objects.filter(
            status=Order.Status.PENDING_PAYMENT, created_at__lt=now - CONFIRMATION_SWEEP_GRACE, reserved_until__gt=now
        )
        .exclude(events__kind=OrderEvent.Kind.CONFIRMATION_SENT)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for order_id in lost:
        queue_after_commit("payments.order_confirmation_send", order_id=order_id)
    return lost
