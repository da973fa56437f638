"""Paying for orders: one PaymentIntent per order, and the transitions Stripe drives.

`payment_start` creates (or finds) the order's PaymentIntent. Everything Stripe tells us
afterwards, by webhook or by `payments_reconcile`, goes through `payment_sync`: it asks
Stripe for the PaymentIntent as it is now and applies that state. Applying the current
state rather than the event's snapshot makes the handlers safe out of order (a late
`payment_failed` finds the PaymentIntent succeeded) and run twice (the second run finds
nothing left to do). Locks as bookstore/locks.py orders them: order, then payment.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from djstripe import models as djstripe_models

from bookstore.celery import queue_after_commit
from bookstore.errors import ShopError
from bookstore.locks import lock_cart, lock_order, lock_payment
from bookstore.money import format_money
from cart.services import cart_remove_purchased
from orders.models import Order, OrderEvent
from orders.services import (
    Actor,
    OrderError,
    order_cancel,
    order_event_record,
    order_expire_unpaid,
    order_flag,
    order_mark_paid,
    order_reinstate,
)
from payments import gateway
from payments.customers.selectors import customer_for_user_or_none
from payments.models import Payment
from payments.paying.methods import DELAYED_METHODS, METHOD_NAMES, payment_method_words
from payments.paying.checkout_sessions import checkout_session_intent, checkout_sessions_close
from payments.paying.inbox import webhook_events_recover
from payments.documents.services import receipt_request
from payments.stripe_objects import stripe_field, stripe_mirror

logger = logging.getLogger(__name__)


class PaymentError(ShopError):
    pass


def payment_start(*, order_id: int) -> Payment:
    """The order's Payment, creating its PaymentIntent at Stripe the first time.

    No lock is held while Stripe is called (bookstore/locks.py): the Payment row is
    written and committed first, then Stripe is asked with an idempotency key made from
    the order, then the answer is applied under the lock. Two tabs or a double click that
    race here send the same key and get the same PaymentIntent back, and a crash between
    Stripe's answer and our commit is healed the same way by the next call.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        payment = Payment.objects.filter(order=order).first()
        _check_payable(order)
        if payment is not None and payment.stripe_payment_intent_id:
            return payment
        if order.reserved_until < timezone.now():
            raise PaymentError(
                f"The time to pay for order {order.number} has run out and its books were released. "
                "Your cart still holds them: place the order again.",
                code="reservation_expired",
            )
        if payment is None:
            payment = Payment.objects.create(order=order, amount=order.total_amount, currency=order.currency)

    intent = gateway.payment_intent_create(
        amount=order.total_amount,
        currency=order.currency,
        idempotency_key=f"order-{order.number}-payment",
        metadata={"order_number": order.number, "order_id": str(order.pk)},
        receipt_email=order.email,
        description=f"{settings.SHOP_NAME} order {order.number}",
        # A returning shopper's Customer, so a saved card can pay at once (no call if none yet).
        customer=getattr(customer_for_user_or_none(order.user), "id", None),
    )
    mirrored_intent = stripe_mirror(djstripe_models.PaymentIntent, intent)

    with transaction.atomic():
        order = lock_order(order_id)
        payment = lock_payment(payment.pk)
        if not payment.stripe_payment_intent_id:
            payment.stripe_payment_intent_id = intent.id
            payment.payment_intent = mirrored_intent
            payment.client_secret = intent.client_secret
            payment.status = intent.status
            payment.save(update_fields=["stripe_payment_intent_id", "payment_intent", "client_secret", "status", "updated_at"])
            order_event_record(
                order=order,
                kind=OrderEvent.Kind.PAYMENT_STARTED,
                actor=Actor.system(),
                message=f"PaymentIntent {intent.id} created for {format_money(intent.amount, order.currency)}.",
            )
    # The reservation may have expired while Stripe answered: the client secret is never
    # handed out for an order that can no longer be paid (expiry cancels the PaymentIntent).
    _check_payable(order)
    return payment


def _check_payable(order: Order) -> None:
    if order.status != Order.Status.PENDING_PAYMENT:
        raise PaymentError(
            f"Order {order.number} is {order.get_status_display().lower()}; there is nothing to pay.",
            code="not_payable",
        )


def payment_sync(*, payment_intent_id: str, actor: Actor) -> Payment | None:
    """Fetch the PaymentIntent from Stripe and apply its state to the order."""
    intent = gateway.payment_intent_retrieve(payment_intent_id)
    return payment_apply_intent(intent=intent, actor=actor)


