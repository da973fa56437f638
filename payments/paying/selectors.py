"""What a shopper waiting for Stripe is told about an order's payment: the order page's
polling JSON and the API's payment status are both built here."""

from dataclasses import dataclass

from orders.models import Order
from payments.models import Payment


@dataclass(frozen=True)
class PaymentState:
    number: str
    order_status: str
    order_status_display: str
    paid: bool  # also after refunds: the order was paid once
    payment_status: str | None  # Stripe's PaymentIntent status; None until payment is started
    last_error_message: str  # why the last attempt failed, for the shopper; empty otherwise


def payment_state(*, order: Order) -> PaymentState:
    payment = Payment.objects.filter(order=order).only("status", "last_error_message").first()
    return PaymentState(
        number=order.number,
        order_status=order.status,
        order_status_display=order.get_status_display(),
        paid=order.paid_at is not None,
        payment_status=payment.status if payment else None,
        last_error_message=payment.last_error_message if payment else "",
    )
