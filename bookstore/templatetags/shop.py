from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def shop_time(value: datetime | None, fmt: str = "j F Y, H:i") -> str:
    """`{{ order.paid_at|shop_time }}`: "30 November 2026, 14:05 (Europe/Dublin)".

    In the shop's time zone (settings.TIME_ZONE), and saying which: a shopper abroad must
    not take the shop's clock for their own.
    """
    if value is None:
        return ""
    return f"{date_format(timezone.localtime(value), fmt)} ({timezone.get_current_timezone_name()})"
