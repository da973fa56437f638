"""The shopper's account page: saved cards (payments' section), saved addresses and order
history in one place, and the pages that add, change, delete and choose the default address.

An address that is not the caller's is answered 404, as if it did not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from orders.addresses.selectors import saved_address_for_user, saved_addresses_for_user
from orders.addresses.services import (
    AddressError,
    saved_address_create,
    saved_address_delete,
    saved_address_set_default,
    saved_address_update,
)
from orders.forms import ShippingAddressForm, address_initial
from orders.models import SavedAddress
from orders.selectors import orders_for_user
from payments.customers.selectors import payment_methods_for_user

# The account page shows the latest orders; the orders page has them all.
RECENT_ORDERS = 5


def _owned_or_404(request: HttpRequest, address_id: int) -> SavedAddress:
    address = saved_address_for_user(user=request.user, address_id=address_id)
    if address is None:
        raise Http404("No such saved address.")
    return address


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    orders = orders_for_user(request.user)
    context = {
        "saved_cards": payment_methods_for_user(request.user),
        "addresses": saved_addresses_for_user(request.user),
        "recent_orders": orders[:RECENT_ORDERS],
        "more_orders": orders[RECENT_ORDERS:].exists(),
    }
    return render(request, "accounts/account.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, address_id: int | None = None) -> HttpResponse:
    """Add an address (no id) or change one of the shopper's own."""
    address = _owned_or_404(request, address_id) if address_id is not None else None
    form = ShippingAddressForm(request.POST or None, initial=address_initial(address) if address else None)
    if request.method == "POST" and form.is_valid():
        try:
            if address is None:
                saved_address_create(user=request.user, make_default=bool(request.POST.get("make_default")), **form.cleaned_data)
            else:
                saved_address_update(user=request.user, address_id=address.pk, **form.cleaned_data)
        except AddressError as exc:
            if exc.code == "address_not_found":
                raise Http404(exc.message) from exc
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Address saved." if address is None else "Address changed.")
            return redirect("accounts:account")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


def _address_action(request: HttpRequest, address_id: int, service, done: str) -> HttpResponse:
    address = _owned_or_404(request, address_id)
    try:
        service(user=request.user, address_id=address.pk)
    except AddressError as exc:
        # Deleted in another tab since the page was shown.
        raise Http404(exc.message) from exc
    messages.success(request, done)
    return redirect("accounts:account")


@login_required
@require_POST
def address_delete(request: HttpRequest, address_id: int) -> HttpResponse:
    return _address_action(request, address_id, saved_address_delete, "Address deleted. Orders already placed keep theirs.")


@login_required
@require_POST
def address_make_default(request: HttpRequest, address_id: int) -> HttpResponse:
    return _address_action(request, address_id, saved_address_set_default, "Default address changed: checkout starts from it.")