def payment_heal(*, order: Order) -> bool:
    """Ask Stripe about the payment of an order whose shopper is waiting for it, when its
    webhook seems lost; apply the answer with `payment_sync`. Returns whether Stripe was asked
    (then `order` is refreshed).

    Only for an order still awaiting payment whose PaymentIntent is not final, and only once
    nothing has happened for PAYMENT_HEAL_AFTER_SECONDS, both to the payment row and since
    someone started polling: the webhook nearly always comes first and saves the call. Then
    at most once per PAYMENT_HEAL_THROTTLE_SECONDS per order however many tabs, clients and
    web workers poll (`cache.add` is atomic). A Stripe error never breaks the poll: it is
    logged and the caller answers the current state.
    """
    if order.status != Order.Status.PENDING_PAYMENT:
        return False
    payment = (
        Payment.objects.filter(order=order)
        .exclude(status__in=[Payment.Status.SUCCEEDED, Payment.Status.CANCELED])
        .only("stripe_payment_intent_id", "updated_at")
        .first()
    )
    if payment is None:
        return False
    now = timezone.now().timestamp()
    # Remembered for as long as the order page keeps polling (five minutes) and then some.
    waiting_since = cache.get_or_set(f"payment-heal:{order.number}:waiting-since", now, timeout=15 * 60)
    if now - max(waiting_since, payment.updated_at.timestamp()) < settings.PAYMENT_HEAL_AFTER_SECONDS:
        return False
    if not cache.add(f"payment-heal:{order.number}", now, timeout=settings.PAYMENT_HEAL_THROTTLE_SECONDS):
        return False
    try:
        if payment.stripe_payment_intent_id:
            payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=Actor.system())
        else:
            # Paid on Stripe's hosted page: its PaymentIntent is known from the session, in the same one call.
            intent = checkout_session_intent(order_number=order.number)
            if intent is None:
                return False
            payment_apply_intent(intent=intent, actor=Actor.system())
    except ShopError as exc:
        logger.warning("Could not ask Stripe about the payment of order %s for its waiting shopper: %s", order.number, exc)
        return False
    order.refresh_from_db()
    return True


def _payment_for_intent(intent) -> Payment | None:
    payment = Payment.objects.filter(stripe_payment_intent_id=intent["id"]).first()
    if payment is not None:
        return payment
    # Stripe made the PaymentIntent but our row was lost (a crash before commit): the
    # metadata names the order, so the payment is not lost with it.
    order_number = stripe_field(stripe_field(intent, "metadata", {}), "order_number")
    order = Order.objects.filter(number=order_number).first() if order_number else None
    if order is None:
        return None
    # Or the row was written but Stripe's answer to `payment_start` never came back.
    Payment.objects.filter(order=order, stripe_payment_intent_id__isnull=True).update(
        stripe_payment_intent_id=intent["id"], client_secret=stripe_field(intent, "client_secret", "")
    )
    payment, _ = Payment.objects.get_or_create(
        order=order,
        defaults=dict(
            stripe_payment_intent_id=intent["id"],
            client_secret=stripe_field(intent, "client_secret", ""),
            amount=intent["amount"],
            currency=intent["currency"].upper(),
            status=intent["status"],
        ),
    )
    return payment if payment.stripe_payment_intent_id == intent["id"] else None


