import hashlib
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from cart.models import Cart
from cart.selectors import cart_lines, cart_totals
from cart.services import cart_find
from orders.forms import CheckoutForm
from orders.models import Order
from orders.selectors import guest_orders_visible, order_detail_queryset, order_visible_or_404, orders_for_user
from orders.services import OrderError, ShippingAddress, order_place

ORDERS_PER_PAGE = 10
# A guest's orders, as [number, access key] pairs, newest first: their "recent orders".
GUEST_ORDERS_SESSION_KEY = "guest_orders"
GUEST_ORDERS_KEPT = 10


def _new_checkout_token() -> str:
    return secrets.token_urlsafe(32)


def _cart_checkout_token(cart: Cart, token: str) -> str:
    # Scoped to the cart, as the API's Idempotency-Key is: a token copied into another
    # shopper's form can never hand back that shopper's order.
    return hashlib.sha256(f"web:{cart.pk}:{token}".encode()).hexdigest()


def _order_page_queryset():
    # The payment partial shows the payment and the receipt: joined here, not a query each.
    return order_detail_queryset().select_related("payment", "receipt")


def _remember_guest_order(request: HttpRequest, order: Order) -> None:
    kept = [pair for pair in request.session.get(GUEST_ORDERS_SESSION_KEY, []) if pair[0] != order.number]
    request.session[GUEST_ORDERS_SESSION_KEY] = [[order.number, order.access_key], *kept][:GUEST_ORDERS_KEPT]


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    cart = cart_find(user=request.user, session=request.session)
    lines = list(cart_lines(cart))
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if "checkout_token" in form.errors:
            # The hidden token was tampered with: a fresh one, and the shopper submits again.
            form = CheckoutForm({**request.POST.dict(), "checkout_token": _new_checkout_token()})
            messages.error(request, "Your order was not placed. Please check your details and place it again.")
        elif form.is_valid():
            if cart is None:
                messages.error(request, "Your cart is empty, so there is nothing to order.")
                return redirect("cart:detail")
            data = form.cleaned_data
            shipping = ShippingAddress(
                name=data["name"],
                line1=data["line1"],
                line2=data["line2"],
                city=data["city"],
                postal_code=data["postal_code"],
                country=data["country"],
            )
            checkout_token = _cart_checkout_token(cart, data["checkout_token"])
            try:
                order = order_place(
                    cart=cart, email=data["email"], shipping=shipping, user=request.user, checkout_token=checkout_token
                )
            except OrderError as exc:
                if exc.code == "already_paid":
                    messages.info(request, exc.message)
                    return redirect("orders:order_list")
                messages.error(request, exc.message)
                if exc.code in ("empty_cart", "insufficient_stock", "unknown_book"):
                    return redirect("cart:detail")
            else:
                if order.checkout_token == checkout_token:
                    messages.success(request, f"Thank you! Order {order.number} is placed.")
                else:
                    # The cart and details are unchanged: its order awaiting payment, not a second one.
                    messages.info(request, f"Your order {order.number} for these books is waiting for your payment.")
                if order.user_id is not None:
                    return redirect(order)
                _remember_guest_order(request, order)
                return redirect(order.get_guest_url())
    else:
        if not lines:
            messages.info(request, "Your cart is empty: add a book or two before checking out.")
            return redirect("cart:detail")
        email = request.user.email if request.user.is_authenticated else ""
        form = CheckoutForm(initial={"email": email, "checkout_token": _new_checkout_token()})
    return render(request, "orders/checkout.html", {"form": form, "lines": lines, "totals": cart_totals(lines)})


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    page = None
    if request.user.is_authenticated:
        page = Paginator(orders_for_user(request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    guest_orders = guest_orders_visible(access_keys=dict(request.session.get(GUEST_ORDERS_SESSION_KEY, [])))
    return render(request, "orders/order_list.html", {"page": page, "guest_orders": guest_orders})


@never_cache
@login_required
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = order_visible_or_404(number=number, user=request.user, queryset=_order_page_queryset())
    return render(request, "orders/order_detail.html", {"order": order, "guest_access_key": ""})


@never_cache
@require_GET
def order_guest_detail(request: HttpRequest, number: str, access_key: str) -> HttpResponse:
    order = order_visible_or_404(
        number=number, user=request.user, access_key=access_key, queryset=_order_page_queryset()
    )
    return render(request, "orders/order_detail.html", {"order": order, "guest_access_key": access_key})
