"""Payments' answers to the orders app's signals; connected in PaymentsConfig.ready().

A receiver, not a service the checkout view calls: `order_place` supersedes a cart's unpaid
order whoever calls it (the checkout page, the API, the sign-in merge), and orders cannot
import payments, so the order asks and payments answers.
"""

from django.dispatch import receiver

from orders.models import Order
from orders.services import Actor, OrderError
from orders.signals import order_superseding
from payments import gateway
from payments.models import Payment
from payments.paying.checkout_sessions import checkout_sessions_close
from payments.paying.services import payment_cancel


@receiver(order_superseding, dispatch_uid="payments_cancel_superseded_payment")
def cancel_superseded_payment(sender, order: Order, actor: Actor, **kwargs) -> None:
    """Cancel the order's PaymentIntent at Stripe before the order is canceled, as expiry does.

    No lock is held here. A PaymentIntent that succeeded meanwhile is synced instead, which
    marks the order paid, and orders then refuses to replace it.
    """
    if checkout_sessions_close(orders=Order.objects.filter(pk=order.pk)):
        raise OrderError(
            f"We could not close Stripe's payment page for your earlier order {order.number}, so it was not replaced. "
            "Please try again in a moment.",
            code="provider_unavailable",
        )
    payment = Payment.objects.filter(order=order, stripe_payment_intent_id__isnull=False).first()
    if payment is None:
        # No PaymentIntent, so no client secret was handed out: nobody can pay this order.
        return
    try:
        payment = payment_cancel(payment=payment, purpose="supersede", actor=actor)
    except gateway.PaymentGatewayError as exc:
        raise OrderError(
            f"We could not stop the payment of your earlier order {order.number}, so it was not replaced. "
            f"{exc.message}",
            code=exc.code,
        ) from exc
    if payment is None or payment.status in (Payment.Status.SUCCEEDED, Payment.Status.CANCELED):
        return
    raise OrderError(
        f"The payment for your earlier order {order.number} is still being confirmed, so it cannot be replaced. "
        "Its books are held for it; look at the order to see how it ends.",
        code="payment_in_progress",
    )
