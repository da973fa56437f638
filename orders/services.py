"""Every write to an order: placing it, and every move of its status.

Each transition locks the order row, re-checks the status, returns quietly when the
order is already where it was asked to go (a duplicate webhook, a double click),
refuses an impossible move, and writes an OrderEvent saying who or what moved it.
"""

import logging
import secrets
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bookstore.celery import queue_after_commit
from bookstore.errors import ShopError
from bookstore.locks import lock_cart, lock_order
from bookstore.money import format_money
from bookstore.models import Book
from cart.models import Cart, CartLine
from orders.addresses.services import saved_address_remember
from orders.models import Order, OrderEvent, OrderLine
from orders.signals import order_superseding

logger = logging.getLogger(__name__)

# Crockford's base32 without the look-alikes (0/O, 1/I/L): easy to read out on the phone.
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_NUMBER_LENGTH = 7


class OrderError(ShopError):
    pass


@dataclass(frozen=True)
class Actor:
    """Who or what caused a change, as the order's history will show it."""

    kind: str
    user: Any = None
    stripe_event_id: str = ""
    data: dict = field(default_factory=dict)

    @classmethod
    def shopper(cls, user=None) -> "Actor":
        return cls(OrderEvent.Actor.SHOPPER, user=user if user is not None and user.is_authenticated else None)

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(OrderEvent.Actor.STAFF, user=user)

    @classmethod
    def webhook(cls, stripe_event_id: str) -> "Actor":
        return cls(OrderEvent.Actor.WEBHOOK, stripe_event_id=stripe_event_id)

    @classmethod
    def system(cls) -> "Actor":
        return cls(OrderEvent.Actor.SYSTEM)


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""


def order_event_record(
    *,
    order: Order,
    kind: OrderEvent.Kind,
    actor: Actor,
    message: str = "",
    from_status: str = "",
    to_status: str = "",
    data: dict | None = None,
    reference: str = "",
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        reference=reference,
        actor=actor.kind,
        actor_user=actor.user,
        stripe_event_id=actor.stripe_event_id,
        message=message,
        from_status=from_status,
        to_status=to_status,
        data={**actor.data, **(data or {})},
    )


def _new_order_number() -> str:
    return "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH))


def _reserve_stock(lines) -> None:
    # Books are reserved in id order so that two orders for the same books queue
    # behind each other's row locks instead of deadlocking.
    for line in sorted(lines, key=lambda line: line.book_id):
        # The WHERE makes the update conditional: under concurrency PostgreSQL re-checks
        # it against the newest row, so stock can never go below zero.
        reserved = Book.objects.filter(pk=line.book_id, stock__gte=line.quantity).update(stock=F("stock") - line.quantity)
        if not reserved:
            left = Book.objects.filter(pk=line.book_id).values_list("stock", flat=True).first() or 0
            message = (
                f"“{line.book.title}” has just sold out."
                if left == 0
                else f"Only {left} copies of “{line.book.title}” are left; please change the quantity in your cart."
            )
            raise OrderError(message, code="insufficient_stock")


def _release_stock(order: Order) -> None:
    for line in sorted(order.lines.all(), key=lambda line: line.book_id or 0):
        remaining = line.quantity - line.restocked_quantity
        if line.book_id and remaining:
            Book.objects.filter(pk=line.book_id).update(stock=F("stock") + remaining)
    order.stock_released = True


