from django import forms
from django.conf import settings

from bookstore.ids import MAX_ID


def _quantity_field(*, min_value: int) -> forms.IntegerField:
    limit = settings.CART_MAX_QUANTITY_PER_LINE
    # The same sentences the cart services use, so a shopper reads one rule however it is caught.
    return forms.IntegerField(
        label="Quantity",
        min_value=min_value,
        max_value=limit,
        error_messages={
            "required": "Please enter a quantity.",
            "invalid": "Quantity must be a whole number.",
            "min_value": "Quantity must be at least 1." if min_value else "Quantity cannot be negative.",
            "max_value": f"You can order at most {limit} copies of a book.",
        },
    )


class CartLineForm(forms.Form):
    """Which book a cart action is about; the base of every cart form."""

    book = forms.IntegerField(min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class CartAddForm(CartLineForm):
    quantity = _quantity_field(min_value=1)


class CartQuantityForm(CartLineForm):
    # 0 removes the line.
    quantity = _quantity_field(min_value=0)
