"""The orders app's signals.

`order_superseding` lets the payments app stop an order's payment before the order is
superseded, without orders importing payments (`payments -> orders -> cart`).
"""

from django.dispatch import Signal

# Sent by `orders.services.order_supersede` with `order` and `actor`, with no lock held and
# before the order is canceled: a receiver stops the order's payment at the provider, or
# raises OrderError, and the order then stays as it is.
order_superseding = Signal()

# Sent by the order's admin page with `order`, once staff may see it and before it is shown:
# a receiver brings up to date what it shows from another app (a refund Stripe settled whose
# webhook is late), and refreshes `order` if that moved it.
order_admin_viewing = Signal()