def order_place(
    *,
    cart: Cart,
    email: str,
    shipping: ShippingAddress,
    user=None,
    checkout_token: str | None = None,
) -> Order:
    """Turn the cart into an order awaiting payment, reserving its stock.

    The cart is left as it is: it is emptied only once a payment is confirmed. A
    repeated `checkout_token` (a double-submitted form) returns the first order.

    One cart has at most one order awaiting payment. Checking out an unchanged cart (same
    books, quantities and prices, same buyer and address) returns that order while its
    reservation lasts; anything else supersedes it (`order_supersede`: its payment stopped
    at Stripe, then canceled, its books back on the shelf) before the new order reserves
    its books. Superseding calls Stripe, so it runs between the cart's locked checks.
    """
    actor = Actor.shopper(user)
    replaced: list[str] = []
    for _attempt in range(3):
        placed, stale = _order_place_locked(
            cart=cart, email=email, shipping=shipping, user=user, checkout_token=checkout_token, replaced=replaced
        )
        if placed is not None:
            return placed
        for order in stale:
            order_supersede(order_id=order.pk, actor=actor)
            replaced.append(order.number)
    raise OrderError(
        "Your cart changed while we placed your order; please check it and place the order again.", code="cart_changed"
    )


def _books_ordered(order: Order) -> list[tuple]:
    return sorted((line.book_id, line.quantity, line.unit_price_amount) for line in order.lines.all())


def _books_in_cart(lines: list[CartLine]) -> list[tuple]:
    return sorted((line.book_id, line.quantity, line.book.price_amount) for line in lines)


def _same_checkout(order: Order, *, lines: list[CartLine], email: str, shipping: ShippingAddress, user) -> bool:
    """Whether `order` is what checking out these cart lines with these details would place now."""
    ordered_to = (order.shipping_name, order.shipping_line1, order.shipping_line2, order.shipping_city)
    ordered_to += (order.shipping_postal_code, order.shipping_country)
    wanted_to = (shipping.name, shipping.line1, shipping.line2, shipping.city, shipping.postal_code, shipping.country.upper())
    return (
        _books_ordered(order) == _books_in_cart(lines)
        and order.currency == settings.SHOP_CURRENCY
        and order.user_id == (user.pk if user is not None and user.is_authenticated else None)
        and order.email == email
        and ordered_to == wanted_to
        and order.reserved_until > timezone.now()
    )


@transaction.atomic
def _order_place_locked(
    *, cart: Cart, email: str, shipping: ShippingAddress, user, checkout_token: str | None, replaced: list[str]
) -> tuple[Order | None, list[Order]]:
    """Under the cart's lock: (the order to hand back, []) or (None, the cart's pending orders to supersede first)."""
    lock_cart(cart.pk)
    if checkout_token:
        existing = Order.objects.filter(checkout_token=checkout_token).first()
        if existing is not None:
            return existing, []
    lines = list(cart.lines.select_related("book"))
    if not lines:
        raise OrderError("Your cart is empty, so there is nothing to order.", code="empty_cart")
    currency = settings.SHOP_CURRENCY
    for line in lines:
        if not line.book.is_active:
            raise OrderError(f"“{line.book.title}” is no longer sold; please remove it from your cart.", code="unknown_book")
        if line.book.currency != currency:
            raise OrderError(f"“{line.book.title}” cannot be sold in {currency}.", code="currency_mismatch")
    pending = list(Order.objects.filter(cart=cart, status=Order.Status.PENDING_PAYMENT).prefetch_related("lines"))
    same = [order for order in pending if _same_checkout(order, lines=lines, email=email, shipping=shipping, user=user)]
    kept = same[0] if same else None
    stale = [order for order in pending if order is not kept]
    if stale:
        return None, stale
    if kept is not None:
        return kept, []
    _reserve_stock(lines)

    subtotal = sum(line.line_total for line in lines)
    order_fields = dict(
        user=user if user is not None and user.is_authenticated else None,
        cart=cart,
        checkout_token=checkout_token or None,
        email=email,
        shipping_name=shipping.name,
        shipping_line1=shipping.line1,
        shipping_line2=shipping.line2,
        shipping_city=shipping.city,
        shipping_postal_code=shipping.postal_code,
        shipping_country=shipping.country.upper(),
        currency=currency,
        subtotal_amount=subtotal,
        tax_amount=0,
        total_amount=subtotal,
        reserved_until=timezone.now() + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES),
    )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(number=_new_order_number(), **order_fields)
            break
        except IntegrityError:
            if checkout_token and Order.objects.filter(checkout_token=checkout_token).exists():
                raise OrderError("This order was already placed.", code="duplicate_checkout") from None
            continue
    else:
        raise OrderError("We could not number your order; please try again.", code="numbering_failed")

    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            book=line.book,
            title=line.book.title,
            author=line.book.author,
            isbn=line.book.isbn,
            unit_price_amount=line.book.price_amount,
            quantity=line.quantity,
            vat_rate=line.book.vat_rate,
        )
        for line in lines
    )
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.PLACED,
        actor=Actor.shopper(user),
        to_status=order.status,
        message=f"Order placed; stock reserved until {timezone.localtime(order.reserved_until):%Y-%m-%d %H:%M %Z}."
        + (f" It replaces order {', '.join(replaced)}." if replaced else ""),
        data={"replaces": replaced} if replaced else None,
    )
    if order.user_id is not None:
        saved_address_remember(user=order.user, **asdict(shipping))
    queue_after_commit("payments.order_confirmation_send", order_id=order.pk)
    return order, []


