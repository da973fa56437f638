"""Writes to saved addresses. Each runs under the shopper's row lock (bookstore/locks.py:
lock_shopper), so that two concurrent writes (two tabs, an order placed while the account
page sets a default) never leave two defaults or none."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookstore.errors import ShopError
from bookstore.locks import lock_shopper
from orders.models import SavedAddress

# Older addresses beyond this are forgotten as new ones are saved: checkout offers a short list.
SAVED_ADDRESSES_KEPT = 10


class AddressError(ShopError):
    pass


def _cleaned(fields: dict[str, str]) -> dict[str, str]:
    cleaned = {name: (fields.get(name) or "").strip() for name in SavedAddress.ADDRESS_FIELDS}
    cleaned["country"] = cleaned["country"].upper()
    return cleaned


def _owned_address(*, user, address_id: int) -> SavedAddress:
    address = SavedAddress.objects.filter(user=user, pk=address_id).first()
    if address is None:
        raise AddressError("That address is no longer saved.", code="address_not_found")
    return address


def _promote_newest(user) -> None:
    newest = SavedAddress.objects.filter(user=user).order_by("-last_used_at", "-id").first()
    if newest is not None and not SavedAddress.objects.filter(user=user, is_default=True).exists():
        newest.is_default = True
        newest.save(update_fields=["is_default"])


@transaction.atomic
def saved_address_remember(
    *, user, name: str, line1: str, city: str, postal_code: str, country: str, line2: str = ""
) -> SavedAddress:
    """Keep the address a signed-in shopper just ordered to: the same address is one row
    (used again, it moves to the top), the first one is the default, the oldest beyond
    SAVED_ADDRESSES_KEPT are forgotten."""
    lock_shopper(user.pk)
    fields = _cleaned(dict(name=name, line1=line1, line2=line2, city=city, postal_code=postal_code, country=country))
    now = timezone.now()
    address = SavedAddress.objects.filter(user=user, **fields).first()
    if address is not None:
        address.last_used_at = now
        address.save(update_fields=["last_used_at"])
        return address
    is_first = not SavedAddress.objects.filter(user=user, is_default=True).exists()
    address = SavedAddress.objects.create(user=user, is_default=is_first, last_used_at=now, **fields)
    forgotten = SavedAddress.objects.filter(user=user, is_default=False).order_by("-last_used_at", "-id")[SAVED_ADDRESSES_KEPT:]
    SavedAddress.objects.filter(pk__in=list(forgotten.values_list("pk", flat=True))).delete()
    return address


@transaction.atomic
def saved_address_create(*, user, make_default: bool = False, **fields: str) -> SavedAddress:
    """An address the shopper adds themselves (account page, API)."""
    lock_shopper(user.pk)
    cleaned = _cleaned(fields)
    if SavedAddress.objects.filter(user=user, **cleaned).exists():
        raise AddressError("You have already saved this address.", code="duplicate_address")
    if make_default:
        SavedAddress.objects.filter(user=user, is_default=True).update(is_default=False)
    has_default = SavedAddress.objects.filter(user=user, is_default=True).exists()
    return SavedAddress.objects.create(user=user, is_default=not has_default, last_used_at=timezone.now(), **cleaned)


@transaction.atomic
def saved_address_update(*, user, address_id: int, **fields: str) -> SavedAddress:
    """Change one of the shopper's addresses; orders already placed keep the address they were placed with."""
    lock_shopper(user.pk)
    address = _owned_address(user=user, address_id=address_id)
    for name, value in _cleaned({**{f: getattr(address, f) for f in SavedAddress.ADDRESS_FIELDS}, **fields}).items():
        setattr(address, name, value)
    try:
        with transaction.atomic():
            address.save(update_fields=list(SavedAddress.ADDRESS_FIELDS))
    except IntegrityError:
        raise AddressError("You have already saved this address.", code="duplicate_address") from None
    return address


@transaction.atomic
def saved_address_set_default(*, user, address_id: int) -> SavedAddress:
    lock_shopper(user.pk)
    address = _owned_address(user=user, address_id=address_id)
    # Cleared first: the one-default constraint is checked row by row.
    SavedAddress.objects.filter(user=user, is_default=True).exclude(pk=address.pk).update(is_default=False)
    if not address.is_default:
        address.is_default = True
        address.save(update_fields=["is_default"])
    return address


@transaction.atomic
def saved_address_delete(*, user, address_id: int) -> None:
    """Forget one of the shopper's addresses; if it was the default, the most recently used one becomes it."""
    lock_shopper(user.pk)
    _owned_address(user=user, address_id=address_id).delete()
    _promote_newest(user)
