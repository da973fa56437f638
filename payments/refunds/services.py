"""Refunds: the money side. Staff refund from the admin; Stripe tells us about every refund.

`refund_check` is the one place the rules of a staff refund live: the order is paid, the
form is not stale, the refund window is open, the amount fits what is left (captured minus
refunded minus refunds still in flight), the copies to restock were bought. The admin's
first step asks it without a lock, to refuse there what the last step would refuse.

`refund_create` (staff): under the order's lock it runs `refund_check` again, where the
answer holds, and writes a pending `Refund` row, committed, before Stripe is called with an
idempotency key made from that row. The lock is not held during the call: the committed
pending row is what stops a second refund meanwhile, and the form's state token
(`refund_state_token`) stops a double submit or two staff members making the same refund twice.

`refund_apply` is the one place a Stripe refund changes our rows, whoever reports it: the
API's answer, `refund.*` webhooks, `charge.refunded`. It matches the refund to our row by
its Stripe id, or by the `refund_id` metadata we send (our own refund's webhook can arrive
before the API call has returned), or creates a row for a refund made in Stripe's
dashboard. Money reaches the order (`order_record_refund`, idempotent per refund) only when
Stripe says the refund succeeded. Lock order: order, then refund.
"""

import dataclasses
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from djstripe import models as djstripe_models

from bookstore.celery import queue_after_commit
from bookstore.emails import attach_pdf, email_from_templates
from bookstore.errors import ShopError
from bookstore.locks import lock_order, lock_refund, lock_refund_matching, lock_refund_with_order
from bookstore.money import format_money
from orders.models import Order, OrderEvent
from orders.services import Actor, OrderError, order_clean_restock, order_event_record, order_flag, order_record_refund
from payments import gateway
from payments.models import CreditNote, Payment, Refund
from payments.documents.selectors import credit_note_filename
from payments.documents.services import credit_note_cancel, credit_note_issue, credit_note_render
from payments.paying.selectors import payment_for_stripe_ids
from payments.refunds.selectors import (
    FAILED_STATUSES,
    IN_FLIGHT_STATUSES,
    refund_available_amount,
    refund_in_flight_amount,
    refund_quiet_in_flight,
    refund_state_token,
    refund_window_closes_at,
)
from payments.stripe_objects import stripe_field, stripe_id_of, stripe_mirror

logger = logging.getLogger(__name__)

# Stripe's refund failure_reason codes, in words for staff.
FAILURE_REASONS = {
    "lost_or_stolen_card": "the card was reported lost or stolen",
    "expired_or_canceled_card": "the card has expired or was canceled",
    "charge_for_pending_refund_disputed": "the shopper disputed the payment while the refund was pending",
    "insufficient_funds": "the Stripe balance had too little money for it",
    "declined": "the card's bank declined it",
    "merchant_request": "it was canceled on request",
    "unknown": "Stripe gave no reason",
}


class RefundError(ShopError):
    """A refund refused; `field` names the argument at fault ("amount", "reason", "restock.<line id>")."""


@dataclasses.dataclass(frozen=True)
class RefundPlan:
    """What `refund_check` allowed: the payment to refund and the copies to restock, cleaned."""

    payment: Payment
    restock: dict[int, int]


def refund_check(
    *,
    order: Order,
    amount: int,
    reason: str,
    restock: Mapping[int | str, int],
    expected_state: str | None = None,
) -> RefundPlan:
    """May staff refund `amount` (minor units) of `order` now? Raises RefundError saying why not.

    Without the order's lock the answer is advice (the admin's first step); `refund_create`
    asks again under the lock, where it holds.
    """
    if reason and reason not in Refund.Reason.values:
        raise RefundError(f"“{reason}” is not a reason Stripe knows.", code="invalid_reason", field="reason")
    payment = Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).first()
    if not order.can_refund() or payment is None:
        raise RefundError(
            f"Order {order.number} is {order.get_status_display().lower()}; there is nothing to refund.",
            code="not_refundable",
        )
    if expected_state is not None and expected_state != refund_state_token(order=order):
        raise RefundError(
            f"Order {order.number} has changed since this form was opened (a refund was made or settled "
            "meanwhile). This submission refunded nothing more.",
            code="stale_form",
        )
    closes_at = refund_window_closes_at(order=order)
    if closes_at is not None and timezone.now() > closes_at:
        raise RefundError(
            f"Order {order.number} was paid more than {settings.REFUND_WINDOW_DAYS} days ago "
            f"(on {order.paid_at:%d %B %Y}); refund it in Stripe's dashboard, and the shop will record it.",
            code="refund_window_closed",
        )
    if amount <= 0:
        raise RefundError("Enter an amount above zero.", code="invalid_amount", field="amount")
    available = refund_available_amount(order=order)
    if amount > available:
        in_flight = refund_in_flight_amount(order=order)
        raise RefundError(
            f"A refund of {format_money(amount, order.currency)} is more than the "
            f"{format_money(available, order.currency)} left to refund on order {order.number}"
            + (f" ({format_money(in_flight, order.currency)} is being refunded already)." if in_flight else "."),
            code="refund_exceeds_total",
            field="amount",
        )
    try:
        cleaned_restock = order_clean_restock(order=order, restock=restock, promised=_promised_restock(order))
    except OrderError as exc:
        raise RefundError(exc.message, code=exc.code, field=exc.field) from exc
    return RefundPlan(payment=payment, restock=cleaned_restock)


