"""Every row lock the shop takes, in one place, and the one order to take them in.

Lock order, everywhere:

    cart -> books (by id) -> order -> payment -> refund -> document counter -> document

    shopper (their user row) -> their saved addresses: taken last, after the cart when an
    order saves its address, alone on the account page

A transaction that needs two of these takes them in this order, so two transactions
touching the same rows queue behind each other instead of deadlocking. Books are not
locked with SELECT ... FOR UPDATE: stock moves by conditional UPDATEs in book-id order
(`orders/services.py`), which takes the same row locks in the same order.

The Stripe rule that goes with it: no call to Stripe while an order row is locked. A
service writes a pending row and commits, calls Stripe keyed by that row, then locks
again and applies the answer (`payment_start`, `refund_create`). A lock held across a
network call would make every other writer of that order wait for Stripe's timeout.

Models are looked up by label, not imported: the project package sits below every app
(`payments -> orders -> cart -> bookstore`), and this module must not turn that around.
"""

from django.apps import apps
from django.conf import settings
from django.db import models


def _locked(label: str) -> models.QuerySet:
    return apps.get_model(label).objects.select_for_update()


def lock_cart(cart_id: int):
    """The cart, or None if it is gone (another tab emptied and deleted it)."""
    return _locked("cart.Cart").filter(pk=cart_id).first()


def lock_cart_lines(cart) -> list:
    return list(cart.lines.select_for_update())


def lock_shopper(user_id: int):
    """A signed-in shopper's user row: it serialises writes to their saved addresses (one default)."""
    return _locked(settings.AUTH_USER_MODEL).get(pk=user_id)


def lock_order(order_id: int):
    return _locked("orders.Order").get(pk=order_id)


def lock_payment(payment_id: int):
    return _locked("payments.Payment").get(pk=payment_id)


def lock_refund(refund_id: int):
    return _locked("payments.Refund").get(pk=refund_id)


def lock_refund_matching(**lookups):
    """A refund found by its Stripe id or our metadata, locked; None if there is none."""
    return _locked("payments.Refund").filter(**lookups).first()


def lock_refund_with_order(refund_id: int):
    # `of=("self",)`: the joined order is read, not locked (its lock comes first, if needed).
    return (
        apps.get_model("payments.Refund")
        .objects.select_for_update(of=("self",))
        .select_related("order", "payment")
        .get(pk=refund_id)
    )


def lock_document_counter(series: str):
    """A series' counter. A credit note may number its receipt first: receipts' series (R) before credit notes' (C)."""
    counter, _created = _locked("payments.ReceiptCounter").get_or_create(series=series)
    return counter


def lock_receipt(receipt_id: int):
    return (
        apps.get_model("payments.Receipt").objects.select_for_update(of=("self",)).select_related("order").get(pk=receipt_id)
    )


def lock_credit_note(credit_note_id: int):
    """A credit note or cancellation, locked alone: its order, receipt and refund are read, not locked."""
    return (
        apps.get_model("payments.CreditNote")
        .objects.select_for_update(of=("self",))
        .select_related("order", "receipt", "refund__payment", "cancels")
        .get(pk=credit_note_id)
    )
