from django.db.models import QuerySet

from cart.models import Cart, CartLine


def cart_lines(cart: Cart | None) -> QuerySet[CartLine] | list[CartLine]:
    if cart is None:
        return []
    return cart.lines.select_related("book")


def cart_totals(lines) -> dict:
    """Totals from current prices in the database, never from anything the browser sent."""
    subtotal = sum(line.line_total for line in lines)
    return {"item_count": sum(line.quantity for line in lines), "subtotal_amount": subtotal, "total_amount": subtotal}
