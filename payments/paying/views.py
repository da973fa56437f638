"""The shopper's side of paying: the checkout page with the Payment Element, and the
status the order page polls while Stripe confirms.

The page Stripe returns to is the order page itself (templates/payments/_order_payment.html
shows the payment's state there), so a bookmarked or reloaded return page tells the truth.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from orders.models import Order
from orders.selectors import order_for_guest, order_for_owner
from payments.gateway import PaymentGatewayError
from payments.models import Payment
from payments.paying.services import PaymentError, payment_start


def _order_or_404(request: HttpRequest, number: str, access_key: str | None) -> Order:
    if access_key is not None:
        order = order_for_guest(number=number, access_key=access_key)
    else:
        order = order_for_owner(number=number, user=request.user)
    if order is None:
        raise Http404("No such order.")
    return order


def _order_page_url(order: Order, access_key: str | None) -> str:
    return order.get_guest_url() if access_key is not None else order.get_absolute_url()


def _status_url(order: Order, access_key: str | None) -> str:
    if access_key is not None:
        return reverse("payments:guest_status", args=[order.number, access_key])
    return reverse("payments:status", args=[order.number])


@never_cache
@require_GET
def checkout(request: HttpRequest, number: str, access_key: str | None = None) -> HttpResponse:
    order = _order_or_404(request, number, access_key)
    order_page = _order_page_url(order, access_key)
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
            "stripe_js_url": settings.STRIPE_JS_URL,
        },
    )


@never_cache
@require_GET
def payment_status(request: HttpRequest, number: str, access_key: str | None = None) -> JsonResponse:
    """What the order page needs to know while it waits for Stripe's webhook."""
    order = _order_or_404(request, number, access_key)
    payment = Payment.objects.filter(order=order).only("status", "last_error_message").first()
    return JsonResponse(
        {
            "order_status": order.status,
            "order_status_display": order.get_status_display(),
            "paid": order.paid_at is not None,
            "payment_status": payment.status if payment else None,
            "message": payment.last_error_message if payment else "",
        }
    )
