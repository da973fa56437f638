"""Refunds' answers to the orders app's signals; connected in PaymentsConfig.ready()."""

from django.dispatch import receiver

from orders.models import Order
from orders.signals import order_admin_viewing
from payments.refunds.services import refund_read_back_quiet


@receiver(order_admin_viewing, dispatch_uid="payments_refund_read_back_quiet")
def read_back_quiet_refund(sender, order: Order, **kwargs) -> None:
    refund_read_back_quiet(order=order)
