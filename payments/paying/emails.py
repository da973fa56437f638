"""What the shopper is told by email while a bank settles a payment, and when it fails after all.

Queued by `payment_apply_intent` (payments/paying/services.py) in the transaction that records
the fact: "processing" with the order's one PAYMENT_PROCESSING event, "failed" with the
cancellation a returned debit causes, so each is sent once per fact.
"""

from django.conf import settings

from bookstore.emails import email_from_templates
from bookstore.money import format_money
from orders.models import Order
from payments.models import Payment

SUBJECTS = {
    "processing": "Your bank is processing the payment for order {number}",
    "failed": "Your payment for order {number} did not go through",
}


def payment_email_send(*, order_id: int, kind: str) -> None:
    """Send the "processing" or "failed" email about an order's payment."""
    order = Order.objects.get(pk=order_id)
    payment = Payment.objects.filter(order=order).first()
    context = {
        "order": order,
        "payment": payment,
        "amount": format_money(order.total_amount, order.currency),
        "shop_name": settings.SHOP_NAME,
    }
    email_from_templates(
        subject=SUBJECTS[kind].format(number=order.number),
        template=f"emails/payment_{kind}",
        context=context,
        to=[order.email],
    ).send()
