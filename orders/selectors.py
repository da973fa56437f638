import secrets

from django.db.models import Count, QuerySet

from orders.models import Order


def orders_for_user(user) -> QuerySet[Order]:
    # Django drops Meta.ordering from GROUP BY queries, so the newest-first order is spelled out.
    return Order.objects.filter(user=user).annotate(line_count=Count("lines")).order_by("-created_at", "-id")


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related("lines", "events")


def order_for_owner(*, number: str, user) -> Order | None:
    if not user.is_authenticated:
        return None
    return order_detail_queryset().filter(number=number, user=user).first()


def order_for_guest(*, number: str, access_key: str, queryset: QuerySet[Order] | None = None) -> Order | None:
    """The order if `access_key` is its key; `queryset` lets a page load what it shows in one go."""
    order = (queryset if queryset is not None else order_detail_queryset()).filter(number=number).first()
    # Constant-time comparison: the key is the only thing guarding a guest's order. Bytes,
    # because compare_digest refuses str with non-ASCII characters (a hostile header).
    if order is None or not secrets.compare_digest(order.access_key.encode(), access_key.encode()):
        return None
    return order
