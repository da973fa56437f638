from django import template
from django.conf import settings

from bookstore.money import format_money

register = template.Library()


@register.filter(name="money")
def money_filter(amount: int | None, currency: str | None = None) -> str:
    """`{{ order.total_amount|money:order.currency }}`; the shop currency when none is given."""
    if amount is None:
        return ""
    return format_money(amount, currency or settings.SHOP_CURRENCY)
