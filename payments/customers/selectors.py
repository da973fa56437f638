"""Reading an account's Stripe Customer and its saved cards, from dj-stripe's mirror.

The mirror is kept in step by our own calls (saving while paying, detaching, the default) and
by the `payment_method.*` / `customer.*` webhooks, so pages and the API list saved cards
without a call to Stripe. The Customer is dj-stripe's, linked to the account by its
`subscriber` (and the `djstripe_subscriber` metadata it reads that link from).
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from djstripe import models as djstripe_models


@dataclass(frozen=True)
class SavedCard:
    id: str  # the PaymentMethod's Stripe id (pm_...)
    brand: str  # Stripe's brand code: visa, mastercard, amex...
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool

    @property
    def brand_display(self) -> str:
        return BRAND_NAMES.get(self.brand, self.brand.title())

    @property
    def expiry_display(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"


BRAND_NAMES = {"amex": "American Express", "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay"}


def customer_for_user_or_none(user: AbstractBaseUser | AnonymousUser | None) -> djstripe_models.Customer | None:
    """The account's mirrored Customer, or None for guests and accounts that never needed one."""
    if user is None or not user.is_authenticated:
        return None
    return (
        djstripe_models.Customer.objects.filter(subscriber=user, livemode=settings.STRIPE_LIVE_MODE)
        .exclude(stripe_data__deleted=True)
        .order_by("created", "djstripe_id")
        .first()
    )


def payment_methods_for_user(user: AbstractBaseUser | AnonymousUser | None) -> list[SavedCard]:
    """The account's saved cards, the default first, then newest first; empty for guests."""
    customer = customer_for_user_or_none(user)
    if customer is None:
        return []
    methods = djstripe_models.PaymentMethod.objects.filter(customer=customer).order_by("-created", "-djstripe_id")
    default_id = customer.default_payment_method_id
    cards = [_saved_card(pm, default_id=default_id) for pm in methods if pm.stripe_data.get("type") == "card"]
    return sorted(cards, key=lambda card: not card.is_default)


def payment_method_for_user(user: AbstractBaseUser | AnonymousUser | None, payment_method_id: str) -> SavedCard | None:
    """One of the account's saved cards by its Stripe id; None if it is not theirs (or not saved)."""
    return next((card for card in payment_methods_for_user(user) if card.id == payment_method_id), None)


def _saved_card(pm: djstripe_models.PaymentMethod, *, default_id: str | None) -> SavedCard:
    card = pm.stripe_data.get("card") or {}
    return SavedCard(
        id=pm.id,
        brand=card.get("brand") or "",
        last4=card.get("last4") or "",
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
        is_default=pm.id == default_id,
    )

