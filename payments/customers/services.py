"""An account's Stripe Customer and its saved cards: creating the Customer when first needed,
keeping its email in step, saving a card while paying, paying with a saved card, deleting
one (detach at Stripe) and choosing the default.

Every Stripe call goes through payments/gateway.py and none is made under a lock. One Customer
per account, even when two first purchases race: the Customer is created with an idempotency
key made from the user row, so Stripe answers both requests with the same Customer (the second,
sent while the first runs, gets 409 `idempotency_key_in_use` and stripe-python retries it), and
dj-stripe's mirror row is unique by Stripe id, so the racing mirrors meet on one row.

Saved cards are for paying with the shopper present: `setup_future_usage=on_session`. The shop
never charges a card without its owner at the checkout (no subscriptions, no later top-ups), and
`off_session` would ask the bank for the right to, a consent the shop has no use for; a card saved
on-session may still be asked for 3D Secure on a later payment, which is what Stripe wants there.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe import models as djstripe_models
from djstripe.settings import djstripe_settings

from bookstore.celery import queue_after_commit
from bookstore.errors import ShopError
from orders.models import Order
from orders.services import Actor
from payments import gateway
from payments.models import Payment
from payments.customers.selectors import customer_for_user_or_none, payment_method_for_user
from payments.paying.services import payment_apply_intent
from payments.stripe_objects import stripe_field, stripe_mirror

logger = logging.getLogger(__name__)

SAVE_FOR_FUTURE_USAGE = "on_session"


class CustomerError(ShopError):
    pass


def customer_for_user(*, user: AbstractBaseUser) -> djstripe_models.Customer:
    """The account's Stripe Customer, created at Stripe and mirrored the first time it is needed."""
    if not user.is_authenticated:
        raise CustomerError("Only a signed-in shopper can keep cards with us.", code="not_signed_in")
    customer = customer_for_user_or_none(user)
    if customer is not None:
        return customer
    stripe_customer = gateway.customer_create(
        email=user.email,
        name=user.get_full_name(),
        # dj-stripe links the mirrored Customer to the account through this key (its
        # `subscriber`), also when a webhook brings the Customer in first.
        metadata={djstripe_settings.SUBSCRIBER_CUSTOMER_KEY: str(user.pk)},
        idempotency_key=f"user-{user.pk}-customer-{_customers_deleted(user)}",
    )
    return _customer_mirror(stripe_customer)


def _customers_deleted(user: AbstractBaseUser) -> int:
    # A Customer deleted at Stripe is replaced by a new one, under a key of its own: the old key
    # would replay the deleted Customer for 24 hours.
    subscriber_metadata = {f"stripe_data__metadata__{djstripe_settings.SUBSCRIBER_CUSTOMER_KEY}": str(user.pk)}
    return djstripe_models.Customer.objects.filter(**subscriber_metadata, date_purged__isnull=False).count()


def _customer_mirror(stripe_customer) -> djstripe_models.Customer:
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return djstripe_models.Customer.sync_from_stripe_data(stripe_customer, api_key=settings.STRIPE_SECRET_KEY)
        except IntegrityError:
            # A concurrent first purchase mirrored the same Customer a moment earlier: the
            # second pass finds its row and updates it.
            continue
    return djstripe_models.Customer.objects.get(id=stripe_customer["id"])


def customer_email_changed(*, user: AbstractBaseUser) -> None:
    """Queue the email's update at Stripe once the account's change commits, if it has a Customer
    whose email differs (its receipts and Stripe's own messages go there)."""
    customer = customer_for_user_or_none(user)
    if customer is not None and customer.email != user.email:
        queue_after_commit("payments.customer_email_sync", user_id=user.pk)


def customer_email_sync(*, user_id: int) -> bool:
    """Give the account's Customer its current email at Stripe; whether it had to. Idempotent."""
    user = get_user_model().objects.filter(pk=user_id).first()
    customer = customer_for_user_or_none(user)
    if customer is None or customer.email == user.email:
        return False
    _customer_mirror(gateway.customer_update(customer.id, email=user.email))
    return True


def payment_method_delete(*, user: AbstractBaseUser, payment_method_id: str) -> None:
    """Detach one of the account's saved cards at Stripe; it can no longer pay."""
    _owned_or_error(user, payment_method_id)
    try:
        detached = gateway.payment_method_detach(payment_method_id)
    except gateway.PaymentGatewayError as exc:
        # Detached already (elsewhere, or a second click): the mirror only needs to learn it.
        if exc.stripe_code != "payment_method_unexpected_state":
            raise
        djstripe_models.PaymentMethod.objects.filter(id=payment_method_id).update(customer=None)
        return
    stripe_mirror(djstripe_models.PaymentMethod, detached)
    # Stripe forgets a detached card as the Customer's default.
    djstripe_models.Customer.objects.filter(default_payment_method_id=payment_method_id).update(default_payment_method=None)


