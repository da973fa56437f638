"""The shopper's side of paying: the checkout page with the Payment Element, and the
status the order page polls while Stripe confirms.

The page Stripe returns to is the order page itself (templates/payments/_order_payment.html
shows the payment's state there), so a bookmarked or reloaded return page tells the truth.
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from orders.models import Order
from orders.selectors import order_visible_or_404
from payments.customers.selectors import payment_methods_for_user
from payments.gateway import PaymentGatewayError
from payments.paying.checkout_views import checkout_session_redirect
from payments.paying.selectors import payment_state
from payments.paying.services import PaymentError, payment_heal, payment_start


def _order_page_url(order: Order, access_key: str | None) -> str:
    return order.get_guest_url() if access_key is not None else order.get_absolute_url()


@never_cache
@require_GET
def checkout(request: HttpRequest, number: str, access_key: str | None = None) -> HttpResponse:
    order = order_visible_or_404(number=number, user=request.user, access_key=access_key)
    order_page = _order_page_url(order, access_key)
    if settings.SHOP_PAYMENT_FLOW == "checkout":
        return checkout_session_redirect(request, order=order, order_page=order_page)
    try:
        payment = payment_start(order_id=order.pk)
    except (PaymentError, PaymentGatewayError) as exc:
        messages.error(request, exc.message)
        return redirect(order_page)
    return render(
        request,
        "payments/checkout.html",
        {
            "order": order,
            "payment": payment,
            "order_page_url": order_page,
            "return_url": request.build_absolute_uri(order_page),
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            # Saved cards and saving one are for the account that placed the order, never a guest
            # (nor a guest link opened by someone signed in).
            **_saved_cards_context(request, order, own=access_key is None),
            "stripe_js_url": settings.STRIPE_JS_URL,
        },
    )


def _saved_cards_context(request: HttpRequest, order: Order, *, own: bool) -> dict:
    own = own and request.user.is_authenticated and order.user_id == request.user.pk
    return {
        "can_save_card": own,
        "saved_cards": payment_methods_for_user(request.user) if own else [],
        # Names this page's one confirmation with a saved card (its idempotency key).
        "saved_card_attempt": secrets.token_urlsafe(12),
    }


@never_cache
@require_GET
def payment_status(request: HttpRequest, number: str, access_key: str | None = None) -> JsonResponse:
    """What the order page needs to know while it waits for Stripe's webhook; if the webhook
    seems lost, Stripe is asked (`payment_heal`)."""
    order = order_visible_or_404(number=number, user=request.user, access_key=access_key)
    payment_heal(order=order)
    state = payment_state(order=order)
    return JsonResponse(
        {
            "order_status": state.order_status,
            "order_status_display": state.order_status_display,
            "paid": state.paid,
            "payment_status": state.payment_status,
            "message": state.last_error_message,
            "notice": state.notice,
        }
    )
