import secrets

from django.db.models import Count, QuerySet
from django.http import Http404

from orders.models import Order


def orders_for_user(user) -> QuerySet[Order]:
    # Django drops Meta.ordering from GROUP BY queries, so the newest-first order is spelled out.
    return Order.objects.filter(user=user).annotate(line_count=Count("lines")).order_by("-created_at", "-id")


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related("lines", "events")


def _holds_key(order: Order, access_key: str) -> bool:
    # Constant-time comparison: the key is the only thing guarding a guest's order. Bytes,
    # because compare_digest refuses str with non-ASCII characters (a hostile URL or header).
    return secrets.compare_digest(order.access_key.encode(), access_key.encode())


def order_visible_to(
    *,
    number: str,
    user,
    access_key: str | None = None,
    staff_permission: str | None = None,
    queryset: QuerySet[Order] | None = None,
) -> Order | None:
    """The order if this caller may see it, None for anyone else (callers answer 404, as if
    it did not exist: a 403 would confirm that it does).

    Who may: its owner; whoever holds its access key (a guest's link, the API's
    X-Order-Access-Key header); staff holding `staff_permission`, for the callers that name
    one. `queryset` lets a page load what it shows in the same query.
    """
    order = (queryset if queryset is not None else Order.objects.all()).filter(number=number).first()
    if order is None:
        return None
    if user.is_authenticated and order.user_id == user.pk:
        return order
    if access_key is not None and _holds_key(order, access_key):
        return order
    if staff_permission and user.is_staff and user.has_perm(staff_permission):
        return order
    return None


def order_visible_or_404(**visibility) -> Order:
    """`order_visible_to` for pages: Http404 instead of None."""
    order = order_visible_to(**visibility)
    if order is None:
        raise Http404("No such order.")
    return order


def guest_orders_visible(*, access_keys: dict[str, str]) -> list[Order]:
    """A guest's recent orders, newest first: those of `access_keys` ({number: key}) whose key is right."""
    if not access_keys:
        return []
    orders = Order.objects.filter(number__in=access_keys, user__isnull=True).order_by("-created_at", "-id")
    return [order for order in orders if _holds_key(order, access_keys[order.number])]
