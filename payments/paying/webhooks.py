"""What a Stripe event in the inbox means, and which of our services handles it.

`webhook_process` runs in the `payments.webhook_process` task, one attempt at a time per row
(inbox.py). It first decides from the event alone whether its object is the shop's: our
PaymentIntent (by id, or the `order_number` metadata we send), or a refund, charge or dispute
of one of our payments. Anything else is recorded as ignored, without a call to Stripe and
never as an error. The handlers apply the object as Stripe has it now, not the event's
snapshot, so they are safe twice, at once and out of order. An exception ends the attempt
and the task retries with backoff.

dj-stripe's `Event` row is still written (its admin lists the events), from the payload
alone: `sync_from_stripe_data` does not run dj-stripe's handlers, which would fetch the
object again.
"""

import logging
from collections.abc import Callable
from typing import Any

from djstripe import models as djstripe_models

from bookstore.logs import bind_order
from orders.models import Order
from orders.services import Actor
from payments.customers.services import customer_sync, payment_method_sync
from payments.models import Payment
from payments.paying.checkout_sessions import checkout_session_expired_unpaid, checkout_session_order, checkout_session_sync
from payments.paying.inbox import webhook_attempt_failed, webhook_claim, webhook_done
from payments.paying.selectors import payment_for_stripe_ids
from payments.paying.services import payment_apply_intent, payment_sync
from payments.refunds.services import dispute_record, refund_sync, refunds_sync_for_charge
from payments.stripe_objects import stripe_field, stripe_id_of, stripe_mirror

logger = logging.getLogger(__name__)


def _payment_intent_is_ours(intent: dict[str, Any]) -> bool:
    if Payment.objects.filter(stripe_payment_intent_id=intent["id"]).exists():
        return True
    # Our row may have missed Stripe's answer to `payment_start`; the metadata names the order.
    number = stripe_field(stripe_field(intent, "metadata", {}), "order_number")
    return bool(number) and Order.objects.filter(number=number).exists()


def _payment_is_ours(*, payment_intent: Any, charge: Any) -> bool:
    payment = payment_for_stripe_ids(payment_intent_id=stripe_id_of(payment_intent), charge_id=stripe_id_of(charge))
    if payment is not None:
        bind_order(payment.order.number)
    return payment is not None


def _payment_intent_changed(intent: dict[str, Any], actor: Actor) -> bool:
    if not _payment_intent_is_ours(intent):
        return False
    bind_order(stripe_field(stripe_field(intent, "metadata", {}), "order_number"))
    return payment_sync(payment_intent_id=intent["id"], actor=actor) is not None


def _refund_changed(refund: dict[str, Any], actor: Actor) -> bool:
    if not _payment_is_ours(payment_intent=refund.get("payment_intent"), charge=refund.get("charge")):
        return False
    return refund_sync(stripe_refund_id=refund["id"], actor=actor) is not None


def _charge_refunded(charge: dict[str, Any], actor: Actor) -> bool:
    if not _payment_is_ours(payment_intent=charge.get("payment_intent"), charge=charge["id"]):
        return False
    refunds_sync_for_charge(charge=charge, actor=actor)
    return True


def _charge_disputed(dispute: dict[str, Any], actor: Actor) -> bool:
    if not _payment_is_ours(payment_intent=dispute.get("payment_intent"), charge=dispute.get("charge")):
        return False
    return dispute_record(dispute=dispute, actor=actor) is not None


def _checkout_session_changed(session: dict[str, Any], actor: Actor) -> bool:
    """A hosted Checkout Session of ours: the same finaliser, on its PaymentIntent as Stripe has it now."""
    order = checkout_session_order(session)
    if order is None:
        return False
    current = checkout_session_sync(session_id=session["id"])
    intent = stripe_field(current, "payment_intent")
    if intent is not None:
        payment_apply_intent(intent=intent, actor=actor)
    elif current["status"] == "expired":
        checkout_session_expired_unpaid(order_id=order.pk, actor=actor)
    return True


# Every event type the endpoint subscribes to (settings.STRIPE_WEBHOOK_EVENTS) has its handler.
HANDLERS: dict[str, Callable[[dict[str, Any], Actor], bool]] = {
    "payment_intent.succeeded": _payment_intent_changed,
    "payment_intent.payment_failed": _payment_intent_changed,
    "payment_intent.canceled": _payment_intent_changed,
    "payment_intent.processing": _payment_intent_changed,
    "payment_intent.requires_action": _payment_intent_changed,
    "refund.created": _refund_changed,
    "refund.updated": _refund_changed,
    "refund.failed": _refund_changed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _charge_disputed,
    "checkout.session.completed": _checkout_session_changed,
    "checkout.session.async_payment_succeeded": _checkout_session_changed,
    "checkout.session.async_payment_failed": _checkout_session_changed,
    "checkout.session.expired": _checkout_session_changed,
    # Saved cards: an account's Customer and its cards, mirrored as Stripe has them now.
    "customer.updated": lambda customer, actor: customer_sync(customer_id=customer["id"]),
    "customer.deleted": lambda customer, actor: customer_sync(customer_id=customer["id"]),
    "payment_method.attached": lambda method, actor: payment_method_sync(payment_method=method),
    "payment_method.detached": lambda method, actor: payment_method_sync(payment_method=method),
}


def webhook_process(*, message_id: int) -> bool | None:
    """Process one inbox row: True if handled, False if ignored, None if there was nothing to do
    (already done, or another worker is on it). Raises what the handler raised."""
    message = webhook_claim(message_id=message_id)
    if message is None:
        return None
    handler = HANDLERS.get(message.type)
    try:
        handled = handler is not None and handler(message.payload["data"]["object"], Actor.webhook(message.stripe_event_id))
    except Exception as exc:
        webhook_attempt_failed(message_id=message.pk, error=f"{type(exc).__name__}: {exc}")
        raise
    if handled:
        logger.info("Stripe event %s (%s) processed.", message.stripe_event_id, message.type)
    else:
        logger.info("Stripe event %s (%s) is not about this shop's payments; ignored.", message.stripe_event_id, message.type)
    stripe_mirror(djstripe_models.Event, message.payload)
    webhook_done(message_id=message.pk, handled=handled)
    return handled