def payment_apply_intent(*, intent, actor: Actor) -> Payment | None:
    """Apply a PaymentIntent's current state to its order. Idempotent."""
    payment = _payment_for_intent(intent)
    if payment is None:
        logger.warning("PaymentIntent %s belongs to no order of this shop; ignored.", intent["id"])
        return None
    # Stripe calls (the charge, dj-stripe's mirrors) happen before the order is locked, so
    # the lock is held only while our rows change.
    mirrored_intent = stripe_mirror(djstripe_models.PaymentIntent, intent)
    succeeded = intent["status"] == Payment.Status.SUCCEEDED
    charge = _latest_charge(intent) if succeeded else None
    mirrored_charge = stripe_mirror(djstripe_models.Charge, charge) if charge else None
    saved_card = stripe_field(intent, "payment_method") if succeeded and stripe_field(intent, "setup_future_usage") else None
    if saved_card is not None and not isinstance(saved_card, str):
        # Stripe attached the card to the Customer as the payment succeeded; dj-stripe's mirror of
        # the PaymentIntent keeps an existing payment method row as it was, so it learns it here.
        stripe_mirror(djstripe_models.PaymentMethod, saved_card)
    # A payment that succeeds clears the cart in the same transaction as the order turns
    # paid, so a shopper who sees "paid" never sees the books still in the cart; the
    # cart's lock comes before the order's (bookstore/locks.py).
    cart_id = Order.objects.filter(pk=payment.order_id).values_list("cart_id", flat=True).first() if succeeded else None
    with transaction.atomic():
        if cart_id is not None:
            lock_cart(cart_id)
        order = lock_order(payment.order_id)
        payment = lock_payment(payment.pk)
        if mirrored_intent is not None and payment.payment_intent_id is None:
            payment.payment_intent = mirrored_intent
        status = intent["status"]
        previous_status = payment.status
        payment.method_type = _method_type(intent) or payment.method_type
        if payment.status == Payment.Status.SUCCEEDED and status != Payment.Status.SUCCEEDED:
            # Stripe never moves a PaymentIntent back from succeeded; this is a stale copy.
            logger.info("Ignored %s for PaymentIntent %s: it already succeeded.", status, intent["id"])
            return payment
        if payment.status == Payment.Status.CANCELED and status != Payment.Status.CANCELED:
            logger.info("Ignored %s for PaymentIntent %s: it was canceled.", status, intent["id"])
            return payment
        if status == Payment.Status.SUCCEEDED:
            _record_charge(payment=payment, charge=charge, mirrored_charge=mirrored_charge)
            _apply_succeeded(order=order, payment=payment, intent=intent, actor=actor)
        elif status == Payment.Status.CANCELED:
            _apply_canceled(order=order, payment=payment, intent=intent, actor=actor)
        else:
            _apply_in_progress(order=order, payment=payment, intent=intent, actor=actor, previous_status=previous_status)
        payment.save()
        return payment


def _method_type(intent) -> str:
    """The type of the PaymentMethod tried last: the intent's (expanded by `payment_sync`), or the failed one's."""
    method = stripe_field(intent, "payment_method") or stripe_field(stripe_field(intent, "last_payment_error") or {}, "payment_method")
    return "" if method is None or isinstance(method, str) else stripe_field(method, "type", "")


def _apply_succeeded(*, order: Order, payment: Payment, intent, actor: Actor) -> None:
    received = stripe_field(intent, "amount_received", intent["amount"])
    currency = intent["currency"].upper()
    first_time = payment.status != Payment.Status.SUCCEEDED
    payment.status = Payment.Status.SUCCEEDED
    payment.last_error_code = payment.last_decline_code = payment.last_error_message = ""
    if received != order.total_amount or currency != order.currency:
        if first_time:
            order_flag(
                order_id=order.pk,
                actor=actor,
                reference=intent["id"],
                reason=(
                    f"Stripe reports {format_money(received, currency)} paid for an order of "
                    f"{format_money(order.total_amount, order.currency)}; not marked paid."
                ),
            )
        return
    if order.status == Order.Status.CANCELED and first_time:
        order = _apply_late_success(order=order, intent=intent, actor=actor, amount=format_money(received, currency))
    if order.status != Order.Status.PENDING_PAYMENT:
        return
    order_mark_paid(
        order_id=order.pk, actor=actor, message=f"Paid {format_money(received, currency)} by {payment.method_words or 'card'}."
    )
    receipt_request(order_id=order.pk)
    if order.cart_id:
        _cart_remove_purchased(order)


def _apply_late_success(*, order: Order, intent, actor: Actor, amount: str) -> Order:
    """Money arrived for a canceled order (a debit that settled after the reservation ran out, a
    payment page left open): never kept silently. The order comes back if its books can all be
    reserved again, to be marked paid; otherwise the money goes back and staff are told. The
    refund calls Stripe, so it is queued for after this transaction (no Stripe call under the
    order's lock); the flag stays until staff clear it."""
    try:
        return order_reinstate(
            order_id=order.pk,
            actor=actor,
            reason=f"Payment of {amount} ({intent['id']}) arrived after the order was canceled; its books are reserved again.",
        )
    except OrderError as exc:
        order_flag(
            order_id=order.pk,
            actor=actor,
            reference=intent["id"],
            reason=f"Payment of {amount} ({intent['id']}) succeeded after the order was canceled, and the books could "
            f"not be reserved again ({exc.message}): it is being refunded automatically.",
        )
        queue_after_commit("payments.refund_late_payment", order_id=order.pk)
        return order


def _cart_remove_purchased(order: Order) -> None:
    # Usually the cart locked first above; one merged into an account's meanwhile is locked
    # here, after the order: a sign-in racing its own payment, rare enough to wait on.
    bought: dict[int, int] = {}
    for line in order.lines.all():
        if line.book_id:
            bought[line.book_id] = bought.get(line.book_id, 0) + line.quantity
    cart_remove_purchased(cart_id=order.cart_id, quantities=bought)