def order_supersede(*, order_id: int, actor: Actor) -> Order:
    """Cancel an order awaiting payment that a new checkout of its cart replaces.

    `order_superseding` goes out first, with no lock held (bookstore/locks.py: no Stripe call
    under the order's lock): payments cancels the PaymentIntent at Stripe, as expiry does, so
    nobody can pay for books about to go back on the shelf. A receiver that cannot stop the
    payment raises OrderError and the order stays. If the payment went through meanwhile,
    the order is paid now and is not replaced: `already_paid`.
    """
    order_superseding.send(sender=Order, order=Order.objects.get(pk=order_id), actor=actor)
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status in Order.PAID_STATUSES:
            raise OrderError(
                f"Your earlier order {order.number} for these books has just been paid, so it was not replaced; "
                "you will find it with your orders.",
                code="already_paid",
            )
        if order.status != Order.Status.PENDING_PAYMENT:
            return order
        return order_cancel(
            order_id=order_id, actor=actor, reason="Replaced by a new checkout of its cart; the books are back on the shelf."
        )


def orders_supersede_changed(*, cart: Cart, actor: Actor) -> list[str]:
    """Supersede the cart's orders awaiting payment that no longer match it (its books, or its
    owner: a guest's order folded into a signed-in shopper's cart); returns their numbers."""
    in_cart = _books_in_cart(list(cart.lines.select_related("book")))
    numbers = []
    for order in Order.objects.filter(cart=cart, status=Order.Status.PENDING_PAYMENT).prefetch_related("lines"):
        if _books_ordered(order) != in_cart or order.user_id != cart.user_id:
            order_supersede(order_id=order.pk, actor=actor)
            numbers.append(order.number)
    return numbers


@transaction.atomic
def order_mark_paid(*, order_id: int, actor: Actor, message: str = "") -> Order:
    order = lock_order(order_id)
    if order.status in Order.PAID_STATUSES:
        return order
    if order.status != Order.Status.PENDING_PAYMENT:
        raise OrderError(f"Order {order.number} is {order.get_status_display().lower()} and cannot be paid.", code="not_payable")
    previous = order.status
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.save(update_fields=["status", "paid_at", "updated_at"])
    order_event_record(order=order, kind=OrderEvent.Kind.PAID, actor=actor, from_status=previous, to_status=order.status, message=message)
    return order


@transaction.atomic
def order_cancel(*, order_id: int, actor: Actor, reason: str) -> Order:
    """Cancel an unpaid order and put its reserved copies back on the shelf."""
    order = lock_order(order_id)
    if order.status == Order.Status.CANCELED:
        return order
    if order.status != Order.Status.PENDING_PAYMENT:
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()}; only unpaid orders can be canceled.",
            code="not_cancelable",
        )
    previous = order.status
    if not order.stock_released:
        _release_stock(order)
    order.status = Order.Status.CANCELED
    order.canceled_at = timezone.now()
    order.save(update_fields=["status", "canceled_at", "stock_released", "updated_at"])
    order_event_record(order=order, kind=OrderEvent.Kind.CANCELED, actor=actor, from_status=previous, to_status=order.status, message=reason)
    return order


