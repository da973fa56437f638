""""Pay" with SHOP_PAYMENT_FLOW=checkout, for the order page and the JSON API: the shopper is
sent to the order's Stripe Checkout Session (checkout_sessions.py) instead of the Payment
Element. Stripe sends them back to the order's guest link, which its owner can open too, so
every caller asks Stripe for the same session."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from bookstore.money import format_money
from orders.models import Order
from payments.gateway import PaymentGatewayError
from payments.paying.checkout_sessions import CheckoutSessionError, checkout_session_start


def _start(request: HttpRequest, order: Order) -> str:
    return checkout_session_start(order_id=order.pk, order_page_url=request.build_absolute_uri(order.get_guest_url()))


def checkout_session_redirect(request: HttpRequest, *, order: Order, order_page: str) -> HttpResponse:
    try:
        return redirect(_start(request, order))
    except (CheckoutSessionError, PaymentGatewayError) as exc:
        messages.error(request, exc.message)
        return redirect(order_page)


def checkout_session_api_answer(request: HttpRequest, *, order: Order) -> dict:
    """The API's answer; its caller maps the errors (409 for the shop's refusals, 502/503 for Stripe's)."""
    return {
        "checkout_url": _start(request, order),
        "amount": {
            "amount": order.total_amount,
            "currency": order.currency,
            "formatted": format_money(order.total_amount, order.currency),
        },
    }