def _latest_charge(intent):
    # `payment_sync`'s retrieve expands it with its balance transaction, so mirroring it costs
    # no call; a bare id (an intent not fetched by it) gives no card details to record.
    charge = stripe_field(intent, "latest_charge")
    return None if isinstance(charge, str) else charge


def _record_charge(*, payment: Payment, charge, mirrored_charge) -> None:
    if not charge:
        return
    details = stripe_field(charge, "payment_method_details", {}) or {}
    card = stripe_field(details, "card", {}) or {}
    payment.card_brand = stripe_field(card, "brand", "")
    payment.card_last4 = stripe_field(card, "last4", "")
    payment.method_type = stripe_field(details, "type", "") or payment.method_type
    payment.method_description = payment_method_words(details)
    if mirrored_charge is not None:
        payment.charge = mirrored_charge


def _apply_canceled(*, order: Order, payment: Payment, intent, actor: Actor) -> None:
    payment.status = Payment.Status.CANCELED
    if order.status == Order.Status.PENDING_PAYMENT:
        reason = stripe_field(intent, "cancellation_reason", "")
        order_cancel(
            order_id=order.pk,
            actor=actor,
            reason=f"Payment canceled at Stripe{f' ({reason})' if reason else ''}; the books are back on the shelf.",
        )


# What the shopper is told when the bank does not pay a direct debit after all.
DEBIT_RETURNED = (
    "Your bank did not pay the SEPA Direct Debit, so nothing was taken. The order was canceled and its books went "
    "back on the shelf; your cart still holds them, so you can order again and pay another way."
)


def _apply_in_progress(*, order: Order, payment: Payment, intent, actor: Actor, previous_status: str) -> None:
    status = intent["status"]
    error = stripe_field(intent, "last_payment_error")
    if status == Payment.Status.REQUIRES_PAYMENT_METHOD and error:
        code = stripe_field(error, "code", "")
        decline_code = stripe_field(error, "decline_code", "")
        # A payment that fails after `processing` is a debit the bank returned days later: the
        # order held its books for it, so it is canceled now rather than left payable.
        late = previous_status == Payment.Status.PROCESSING or payment.method_type in DELAYED_METHODS
        if late:
            message = DEBIT_RETURNED
        else:
            message = gateway.decline_message(code=code, decline_code=decline_code, stripe_message=stripe_field(error, "message", ""))
        failed_charge = stripe_field(error, "charge", "") or stripe_field(stripe_field(intent, "latest_charge"), "id", "")
        is_new_failure = (payment.last_error_code, payment.last_decline_code, payment.last_error_message) != (
            code,
            decline_code,
            message,
        ) or payment.status != status
        payment.last_error_code, payment.last_decline_code, payment.last_error_message = code, decline_code, message
        if is_new_failure:
            order_event_record(
                order=order,
                kind=OrderEvent.Kind.PAYMENT_FAILED,
                actor=actor,
                message=f"Payment failed: {message} ({decline_code or code}{f', charge {failed_charge}' if failed_charge else ''}).",
                data={"code": code, "decline_code": decline_code},
            )
        if late and order.status == Order.Status.PENDING_PAYMENT:
            order_cancel(
                order_id=order.pk,
                actor=actor,
                reason=f"The bank returned the {METHOD_NAMES.get(payment.method_type, 'payment')} ({code}); "
                "the books are back on the shelf.",
            )
            queue_after_commit("payments.payment_email_send", order_id=order.pk, kind="failed")
    elif status in (Payment.Status.PROCESSING, Payment.Status.REQUIRES_ACTION):
        # A new attempt is under way: the last card's error no longer describes it.
        payment.last_error_code = payment.last_decline_code = payment.last_error_message = ""
        if status == Payment.Status.PROCESSING and payment.method_type in DELAYED_METHODS:
            _record_settling(order=order, payment=payment, intent=intent, actor=actor)
    payment.status = status


def _record_settling(*, order: Order, payment: Payment, intent, actor: Actor) -> None:
    """The bank takes days to pay (SEPA Direct Debit): say so in the history and, once, by email.
    The order keeps its books meanwhile (`payments_release_expired` skips it)."""
    # Under the order's lock the check is exact; OrderEvent's constraint backs it.
    if order.events.filter(kind=OrderEvent.Kind.PAYMENT_PROCESSING, reference=intent["id"]).exists():
        return
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.PAYMENT_PROCESSING,
        actor=actor,
        reference=intent["id"],
        message=f"The bank is processing the {METHOD_NAMES.get(payment.method_type, 'payment')}; the books are held "
        "until it settles, past the reservation if need be.",
    )
    queue_after_commit("payments.payment_email_send", order_id=order.pk, kind="processing")