@transaction.atomic
def order_reinstate(*, order_id: int, actor: Actor, reason: str) -> Order:
    """Bring a canceled order back to awaiting payment, its books reserved again: its payment
    went through after all (a bank debit that settled late, a payment page left open).

    Raises OrderError (`insufficient_stock`, `unknown_book`) when the books cannot all be
    reserved again; this runs as a savepoint, so what was reserved is undone, and the
    caller gives the money back instead.
    """
    order = lock_order(order_id)
    if order.status == Order.Status.PENDING_PAYMENT:
        return order
    if order.status != Order.Status.CANCELED:
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()}; only canceled orders can be reinstated.",
            code="not_reinstatable",
        )
    lines = list(order.lines.select_related("book"))
    if any(line.book_id is None for line in lines):
        raise OrderError(f"A book of order {order.number} is no longer in the catalogue.", code="unknown_book")
    if order.stock_released:
        _reserve_stock(lines)
    previous = order.status
    order.status = Order.Status.PENDING_PAYMENT
    order.stock_released = False
    order.canceled_at = None
    order.save(update_fields=["status", "stock_released", "canceled_at", "updated_at"])
    order_event_record(
        order=order, kind=OrderEvent.Kind.REINSTATED, actor=actor, from_status=previous, to_status=order.status, message=reason
    )
    return order


def order_expire_unpaid(*, now: datetime | None = None, skip_order_ids: Collection[int] = ()) -> list[str]:
    """Cancel orders still unpaid past their reservation; returns their numbers.

    Each order is canceled in its own transaction, so one that is being paid right now
    (its row locked by a webhook) delays only itself, and is re-checked under the lock.
    `skip_order_ids`: orders whose payment may still go through (the caller could not
    cancel it at Stripe), left for the next run.
    """
    cutoff = now or timezone.now()
    expired_ids = (
        Order.objects.filter(status=Order.Status.PENDING_PAYMENT, reserved_until__lt=cutoff)
        .exclude(pk__in=skip_order_ids)
        .values_list("pk", flat=True)
    )
    numbers = []
    for order_id in list(expired_ids):
        with transaction.atomic():
            order = lock_order(order_id)
            if order.status != Order.Status.PENDING_PAYMENT or order.reserved_until >= cutoff:
                continue
            order_cancel(order_id=order_id, actor=Actor.system(), reason="Unpaid when its reservation expired.")
            numbers.append(order.number)
    if numbers:
        logger.info("Released the reservations of %d unpaid orders: %s", len(numbers), ", ".join(numbers))
    return numbers


@transaction.atomic
def order_flag(*, order_id: int, actor: Actor, reason: str, reference: str = "") -> Order:
    """Ask staff to look at an order (an amount mismatch, a dispute); changes no status.

    `reference` is the Stripe id of what caused the flag (a dispute, a PaymentIntent): the
    same fact reported again is a no-op. Without one, the caller guards against repeats.
    """
    order = lock_order(order_id)
    # Under the order's lock the check is exact; OrderEvent's constraint backs it.
    if reference and order.events.filter(kind=OrderEvent.Kind.FLAGGED, reference=reference).exists():
        return order
    order.needs_attention = True
    order.attention_reason = f"{order.attention_reason}\n{reason}".strip()
    order.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
    order_event_record(order=order, kind=OrderEvent.Kind.FLAGGED, actor=actor, message=reason, reference=reference)
    return order


# --- Refunds -----------------------------------------------------------------------
# The money side lives in payments/refunds/services.py; the order only learns of a refund once
# Stripe says it succeeded, so refunded_amount never counts money still in flight.


