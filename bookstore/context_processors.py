from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict:
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_currency": settings.SHOP_CURRENCY,
        "stripe_emulated": settings.STRIPE_EMULATED,
    }
