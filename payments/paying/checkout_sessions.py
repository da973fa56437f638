"""Paying on Stripe's hosted Checkout page (SHOP_PAYMENT_FLOW=checkout): one open Checkout
Session per order, and the same order life as the Payment Element.

`checkout_session_start` follows `payment_start`'s pattern: the order's `Payment` row is written
and committed first, then Stripe is asked with an idempotency key made from the order and the
attempt (how many sessions the order had before), then the answer is mirrored by dj-stripe's
`Session`, which is where the shop keeps its sessions. Every argument comes from the order's
rows, none from the browser and none from the page that asked, so two tabs, a double click or
a crash before the mirror was written send the same request and get the same session back: an
order never has two sessions open, so it can never be paid twice.

Stripe creates the session's PaymentIntent when the shopper first submits the page, with the
`order_number` metadata given in `payment_intent_data`; the finaliser (`payment_apply_intent`)
links it to the order's `Payment` by that metadata, so `payment_intent.*` and `checkout.session.*`
events all end in the same transitions (webhooks.py). Stripe refuses to cancel a Checkout
Session's PaymentIntent: closing a session (on expiry of the reservation, or when its order is
superseded) expires it instead, which cancels its PaymentIntent at Stripe.

No lock is held during a Stripe call (bookstore/locks.py).
"""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from djstripe import models as djstripe_models

from bookstore.errors import ShopError
from bookstore.locks import lock_order
from bookstore.money import format_money
from orders.models import Order, OrderEvent
from orders.services import Actor, order_cancel, order_event_record
from payments import gateway
from payments.models import Payment
from payments.stripe_objects import stripe_field, stripe_id_of, stripe_mirror

logger = logging.getLogger(__name__)

# Stripe's shortest session, and a margin for the time between our clock and Stripe's check.
SESSION_MIN_LIFETIME = timedelta(minutes=30)
CLOCK_MARGIN = timedelta(minutes=1)
# A replayed answer can be a session that has expired since: then the next attempt's key.
MAX_ATTEMPTS_PER_CALL = 3


class CheckoutSessionError(ShopError):
    pass


def checkout_sessions_of(*, order_numbers: list[str]) -> QuerySet:
    """The mirrored Checkout Sessions of these orders, oldest first."""
    return djstripe_models.Session.objects.filter(metadata__order_number__in=order_numbers).order_by("created", "djstripe_id")


def checkout_session_start(*, order_id: int, order_page_url: str) -> str:
    """The URL of the order's open Checkout Session, opening one at Stripe when it has none.

    `order_page_url` (absolute) is where Stripe sends the shopper back, paid (`success_url`)
    or not (`cancel_url`); the same for every caller of one order (the guest link, which
    its owner can open too), since a retried request must repeat the first one's parameters.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        _check_payable(order)
        if not Payment.objects.filter(order=order).exists():
            Payment.objects.create(order=order, amount=order.total_amount, currency=order.currency)
    for _ in range(MAX_ATTEMPTS_PER_CALL):
        sessions = list(checkout_sessions_of(order_numbers=[order.number]))
        for session in sessions:
            if session.status == "open" and stripe_field(session.stripe_data, "expires_at", 0) > timezone.now().timestamp():
                return session.url
        if any(session.status == "complete" for session in sessions):
            raise CheckoutSessionError(
                f"Stripe is still confirming the payment for order {order.number}; this page updates by itself.",
                code="payment_in_progress",
            )
        session = _session_create(order=order, attempt=len(sessions) + 1, order_page_url=order_page_url)
        if session.status == "open":
            break
    else:
        raise CheckoutSessionError("We could not open Stripe's payment page; please try again.", code="provider_refused")
    with transaction.atomic():
        order = lock_order(order_id)
        if not order.events.filter(kind=OrderEvent.Kind.PAYMENT_STARTED, reference=session.id).exists():
            order_event_record(
                order=order,
                kind=OrderEvent.Kind.PAYMENT_STARTED,
                actor=Actor.system(),
                reference=session.id,
                message=f"Checkout Session {session.id} opened for {format_money(order.total_amount, order.currency)} on Stripe's page.",
            )
    # The reservation may have run out while Stripe answered: expiry closes the session then,
    # and its URL is never handed out for an order that can no longer be paid.
    _check_payable(order)
    return session.url


def _session_create(*, order: Order, attempt: int, order_page_url: str):
    lines = list(order.lines.order_by("pk"))
    if sum(line.line_total for line in lines) != order.total_amount:
        raise CheckoutSessionError(f"Order {order.number} does not add up; nothing was charged.", code="not_payable")
    expires_at = max(order.reserved_until, timezone.now() + SESSION_MIN_LIFETIME + CLOCK_MARGIN)
    metadata = {"order_number": order.number, "order_id": str(order.pk)}
    session = gateway.checkout_session_create(
        line_items=[
            {
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": line.unit_price_amount,
                    "product_data": {"name": f"{line.title} ({line.author})" if line.author else line.title},
                },
                "quantity": line.quantity,
            }
            for line in lines
        ],
        customer_email=order.email,
        success_url=f"{order_page_url}?redirect_status=succeeded&session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=order_page_url,
        # Rounded up: the session never closes before the books are released.
        expires_at=math.ceil(expires_at.timestamp()),
        client_reference_id=order.number,
        metadata=metadata,
        payment_intent_metadata=metadata,
        description=f"{settings.SHOP_NAME} order {order.number}",
        idempotency_key=f"order-{order.number}-checkout-{attempt}",
    )
    stripe_mirror(djstripe_models.Session, session)
    return session


def _check_payable(order: Order) -> None:
    if order.status != Order.Status.PENDING_PAYMENT:
        raise CheckoutSessionError(
            f"Order {order.number} is {order.get_status_display().lower()}; there is nothing to pay.", code="not_payable"
        )
    if order.reserved_until < timezone.now():
        raise CheckoutSessionError(
            f"The time to pay for order {order.number} has run out and its books were released. "
            "Your cart still holds them: place the order again.",
            code="reservation_expired",
        )


def checkout_session_sync(*, session_id: str):
    """The session as Stripe has it now, its PaymentIntent expanded as `payment_sync` reads it; mirrored."""
    session = gateway.checkout_session_retrieve(session_id)
    stripe_mirror(djstripe_models.Session, session)
    return session


def checkout_session_intent(*, order_number: str):
    """The PaymentIntent of the order's latest Checkout Session as Stripe has it now, expanded as
    `payment_sync` reads it (one call); None without a session or before the shopper paid on it.
    For a shopper back from Stripe's page whose webhook is late."""
    session = checkout_sessions_of(order_numbers=[order_number]).last()
    if session is None:
        return None
    intent = stripe_field(checkout_session_sync(session_id=session.id), "payment_intent")
    return None if isinstance(intent, str) else intent


