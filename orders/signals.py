"""The orders app's signals.

`order_superseding` lets the payments app stop an order's payment before the order is
superseded, without orders importing payments (`payments -> orders -> cart`).
"""

from django.dispatch import Signal

# Sent by `orders.services.order_supersede` with `order` and `actor`, with no lock held and
# before the order is canceled: a receiver stops the order's payment at the provider, or
# raises OrderError, and the order then stays as it is.
order_superseding = Signal()
