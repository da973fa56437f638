"""Reading payments: what a shopper waiting for Stripe is told (the order page's polling JSON
and the API's payment status are both built here), and which of our payments a Stripe object
is about."""

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
    notice: str = ""  # what is happening meanwhile, for the shopper (a bank settling a debit)


SETTLING_NOTICE = "Your bank is processing the payment; we will email you when it is done. Your books are held for you."


def payment_state(*, order: Order) -> PaymentState:
    payment = Payment.objects.filter(order=order).only("status", "last_error_message", "method_type").first()
    return PaymentState(
        number=order.number,
        order_status=order.status,
        order_status_display=order.get_status_display(),
        paid=order.paid_at is not None,
        payment_status=payment.status if payment else None,
        last_error_message=payment.last_error_message if payment else "",
        notice=SETTLING_NOTICE if payment and payment.is_settling and order.is_awaiting_payment else "",
    )


def payment_for_stripe_ids(*, payment_intent_id: str | None, charge_id: str | None) -> Payment | None:
    """Our payment that a refund, charge or dispute names, by its PaymentIntent or its charge."""
    if payment_intent_id:
        payment = Payment.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if payment is not None:
            return payment
    if charge_id:
        return Payment.objects.filter(charge_id=charge_id).first()
    return None
