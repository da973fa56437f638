from django.db.models import Sum
from django.http import HttpRequest

from cart.models import CartLine
from cart.services import SESSION_CART_KEY


def cart_summary(request: HttpRequest) -> dict:
    """The header's cart count: one query, only when a page renders it."""

    def count() -> int:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            lines = CartLine.objects.filter(cart__user=user)
        elif SESSION_CART_KEY in request.session:
            lines = CartLine.objects.filter(cart_id=request.session[SESSION_CART_KEY], cart__user__isnull=True)
        else:
            return 0
        return lines.aggregate(total=Sum("quantity"))["total"] or 0

    return {"cart_item_count": count}