def order_clean_restock(
    *, order: Order, restock: Mapping[int | str, int], promised: Mapping[int, int] | None = None
) -> dict[int, int]:
    """Check {order line id: copies} to put back on the shelf; returns it with int keys, zeros dropped.

    A line can take back at most what was bought, minus what earlier refunds put back and
    what refunds still in flight (`promised`) will put back.
    """
    lines = {line.pk: line for line in order.lines.all()}
    promised = promised or {}
    cleaned: dict[int, int] = {}
    for raw_line_id, raw_quantity in restock.items():
        try:
            line_id, quantity = int(raw_line_id), int(raw_quantity)
        except (TypeError, ValueError):
            raise OrderError(
                "Copies to restock must be whole numbers.", code="invalid_restock", field="restock"
            ) from None
        line = lines.get(line_id)
        if line is None:
            raise OrderError(f"Order {order.number} has no line {line_id}.", code="invalid_restock", field="restock")
        # The field names the refused entry of `restock`, so a form can show the error beside its line.
        field = f"restock.{line_id}"
        if quantity < 0:
            raise OrderError(
                f"“{line.title}”: copies to restock cannot be negative.", code="invalid_restock", field=field
            )
        left = line.quantity - line.restocked_quantity - promised.get(line_id, 0)
        if quantity > left:
            raise OrderError(
                f"“{line.title}”: at most {max(left, 0)} of the {line.quantity} copies bought can go back to stock.",
                code="invalid_restock",
                field=field,
            )
        if quantity:
            cleaned[line_id] = quantity
    return cleaned


@transaction.atomic
def order_record_refund(
    *, order_id: int, amount: int, actor: Actor, reference: str, restock: Mapping[int | str, int] | None = None
) -> Order:
    """Record money Stripe has given back: paid -> partially_refunded -> refunded, copies back on the shelf.

    `reference` names the refund (our refund row); recording the same one twice is a no-op,
    so a webhook and the staff member's own request may both report it.
    """
    order = lock_order(order_id)
    # Under the order's lock the check is exact; OrderEvent's constraint backs it.
    if order.events.filter(kind=OrderEvent.Kind.REFUND, reference=reference).exists():
        return order
    # What may be refunded is the refund service's rule (refund_check), but this records what
    # Stripe reports, which includes refunds made in Stripe's dashboard that never passed that
    # check, and the order cannot see refunds still in flight. So it keeps only its own rows'
    # invariant: money goes back on a paid order only, and never more than was paid.
    if order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()}; only paid orders can be refunded.",
            code="not_refundable",
        )
    if not 0 < amount <= order.refundable_amount:
        raise OrderError(
            f"A refund of {format_money(amount, order.currency)} does not fit order {order.number}: "
            f"only {format_money(order.refundable_amount, order.currency)} is left to refund.",
            code="refund_exceeds_total",
        )
    cleaned_restock = order_clean_restock(order=order, restock=restock or {})
    lines = {line.pk: line for line in order.lines.all()}
    # Books in id order, as in _reserve_stock, so concurrent stock updates queue instead of deadlocking.
    for line_id in sorted(cleaned_restock, key=lambda line_id: lines[line_id].book_id or 0):
        line, quantity = lines[line_id], cleaned_restock[line_id]
        OrderLine.objects.filter(pk=line.pk).update(restocked_quantity=F("restocked_quantity") + quantity)
        if line.book_id:
            Book.objects.filter(pk=line.book_id).update(stock=F("stock") + quantity)

    previous = order.status
    order.refunded_amount += amount
    order.status = Order.Status.REFUNDED if order.refundable_amount == 0 else Order.Status.PARTIALLY_REFUNDED
    order.save(update_fields=["refunded_amount", "status", "updated_at"])
    restocked = ", ".join(f"{quantity} × {lines[line_id].title}" for line_id, quantity in cleaned_restock.items())
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.REFUND,
        reference=reference,
        actor=actor,
        from_status=previous,
        to_status=order.status,
        message=f"Refunded {format_money(amount, order.currency)}." + (f" Back to stock: {restocked}." if restocked else ""),
        data={"amount": amount, "restock": {str(k): v for k, v in cleaned_restock.items()}},
    )
    return order
