"""Stripe webhooks, received through dj-stripe's endpoint.

dj-stripe checks the signature (400 for a forged, malformed or stale one), stores the
event once, mirrors its object and then calls these receivers inside its transaction.
An exception here rolls that back and answers an error, so Stripe delivers again.
"""

import logging

from djstripe.event_handlers import djstripe_receiver

from orders.services import Actor
from payments.paying.services import payment_sync
from payments.refunds.services import dispute_record, refund_sync, refunds_sync_for_charge

logger = logging.getLogger(__name__)

PAYMENT_INTENT_EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "payment_intent.requires_action",
]


@djstripe_receiver(PAYMENT_INTENT_EVENTS)
def payment_intent_changed(sender, event, **kwargs) -> None:
    payment_intent_id = event.data.get("object", {}).get("id")
    if not payment_intent_id:
        logger.warning("Stripe event %s (%s) names no PaymentIntent; ignored.", event.id, event.type)
        return
    payment_sync(payment_intent_id=payment_intent_id, actor=Actor.webhook(event.id))


@djstripe_receiver(["refund.created", "refund.updated", "refund.failed"])
def refund_changed(sender, event, **kwargs) -> None:
    # The refund as Stripe has it now, not the event's snapshot: events come in any order.
    refund_sync(stripe_refund_id=event.data["object"]["id"], actor=Actor.webhook(event.id))


@djstripe_receiver("charge.refunded")
def charge_refunded(sender, event, **kwargs) -> None:
    refunds_sync_for_charge(charge=event.data["object"], actor=Actor.webhook(event.id))


@djstripe_receiver("charge.dispute.created")
def charge_disputed(sender, event, **kwargs) -> None:
    dispute_record(dispute=event.data["object"], actor=Actor.webhook(event.id))
