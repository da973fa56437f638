from django import template

from orders.addresses.selectors import saved_address_default
from orders.forms import SavedAddressCheckoutForm, new_checkout_token
from orders.models import SavedAddress

register = template.Library()


@register.simple_tag
def saved_address_for_checkout(user) -> SavedAddress | None:
    """The address the cart's one-click checkout ships to: the shopper's default; None for a guest."""
    return saved_address_default(user)


@register.simple_tag
def saved_address_checkout_form(address: SavedAddress) -> SavedAddressCheckoutForm:
    # A fresh token per rendering, as the checkout form has: a double click places one order.
    return SavedAddressCheckoutForm(initial={"address": address.pk, "checkout_token": new_checkout_token()})
