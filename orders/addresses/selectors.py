from django.db.models import QuerySet

from orders.models import SavedAddress


def saved_addresses_for_user(user) -> QuerySet[SavedAddress]:
    """The shopper's addresses, the default first, then the most recently used; none for a guest."""
    if not user.is_authenticated:
        return SavedAddress.objects.none()
    return SavedAddress.objects.filter(user=user)


def saved_address_for_user(*, user, address_id: int | str | None) -> SavedAddress | None:
    """One of the shopper's addresses, or None (callers answer 404): someone else's row is never found."""
    try:
        address_id = int(address_id)
    except (TypeError, ValueError):
        return None
    return saved_addresses_for_user(user).filter(pk=address_id).first()


def saved_address_default(user) -> SavedAddress | None:
    """The address checkout starts from: the default, else the most recently used; None for a guest."""
    return saved_addresses_for_user(user).first()