def refund_create(
    *,
    order_id: int,
    amount: int,
    reason: str,
    note: str,
    restock: Mapping[int | str, int],
    staff_user,
    expected_state: str | None = None,
) -> Refund:
    """Refund `amount` (minor units) of a paid order at Stripe; returns the refund row in its new state.

    `expected_state` is the form's `refund_state_token`; callers without a form may pass None.
    Refused as `refund_check` says; a refusal by Stripe leaves a failed row with Stripe's
    message and the order as it was.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        plan = refund_check(order=order, amount=amount, reason=reason, restock=restock, expected_state=expected_state)
        refund = Refund.objects.create(
            order=order,
            payment=plan.payment,
            amount=amount,
            currency=order.currency,
            reason=reason,
            note=note,
            restock={str(line_id): quantity for line_id, quantity in plan.restock.items()},
            created_by=staff_user,
        )
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.REFUND_REQUESTED,
            actor=Actor.staff(staff_user),
            message=f"Refund of {format_money(amount, order.currency)} sent to Stripe"
            + (f" ({refund.get_reason_display().lower()})" if reason else "")
            + (f". Note: {note}" if note else "."),
            data={"refund_id": refund.pk},
        )

    try:
        answer = gateway.refund_create(
            payment_intent_id=plan.payment.stripe_payment_intent_id,
            amount=amount,
            reason=reason,
            metadata={"refund_id": str(refund.pk), "order_number": order.number},
            # The order number keeps keys unique across databases sharing one Stripe account.
            idempotency_key=f"order-{order.number}-refund-{refund.pk}",
        )
    except gateway.PaymentGatewayError as exc:
        return _refund_record_gateway_error(refund=refund, error=exc, actor=Actor.staff(staff_user))
    return refund_apply(stripe_refund=answer, actor=Actor.staff(staff_user)) or refund


def refund_late_payment(*, order_id: int) -> Refund | None:
    """Give back, in full, a payment that arrived after its order was canceled and could not be
    reinstated (payments/paying/services.py flags the order and queues this). Made by the shop,
    not by staff; once per payment (a refund not failed is reused, keyed by its row as
    `refund_create`'s). None if there is nothing to give back."""
    with transaction.atomic():
        order = lock_order(order_id)
        payment = Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).first()
        if order.status != Order.Status.CANCELED or payment is None:
            return None
        refund = payment.refunds.exclude(status__in=FAILED_STATUSES).first()
        if refund is None:
            refund = Refund.objects.create(
                order=order,
                payment=payment,
                amount=payment.amount,
                currency=payment.currency,
                note="Automatic: the payment arrived after the order was canceled and its books were gone.",
            )
            order_event_record(
                order=order,
                kind=OrderEvent.Kind.REFUND_REQUESTED,
                actor=Actor.system(),
                message=f"Refund of {format_money(refund.amount, refund.currency)} sent to Stripe: the payment arrived "
                "after the order was canceled.",
                data={"refund_id": refund.pk},
            )
        elif refund.stripe_refund_id:
            return refund
    try:
        answer = gateway.refund_create(
            payment_intent_id=payment.stripe_payment_intent_id,
            amount=refund.amount,
            reason="",
            metadata={"refund_id": str(refund.pk), "order_number": order.number},
            idempotency_key=f"order-{order.number}-refund-{refund.pk}",
        )
    except gateway.PaymentGatewayError as exc:
        if exc.retryable:
            raise
        return _refund_record_gateway_error(refund=refund, error=exc, actor=Actor.system())
    return refund_apply(stripe_refund=answer, actor=Actor.system()) or refund