def payments_reconcile(*, now: datetime | None = None) -> list[str]:
    """Heal lost webhooks: feed the events Stripe could not deliver to the webhook inbox, then
    ask Stripe about payments of orders still pending a while after they started.

    Both apply the very transitions the webhooks apply. Returns the numbers of the orders it
    asked Stripe about.
    """
    try:
        recovered = webhook_events_recover()
    except gateway.PaymentGatewayError as exc:
        logger.warning("Could not list the events Stripe has not delivered: %s", exc)
    else:
        if recovered:
            logger.warning("Stored %d events Stripe had not delivered; the inbox processes them.", len(recovered))
    # Money kept for a canceled order whose refund was never queued (a broker down then): queue it.
    late = Payment.objects.filter(status=Payment.Status.SUCCEEDED, order__status=Order.Status.CANCELED, refunds__isnull=True)
    for order_id in late.values_list("order_id", flat=True):
        queue_after_commit("payments.refund_late_payment", order_id=order_id)
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    payments = (
        Payment.objects.filter(
            order__status=Order.Status.PENDING_PAYMENT, created_at__lt=cutoff, stripe_payment_intent_id__isnull=False
        )
        .exclude(status=Payment.Status.SUCCEEDED, order__needs_attention=True)
        .select_related("order")
        .order_by("created_at")
    )
    numbers = []
    for payment in payments:
        try:
            payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=Actor.system())
        except (gateway.PaymentGatewayError, OrderError) as exc:
            logger.warning("Could not reconcile order %s: %s", payment.order.number, exc)
            continue
        numbers.append(payment.order.number)
    return numbers


def payments_release_expired(*, now: datetime | None = None) -> list[str]:
    """Cancel orders left unpaid past their reservation, their PaymentIntents first.

    The PaymentIntent is canceled at Stripe before the order, so a shopper cannot pay for
    books already back on the shelf. If Stripe refuses because the payment has gone
    through meanwhile, the order is synced (and marked paid) instead.
    """
    cutoff = now or timezone.now()
    # Stripe's hosted pages close first (their PaymentIntents cannot be canceled directly);
    # one paid meanwhile has its PaymentIntent linked, and is synced below.
    unclosed = checkout_sessions_close(
        orders=Order.objects.filter(status=Order.Status.PENDING_PAYMENT, reserved_until__lt=cutoff)
    )
    # A row still awaiting Stripe's first answer has no client secret out, so nobody can pay
    # it: its order is canceled like one never started (`payment_start` re-checks).
    expired_with_payment = Payment.objects.filter(
        order__status=Order.Status.PENDING_PAYMENT, order__reserved_until__lt=cutoff, stripe_payment_intent_id__isnull=False
    ).select_related("order")
    numbers, still_open = [], []
    for payment in expired_with_payment:
        order_id, number = payment.order_id, payment.order.number
        if payment.is_settling:
            # The bank has the payment: Stripe cancels no `processing` PaymentIntent, and the
            # books wait for the bank's answer (days for a SEPA debit) without asking Stripe.
            still_open.append(order_id)
            continue
        try:
            payment = payment_cancel(payment=payment, purpose="expire", actor=Actor.system())
        except gateway.PaymentGatewayError as exc:
            logger.warning("Could not cancel the payment of expired order %s: %s", number, exc)
            payment = None
        if payment is not None and payment.status == Payment.Status.CANCELED:
            numbers.append(number)
        else:
            # Paid meanwhile, still processing, or Stripe unreachable: the next run looks again.
            still_open.append(order_id)
    return numbers + order_expire_unpaid(now=cutoff, skip_order_ids=still_open + unclosed)


def payment_cancel(*, payment: Payment, purpose: str, actor: Actor) -> Payment | None:
    """Cancel the payment's PaymentIntent at Stripe and apply the answer; the payment as it is now.

    Stripe cancels nothing that succeeded or is processing (`payment_intent_unexpected_state`):
    then the PaymentIntent is synced instead, which may mark the order paid. Any other refusal
    raises `gateway.PaymentGatewayError`. `purpose` keeps each reason's idempotency key apart.
    """
    try:
        intent = gateway.payment_intent_cancel(
            payment.stripe_payment_intent_id, idempotency_key=f"order-{payment.order.number}-{purpose}"
        )
    except gateway.PaymentGatewayError as exc:
        if exc.stripe_code != "payment_intent_unexpected_state":
            raise
        return payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=actor)
    return payment_apply_intent(intent=intent, actor=actor)
