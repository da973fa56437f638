from django import template

from orders.forms import SHIPPING_COUNTRIES
from orders.models import Order

register = template.Library()

COUNTRY_NAMES = dict(SHIPPING_COUNTRIES)


@register.filter
def country_name(code: str) -> str:
    """"IE" -> "Ireland"; a code the shop no longer ships to still shows, as itself."""
    return COUNTRY_NAMES.get(code, code)


@register.simple_tag(takes_context=True)
def payment_confirming(context: template.Context, order: Order) -> bool:
    """Stripe has the payment but its webhook has not settled the order yet: the payment is
    processing, or Stripe just sent the shopper back saying it succeeded or is processing.
    The order page then says this one thing, not "Awaiting payment" beside it."""
    if not order.is_awaiting_payment:
        return False
    # The payment is a reverse relation by name: orders never import payments.
    payment_status = getattr(getattr(order, "payment", None), "status", "")
    redirect_status = context["request"].GET.get("redirect_status")
    return payment_status == "processing" or redirect_status in ("succeeded", "processing")