def checkout_session_order(session) -> Order | None:
    """The order a Checkout Session is for, from the metadata the shop gave it; None if not ours."""
    number = stripe_field(stripe_field(session, "metadata", {}), "order_number")
    return Order.objects.filter(number=number).first() if number else None


def checkout_session_expired_unpaid(*, order_id: int, actor: Actor, now: datetime | None = None) -> None:
    """A session expired before anyone paid on it: the books go back as a reservation expiry
    does, once the reservation has run out (sessions are made to expire with it). One that
    was closed earlier leaves the order payable; the next "Pay" opens a new session."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status != Order.Status.PENDING_PAYMENT or order.reserved_until > now:
            return
        order_cancel(order_id=order.pk, actor=actor, reason="Unpaid when its Stripe Checkout page expired; the books are back on the shelf.")


def checkout_sessions_close(*, orders: QuerySet) -> list[int]:
    """Expire these orders' open Checkout Sessions at Stripe, so nobody can pay on them any more.

    A session Stripe will not expire has been paid or is being paid: its PaymentIntent is linked
    to the order's `Payment` for the caller to sync. Returns the ids of the orders whose sessions
    could not be closed (Stripe unreachable, or still processing): leave them for the next run.
    """
    order_ids = dict(orders.values_list("number", "pk"))
    if not order_ids:
        return []
    unclosed = []
    for session in checkout_sessions_of(order_numbers=list(order_ids)).filter(stripe_data__status="open"):
        number = session.metadata.get("order_number")
        try:
            closed = gateway.checkout_session_expire(session.id, idempotency_key=f"order-{number}-checkout-close-{session.id}")
        except gateway.PaymentGatewayError as exc:
            if exc.stripe_code != "checkout_session_not_expirable":
                logger.warning("Could not close the Checkout Session %s of order %s: %s", session.id, number, exc)
                unclosed.append(order_ids[number])
                continue
            closed = checkout_session_sync(session_id=session.id)
        stripe_mirror(djstripe_models.Session, closed)
        intent_id = stripe_id_of(stripe_field(closed, "payment_intent"))
        if intent_id:
            Payment.objects.filter(order_id=order_ids[number], stripe_payment_intent_id__isnull=True).update(
                stripe_payment_intent_id=intent_id
            )
        if stripe_field(closed, "status") == "open" or stripe_field(stripe_field(closed, "payment_intent"), "status") == "processing":
            unclosed.append(order_ids[number])
    return unclosed
