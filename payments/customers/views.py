"""The shopper's saved cards on pages: a page of their own (`pay/cards/`, also included in the
account page as templates/payments/_saved_cards.html), delete and make-default as POSTs, and
the checkout page's two card actions: keep the typed card, or pay with a saved one.

Another account's card, or a card id that does not exist, is answered 404 alike.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orders.selectors import order_visible_or_404
from payments.customers.selectors import payment_methods_for_user
from payments.customers.services import (
    CustomerError,
    payment_card_saving,
    payment_method_delete,
    payment_method_make_default,
    payment_pay_with_saved_card,
)
from payments.gateway import PaymentGatewayError


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("payments:cards")
    return redirect(target)


@never_cache
@login_required
@require_GET
def cards(request: HttpRequest) -> HttpResponse:
    return render(request, "payments/saved_cards.html", {"saved_cards": payment_methods_for_user(request.user)})


def _card_action(request: HttpRequest, service, payment_method_id: str, done: str) -> HttpResponse:
    try:
        service(user=request.user, payment_method_id=payment_method_id)
    except CustomerError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from exc
        raise
    except PaymentGatewayError as exc:
        messages.error(request, exc.message)
        return _back(request)
    messages.success(request, done)
    return _back(request)


@login_required
@require_POST
def card_delete(request: HttpRequest, payment_method_id: str) -> HttpResponse:
    return _card_action(request, payment_method_delete, payment_method_id, "The card was deleted; it can no longer pay.")


@login_required
@require_POST
def card_make_default(request: HttpRequest, payment_method_id: str) -> HttpResponse:
    return _card_action(request, payment_method_make_default, payment_method_id, "Your default card was changed.")


@login_required
@require_POST
def card_saving(request: HttpRequest, number: str) -> JsonResponse:
    """The checkout page's "Save this card for next time", sent just before it confirms."""
    order = order_visible_or_404(number=number, user=request.user)
    save = request.POST.get("save") == "1"
    try:
        payment_card_saving(order=order, user=request.user, save=save)
    except CustomerError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from exc
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=409)
    except PaymentGatewayError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=502)
    return JsonResponse({"save": save})


@login_required
@require_POST
def pay_with_saved_card(request: HttpRequest, number: str) -> HttpResponse:
    order = order_visible_or_404(number=number, user=request.user)
    checkout_page = reverse("payments:checkout", args=[order.number])
    try:
        challenge_url = payment_pay_with_saved_card(
            order=order,
            user=request.user,
            payment_method_id=request.POST.get("payment_method", ""),
            return_url=request.build_absolute_uri(order.get_absolute_url()),
            attempt=request.POST.get("attempt", "")[:32],
        )
    except CustomerError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
        return redirect(checkout_page)
    except PaymentGatewayError as exc:
        if exc.code == "in_progress":
            # A double click: the first click's payment goes on, and the order page follows it.
            messages.info(request, exc.message)
            return redirect(order.get_absolute_url())
        messages.error(request, exc.message)
        return redirect(checkout_page)
    if challenge_url:
        # 3D Secure: the bank's page, which comes back to the order page as Stripe.js would.
        return render(request, "payments/saved_card_authenticate.html", {"order": order, "challenge_url": challenge_url})
    return redirect(order.get_absolute_url())