def _promised_restock(order: Order) -> dict[int, int]:
    promised: dict[int, int] = {}
    for restock in order.refunds.filter(status__in=IN_FLIGHT_STATUSES).values_list("restock", flat=True):
        for line_id, quantity in restock.items():
            promised[int(line_id)] = promised.get(int(line_id), 0) + quantity
    return promised


def _refund_record_gateway_error(*, refund: Refund, error: gateway.PaymentGatewayError, actor: Actor) -> Refund:
    with transaction.atomic():
        order = lock_order(refund.order_id)
        refund = lock_refund(refund.pk)
        if refund.stripe_refund_id:
            # Stripe's webhook got here while our call failed (a timeout after Stripe acted):
            # Stripe's word is the one that counts.
            return refund
        refund.status = Refund.Status.FAILED
        refund.failure_reason = error.message
        if error.retryable:
            # We cannot know whether Stripe acted on a request that timed out; if it did,
            # its webhook brings the refund back to life (see _refund_move).
            refund.failure_reason += " If Stripe did make the refund, its notification will update this row."
        refund.save(update_fields=["status", "failure_reason", "updated_at"])
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.REFUND_FAILED,
            actor=actor,
            message=f"Refund of {format_money(refund.amount, refund.currency)} failed: {refund.failure_reason}",
            data={"refund_id": refund.pk, "code": error.code, "stripe_code": error.stripe_code},
        )
    return refund


def refund_sync(*, stripe_refund_id: str, actor: Actor) -> Refund | None:
    """Ask Stripe for the refund as it is now and apply it: safe whatever order events come in."""
    return refund_apply(stripe_refund=gateway.refund_retrieve(stripe_refund_id), actor=actor)


def refunds_sync_for_charge(*, charge: Any, actor: Actor) -> list[Refund]:
    """`charge.refunded`: bring the charge's refunds still in flight up to date.

    Since API version 2022-11-15 a charge no longer lists its refunds; a refund we do not
    know yet arrives with its own `refund.created`.
    """
    payment = payment_for_stripe_ids(payment_intent_id=stripe_id_of(stripe_field(charge, "payment_intent")), charge_id=charge["id"])
    if payment is None:
        logger.info("Charge %s belongs to no order of this shop; ignored.", charge["id"])
        return []
    in_flight = payment.refunds.filter(status__in=IN_FLIGHT_STATUSES, stripe_refund_id__isnull=False)
    synced = [refund_sync(stripe_refund_id=stripe_id, actor=actor) for stripe_id in in_flight.values_list("stripe_refund_id", flat=True)]
    known = payment.refunds.exclude(status__in=FAILED_STATUSES).aggregate(total=Sum("amount"))["total"] or 0
    if stripe_field(charge, "amount_refunded", 0) > known:
        logger.info("Charge %s has refunds the shop has not heard of yet; their refund.created will bring them.", charge["id"])
    return [refund for refund in synced if refund is not None]


def refund_apply(*, stripe_refund: Any, actor: Actor) -> Refund | None:
    """Apply a Stripe refund's state to our rows and the order. Idempotent, in any order.

    Returns our refund row, or None for a refund of a payment that is not the shop's.
    """
    payment = payment_for_stripe_ids(
        payment_intent_id=stripe_id_of(stripe_field(stripe_refund, "payment_intent")), charge_id=stripe_id_of(stripe_field(stripe_refund, "charge"))
    )
    if payment is None:
        logger.warning("Refund %s is for no payment of this shop; ignored.", stripe_refund["id"])
        return None
    mirrored = stripe_mirror(djstripe_models.Refund, stripe_refund)
    with transaction.atomic():
        order = lock_order(payment.order_id)
        refund, known_to_stripe = _refund_row_for(stripe_refund=stripe_refund, payment=payment, order=order, actor=actor)
        _refund_move(order=order, refund=refund, stripe_refund=stripe_refund, actor=actor, known_to_stripe=known_to_stripe)
        if mirrored is not None and refund.djstripe_refund_id is None:
            refund.djstripe_refund = mirrored
        refund.save()
        return refund


