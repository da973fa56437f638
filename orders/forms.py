import secrets

from django import forms

from orders.models import SavedAddress

# Where the shop ships to (ISO 3166-1 alpha-2), in the order shoppers look for them.
SHIPPING_COUNTRIES = [
    ("IE", "Ireland"),
    ("GB", "United Kingdom"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("CZ", "Czechia"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("GR", "Greece"),
    ("HU", "Hungary"),
    ("IT", "Italy"),
    ("LV", "Latvia"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("CA", "Canada"),
    ("US", "United States"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("JP", "Japan"),
]
# The checkout form's and the API's answer to any other country.
SHIPPING_COUNTRY_REFUSED = "We do not ship to that country."
CHECKOUT_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{20,64}\Z"


class ShippingAddressForm(forms.Form):
    """Where an order goes: the checkout's address fields, and a saved address's on the account page."""

    name = forms.CharField(label="Full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    line1 = forms.CharField(label="Address", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"}))
    line2 = forms.CharField(
        label="Address line 2 (optional)", max_length=200, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(label="City", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    postal_code = forms.CharField(
        label="Postal code", max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    country = forms.ChoiceField(
        label="Country",
        choices=SHIPPING_COUNTRIES,
        initial="IE",
        error_messages={"invalid_choice": SHIPPING_COUNTRY_REFUSED},
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )


class CheckoutForm(ShippingAddressForm):
    email = forms.EmailField(
        label="Email", max_length=254, help_text="We send the order confirmation and receipt here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # One per rendering of the form: submitting the same form twice gives the same order.
    checkout_token = forms.RegexField(regex=CHECKOUT_TOKEN_PATTERN, widget=forms.HiddenInput)

    field_order = ["email"]


def new_checkout_token() -> str:
    return secrets.token_urlsafe(32)


class SavedAddressCheckoutForm(forms.Form):
    """The cart's one-click checkout for a signed-in shopper: their saved address, their account's email."""

    address = forms.IntegerField(widget=forms.HiddenInput)
    checkout_token = forms.RegexField(regex=CHECKOUT_TOKEN_PATTERN, widget=forms.HiddenInput)


def address_initial(address: SavedAddress) -> dict[str, str]:
    """The checkout form's address fields from a saved address."""
    return {field: getattr(address, field) for field in SavedAddress.ADDRESS_FIELDS}
