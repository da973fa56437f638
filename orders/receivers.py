"""The orders app's answers to other apps' signals; connected in OrdersConfig.ready()."""

import logging

from django.dispatch import receiver

from cart.signals import cart_merged
from orders.services import Actor, OrderError, orders_supersede_changed

logger = logging.getLogger(__name__)


@receiver(cart_merged, dispatch_uid="orders_supersede_on_cart_merge")
def supersede_orders_of_merged_cart(sender, cart, user, **kwargs) -> None:
    # The guest's unpaid order now points at the signed-in shopper's cart, and the shopper's
    # own unpaid order no longer matches what that cart holds: one cart, one payable order.
    try:
        orders_supersede_changed(cart=cart, actor=Actor.shopper(user))
    except OrderError as exc:
        # Signing in goes on; the cart's next checkout supersedes whatever is left.
        logger.warning("Could not supersede the unpaid orders of merged cart %s: %s", cart.pk, exc)