def _refund_row_for(*, stripe_refund: Any, payment: Payment, order: Order, actor: Actor) -> tuple[Refund, bool]:
    """Our row for a Stripe refund, locked: by Stripe id, by our metadata, or new (made in Stripe).

    Also says whether the row already held Stripe's word on this refund (its Stripe id).
    """
    stripe_id = stripe_refund["id"]
    refund = lock_refund_matching(stripe_refund_id=stripe_id)
    if refund is not None:
        return refund, True
    own_id = stripe_field(stripe_field(stripe_refund, "metadata", {}), "refund_id")
    if own_id and str(own_id).isdigit():
        refund = lock_refund_matching(
            pk=int(own_id), payment=payment, stripe_refund_id__isnull=True, amount=stripe_refund["amount"]
        )
        if refund is not None:
            refund.stripe_refund_id = stripe_id
            return refund, False
    refund = Refund.objects.create(
        order=order,
        payment=payment,
        stripe_refund_id=stripe_id,
        amount=stripe_refund["amount"],
        currency=stripe_refund["currency"].upper(),
        reason=stripe_field(stripe_refund, "reason", "") if stripe_field(stripe_refund, "reason") in Refund.Reason.values else "",
        origin=Refund.Origin.STRIPE,
    )
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.REFUND_SEEN,
        actor=actor,
        message=f"Stripe reports a refund of {format_money(refund.amount, refund.currency)} ({stripe_id}) "
        "made outside the shop, in Stripe's dashboard.",
        data={"refund_id": refund.pk},
    )
    return refund, False


def _refund_move(*, order: Order, refund: Refund, stripe_refund: Any, actor: Actor, known_to_stripe: bool) -> None:
    new = stripe_refund["status"]
    old = refund.status
    # A failure written by us (Stripe could not be reached) is not Stripe's verdict: a
    # refund Stripe made after all still counts. A failure Stripe reported is final.
    if old in FAILED_STATUSES and known_to_stripe:
        if new != old:
            logger.info("Ignored %s for refund %s: Stripe already reported it %s.", new, refund, old)
        return
    if old == Refund.Status.SUCCEEDED:
        if new in FAILED_STATUSES:
            _refund_failed_after_success(order=order, refund=refund, stripe_refund=stripe_refund, actor=actor)
        return
    if new == Refund.Status.SUCCEEDED:
        _refund_succeeded(order=order, refund=refund, actor=actor)
    elif new in FAILED_STATUSES:
        refund.status = new
        refund.failure_reason = _failure_words(stripe_refund)
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.REFUND_FAILED,
            actor=actor,
            message=f"Refund of {format_money(refund.amount, refund.currency)} ({refund.stripe_refund_id}) "
            f"{new} at Stripe: {refund.failure_reason}. The order is as it was.",
            data={"refund_id": refund.pk},
        )
    elif new in Refund.Status.values:
        refund.status = new


def _failure_words(stripe_refund: Any) -> str:
    code = stripe_field(stripe_refund, "failure_reason", "")
    words = FAILURE_REASONS.get(code, code or "Stripe gave no reason")
    return words[:1].upper() + words[1:]


def _refund_succeeded(*, order: Order, refund: Refund, actor: Actor) -> None:
    refund.status = Refund.Status.SUCCEEDED
    refund.failure_reason = ""
    refund.succeeded_at = timezone.now()
    if order.status == Order.Status.CANCELED:
        # Money that came after the order was canceled (`refund_late_payment`): the order never
        # counted it, so there is nothing to record on it or credit; the history says it went back.
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.REFUND,
            reference=f"refund-{refund.pk}",
            actor=actor,
            message=f"Refunded {format_money(refund.amount, refund.currency)}: the payment arrived after the order "
            "was canceled.",
            data={"amount": refund.amount},
        )
        queue_after_commit("payments.refund_notify", refund_id=refund.pk)
        return
    if refund.created_by_id is not None:
        # The staff member made the refund; a webhook only confirms it.
        actor = dataclasses.replace(actor, kind=OrderEvent.Actor.STAFF, user=refund.created_by)
    try:
        order_record_refund(
            order_id=order.pk, amount=refund.amount, actor=actor, reference=f"refund-{refund.pk}", restock=refund.restock
        )
    except OrderError as exc:
        # Stripe has paid the money out whatever our books say: keep the refund, ask staff.
        order_flag(
            order_id=order.pk,
            actor=actor,
            reason=f"Stripe refunded {format_money(refund.amount, refund.currency)} ({refund.stripe_refund_id}) "
            f"but the order could not record it: {exc.message}",
        )
        return
    # Numbered here, in the transaction that records the refund: one per refund, no gaps;
    # the notify task renders it and sends it with the email.
    credit_note_issue(refund=refund)
    # Robust: a broker that is down must not undo a refund Stripe has made.
    queue_after_commit("payments.refund_notify", refund_id=refund.pk)


