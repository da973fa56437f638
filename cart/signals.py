from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver

from cart.models import Cart
from cart.services import SESSION_CART_KEY, cart_merge

# Sent with `cart` (the signed-in user's, now holding the guest's lines and orders) and
# `user` once a guest's cart is folded in, outside the merge's transaction: the orders app
# supersedes the unpaid orders that no longer match the cart.
cart_merged = Signal()


@receiver(user_logged_in, dispatch_uid="cart_merge_on_login")
def merge_guest_cart(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    # Django's login() keeps session data when the session had no user before, so the
    # guest's cart id is still here.
    cart_id = request.session.pop(SESSION_CART_KEY, None)
    guest_cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if guest_cart is not None:
        cart = cart_merge(guest_cart=guest_cart, user=user)
        cart_merged.send(sender=Cart, cart=cart, user=user)
