"""Row locks for orders, in one place.

Lock order everywhere: order, then payment, then refund. Taking them in one order
means two transactions touching the same order wait for each other instead of
deadlocking.
"""

from orders.models import Order


def lock_order(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)
