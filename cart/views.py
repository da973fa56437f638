from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cart.forms import CartAddForm, CartLineForm, CartQuantityForm
from cart.models import Cart
from cart.selectors import cart_lines, cart_totals
from cart.services import CartError, cart_add, cart_find, cart_get_or_create, cart_remove, cart_set_quantity


def _form_problem(form) -> str:
    """One sentence for a form that did not validate: these forms are buttons, not pages of fields."""
    if "book" in form.errors:
        return "That book is not in our catalogue."
    return " ".join(form.errors.get("quantity", ["Please check the quantity."]))


def _back(request: HttpRequest, form) -> HttpResponseRedirect:
    # `next` comes from the browser: only a path on this site is followed.
    target = form.data.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("cart:detail")


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    lines = list(cart_lines(cart_find(user=request.user, session=request.session)))
    rows = [
        (line, CartQuantityForm(initial={"book": line.book_id, "quantity": line.quantity}, auto_id=f"id_line{line.book_id}_%s"))
        for line in lines
    ]
    return render(request, "cart/cart_detail.html", {"rows": rows, "totals": cart_totals(lines)})


@require_POST
def cart_add_view(request: HttpRequest) -> HttpResponse:
    form = CartAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return _back(request, form)
    cart = cart_get_or_create(user=request.user, session=request.session)
    try:
        line = cart_add(cart=cart, book_id=form.cleaned_data["book"], quantity=form.cleaned_data["quantity"])
    except CartError as exc:
        messages.error(request, exc.message)
    else:
        added = form.cleaned_data["quantity"]
        messages.success(
            request, f"Added {added} × “{line.book.title}” to your cart ({line.quantity} in your cart now)."
        )
    return _back(request, form)


def _change_line(request: HttpRequest, form, change: Callable[[Cart, dict], str]) -> HttpResponse:
    """Apply `change` to the shopper's cart if the form is valid; it returns what to tell them."""
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return redirect("cart:detail")
    cart = cart_find(user=request.user, session=request.session)
    try:
        if cart is None:
            # Emptied or placed from another tab, or the session ended.
            raise CartError("That book is no longer in your cart.", code="not_in_cart")
        done = change(cart, form.cleaned_data)
    except CartError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("cart:detail")


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    def change(cart: Cart, data: dict) -> str:
        line = cart_set_quantity(cart=cart, book_id=data["book"], quantity=data["quantity"])
        if line is None:
            return "Removed the book from your cart."
        return f"“{line.book.title}”: quantity set to {line.quantity}."

    return _change_line(request, CartQuantityForm(request.POST), change)


@require_POST
def cart_remove_view(request: HttpRequest) -> HttpResponse:
    def change(cart: Cart, data: dict) -> str:
        cart_remove(cart=cart, book_id=data["book"])
        return "Removed the book from your cart."

    return _change_line(request, CartLineForm(request.POST), change)