def _refund_failed_after_success(*, order: Order, refund: Refund, stripe_refund: Any, actor: Actor) -> None:
    """Stripe reported a refund succeeded, then failed: the money went back to the shop's balance.

    The order already counts it as refunded and its copies are back on the shelf; Stripe
    never moves an order back, and neither do we. Staff must decide (another refund,
    contact the shopper), so the order is flagged with what happened. Runs once per refund
    (the locked row leaves succeeded here), so the flag needs no reference.
    """
    refund.status = stripe_refund["status"]
    refund.failure_reason = _failure_words(stripe_refund)
    order_flag(
        order_id=order.pk,
        actor=actor,
        reason=f"Refund {refund.stripe_refund_id} of {format_money(refund.amount, refund.currency)} failed at Stripe "
        f"after it had succeeded ({refund.failure_reason.lower()}). The shopper has not received the money, which is "
        "back in the shop's Stripe balance, but the order still counts it as refunded: contact the shopper.",
    )
    # The credit note already issued stays as it is; a new document cancels it.
    credit_note_cancel(refund=refund)


def refund_notify(*, refund_id: int) -> Refund:
    """Email the shopper about a succeeded refund, once, with its credit note attached."""
    # Rendered first, in its own transaction: a render that fails raises before anything is
    # sent, and the task's retry finds the same numbered note.
    note_id = CreditNote.objects.filter(refund_id=refund_id, kind=CreditNote.Kind.CREDIT_NOTE).values_list("pk", flat=True).first()
    note = credit_note_render(credit_note_id=note_id) if note_id is not None else None
    with transaction.atomic():
        refund = lock_refund_with_order(refund_id)
        if refund.shopper_notified_at is not None or refund.status != Refund.Status.SUCCEEDED:
            return refund
        order = refund.order
        context = {
            "refund": refund,
            "order": order,
            "payment": refund.payment,
            "credit_note": note,
            "left_paid_amount": 0 if order.status == Order.Status.CANCELED else order.total_amount - order.refunded_amount,
            "shop_name": settings.SHOP_NAME,
        }
        message = email_from_templates(
            subject=f"Refund of {format_money(refund.amount, refund.currency)} for order {order.number}",
            template="emails/refund",
            context=context,
            to=[order.email],
        )
        if note is not None:
            attach_pdf(message, filename=credit_note_filename(note), stored_file=note.pdf)
        # Sent under the row lock and marked in the same transaction, as receipts are: a
        # concurrent run waits and finds it sent; a failed send rolls back and is retried.
        message.send()
        refund.shopper_notified_at = timezone.now()
        refund.save(update_fields=["shopper_notified_at"])
    return refund


def dispute_record(*, dispute: Any, actor: Actor) -> Order | None:
    """`charge.dispute.created`: flag the order for staff; Stripe refuses refunds while it is open."""
    payment = payment_for_stripe_ids(payment_intent_id=stripe_id_of(stripe_field(dispute, "payment_intent")), charge_id=stripe_id_of(stripe_field(dispute, "charge")))
    if payment is None:
        logger.warning("Dispute %s is for no payment of this shop; ignored.", dispute["id"])
        return None
    reason = stripe_field(dispute, "reason", "general").replace("_", " ")
    return order_flag(
        order_id=payment.order_id,
        actor=actor,
        reference=dispute["id"],
        reason=f"The shopper disputed {format_money(dispute['amount'], dispute['currency'].upper())} "
        f"({reason}, {dispute['id']}): answer it in Stripe's dashboard. Stripe refuses refunds while it is open.",
    )


# Stripe's webhook settles a pending refund within seconds: a refund left pending longer is
# worth asking Stripe about when staff look at it.
READ_BACK_AFTER = timedelta(seconds=10)


def refund_read_back(*, refund: Refund) -> Refund:
    """Stripe's answer on a refund still in flight, applied; the row as it is when Stripe cannot say."""
    if refund.status not in IN_FLIGHT_STATUSES or not refund.stripe_refund_id:
        return refund
    try:
        return refund_sync(stripe_refund_id=refund.stripe_refund_id, actor=Actor.system()) or refund
    except ShopError as exc:
        logger.warning("Could not ask Stripe about refund %s: %s", refund.stripe_refund_id, exc)
        return refund


def refund_read_back_quiet(*, order: Order) -> None:
    """Before a refund page or the order's admin page shows its refunds: one refund Stripe
    answered but never settled is asked of Stripe, and `order` refreshed if it moved."""
    refund = refund_quiet_in_flight(order=order, quiet_for=READ_BACK_AFTER)
    if refund is not None and refund_read_back(refund=refund).status != refund.status:
        order.refresh_from_db()
