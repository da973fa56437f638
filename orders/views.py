import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cart.models import Cart
from cart.selectors import cart_lines, cart_totals
from cart.services import cart_find
from orders.addresses.selectors import saved_address_default, saved_address_for_user, saved_addresses_for_user
from orders.forms import CheckoutForm, SavedAddressCheckoutForm, address_initial, new_checkout_token
from orders.models import Order, SavedAddress
from orders.selectors import guest_orders_visible, order_detail_queryset, order_visible_or_404, orders_for_user
from orders.services import OrderError, ShippingAddress, order_place

ORDERS_PER_PAGE = 10
# A guest's orders, as [number, access key] pairs, newest first: their "recent orders".
GUEST_ORDERS_SESSION_KEY = "guest_orders"
GUEST_ORDERS_KEPT = 10


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


def _place(request: HttpRequest, cart: Cart, *, email: str, shipping: ShippingAddress, token: str) -> Order | HttpResponse | None:
    """Place the order: the order, the page that says why not, or None when the shopper should
    see their details again with the reason (a message) above them."""
    checkout_token = _cart_checkout_token(cart, token)
    try:
        order = order_place(cart=cart, email=email, shipping=shipping, user=request.user, checkout_token=checkout_token)
    except OrderError as exc:
        if exc.code == "already_paid":
            messages.info(request, exc.message)
            return redirect("orders:order_list")
        messages.error(request, exc.message)
        if exc.code in ("empty_cart", "insufficient_stock", "unknown_book"):
            return redirect("cart:detail")
        return None
    if order.checkout_token == checkout_token:
        messages.success(request, f"Thank you! Order {order.number} is placed.")
    else:
        # The cart and details are unchanged: its order awaiting payment, not a second one.
        messages.info(request, f"Your order {order.number} for these books is waiting for your payment.")
    if order.user_id is None:
        _remember_guest_order(request, order)
    return order


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    cart = cart_find(user=request.user, session=request.session)
    lines = list(cart_lines(cart))
    saved_addresses = list(saved_addresses_for_user(request.user))
    if request.method == "POST":
        form = CheckoutForm(request.POST)
        if "checkout_token" in form.errors:
            # The hidden token was tampered with: a fresh one, and the shopper submits again.
            form = CheckoutForm({**request.POST.dict(), "checkout_token": new_checkout_token()})
            messages.error(request, "Your order was not placed. Please check your details and place it again.")
        elif form.is_valid():
            if cart is None:
                messages.error(request, "Your cart is empty, so there is nothing to order.")
                return redirect("cart:detail")
            data = form.cleaned_data
            shipping = ShippingAddress(**{field: data[field] for field in SavedAddress.ADDRESS_FIELDS})
            placed = _place(request, cart, email=data["email"], shipping=shipping, token=data["checkout_token"])
            if isinstance(placed, Order):
                return redirect(placed if placed.user_id is not None else placed.get_guest_url())
            if placed is not None:
                return placed
        address = None
    else:
        if not lines:
            messages.info(request, "Your cart is empty: add a book or two before checking out.")
            return redirect("cart:detail")
        # A signed-in shopper starts from their default address, or the one they chose.
        chosen = request.GET.get("address")
        address = saved_address_for_user(user=request.user, address_id=chosen) if chosen else saved_address_default(request.user)
        if chosen and address is None:
            raise Http404("No such saved address.")
        email = request.user.email if request.user.is_authenticated else ""
        initial = {"email": email, "checkout_token": new_checkout_token()}
        form = CheckoutForm(initial={**initial, **(address_initial(address) if address else {})})
    context = {"form": form, "lines": lines, "totals": cart_totals(lines), "saved_addresses": saved_addresses, "address": address}
    return render(request, "orders/checkout.html", context)


@login_required
@require_POST
def checkout_saved_address(request: HttpRequest) -> HttpResponse:
    """The cart's one click for a returning shopper: the order to their saved address and their
    account's email, then straight to paying it."""
    form = SavedAddressCheckoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Your order was not placed. Please check your details and place it again.")
        return redirect("orders:checkout")
    address = saved_address_for_user(user=request.user, address_id=form.cleaned_data["address"])
    if address is None:
        raise Http404("No such saved address.")
    if not request.user.email:
        return redirect(f"{reverse('orders:checkout')}?address={address.pk}")
    cart = cart_find(user=request.user, session=request.session)
    if cart is None:
        messages.error(request, "Your cart is empty, so there is nothing to order.")
        return redirect("cart:detail")
    shipping = ShippingAddress(**address_initial(address))
    placed = _place(request, cart, email=request.user.email, shipping=shipping, token=form.cleaned_data["checkout_token"])
    if isinstance(placed, Order):
        return redirect("payments:checkout", number=placed.number)
    return placed or redirect(f"{reverse('orders:checkout')}?address={address.pk}")


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