def payment_method_make_default(*, user: AbstractBaseUser, payment_method_id: str) -> None:
    """Make one of the account's saved cards its default (`invoice_settings.default_payment_method`)."""
    _owned_or_error(user, payment_method_id)
    customer = customer_for_user(user=user)
    _customer_mirror(gateway.customer_update(customer.id, default_payment_method=payment_method_id))


def _owned_or_error(user: AbstractBaseUser, payment_method_id: str) -> None:
    if payment_method_for_user(user, payment_method_id) is None:
        raise CustomerError("No such saved card.", code="not_found")


def payment_card_saving(*, order: Order, user: AbstractBaseUser, save: bool) -> None:
    """Whether the card about to be typed for this order is kept for next time: the order's
    PaymentIntent gets the account's Customer and `setup_future_usage`, and Stripe attaches the
    card to the Customer when the payment succeeds."""
    payment = _payment_of_own_order(order=order, user=user)
    customer = customer_for_user(user=user) if save else None
    intent = gateway.payment_intent_update(
        payment.stripe_payment_intent_id,
        customer=customer.id if customer is not None else None,
        setup_future_usage=SAVE_FOR_FUTURE_USAGE if save else "",
    )
    # The page, reloaded, shows the box as Stripe has it.
    stripe_mirror(djstripe_models.PaymentIntent, intent)


def payment_pay_with_saved_card(
    *, order: Order, user: AbstractBaseUser, payment_method_id: str, return_url: str, attempt: str
) -> str | None:
    """Confirm the order's PaymentIntent with one of the account's saved cards, on the shop's side.

    Returns where the shopper goes to authenticate (3D Secure) or None once Stripe has answered
    (the answer is applied at once, so the order page shows it). Raises CustomerError (not_found)
    for a card that is not this account's, before anything reaches Stripe, and
    gateway.PaymentGatewayError for a decline. `attempt` comes from the page the shopper paid on,
    so a double click confirms once and a retry after a decline is a new request.
    """
    payment = _payment_of_own_order(order=order, user=user)
    if payment_method_for_user(user, payment_method_id) is None:
        raise CustomerError("No such saved card.", code="not_found")
    customer = customer_for_user(user=user)
    if payment.payment_intent is None or payment.payment_intent.customer_id != customer.id:
        # A PaymentIntent made before the account had a Customer: Stripe takes a saved card
        # only for a PaymentIntent of its own Customer.
        gateway.payment_intent_update(payment.stripe_payment_intent_id, customer=customer.id)
    intent = gateway.payment_intent_confirm(
        payment.stripe_payment_intent_id,
        payment_method=payment_method_id,
        return_url=return_url,
        idempotency_key=f"order-{order.number}-saved-card-{payment_method_id}-{attempt}",
    )
    payment_apply_intent(intent=intent, actor=Actor.shopper(user))
    next_action = stripe_field(intent, "next_action")
    if intent["status"] == Payment.Status.REQUIRES_ACTION and next_action:
        return stripe_field(stripe_field(next_action, "redirect_to_url", {}), "url")
    return None


def _payment_of_own_order(*, order: Order, user: AbstractBaseUser) -> Payment:
    if not user.is_authenticated or order.user_id != user.pk:
        raise CustomerError("Only the shopper who placed this order can pay it with a saved card.", code="not_found")
    payment = Payment.objects.filter(order=order, stripe_payment_intent_id__isnull=False).select_related("payment_intent").first()
    if payment is None:
        raise CustomerError(f"Order {order.number} has no payment started.", code="not_payable")
    return payment


def customer_sync(*, customer_id: str) -> bool:
    """A `customer.updated`/`customer.deleted` event: mirror one of our accounts' Customers as
    Stripe has it now; False for a Customer that is not ours (recorded and ignored). Idempotent."""
    customer = djstripe_models.Customer.objects.filter(id=customer_id, subscriber__isnull=False).first()
    if customer is None:
        return False
    current = gateway.customer_retrieve(customer_id)
    if not stripe_field(current, "deleted", False):
        _customer_mirror(current)
        return True
    # Deleted at Stripe (the Dashboard, say): its cards went with it, and the account gets a new
    # Customer when it next needs one.
    with transaction.atomic():
        djstripe_models.PaymentMethod.objects.filter(customer=customer).update(customer=None)
        customer.stripe_data = {**customer.stripe_data, "deleted": True}
        customer.subscriber = None
        customer.date_purged = customer.date_purged or timezone.now()
        customer.save(update_fields=["stripe_data", "subscriber", "date_purged"])
    return True


def payment_method_sync(*, payment_method) -> bool:
    """A `payment_method.attached`/`detached` event: mirror the card as Stripe has it now, when its
    Customer, now or before, is one of our accounts'; False otherwise. Idempotent, order-proof."""
    payment_method_id = payment_method["id"]
    ours = djstripe_models.Customer.objects.filter(
        id=stripe_field(payment_method, "customer", ""), subscriber__isnull=False
    ).exists() or djstripe_models.PaymentMethod.objects.filter(id=payment_method_id, customer__subscriber__isnull=False).exists()
    if not ours:
        return False
    stripe_mirror(djstripe_models.PaymentMethod, gateway.payment_method_retrieve(payment_method_id))
    return True
