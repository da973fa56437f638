"""Paid orders and PDF text for the receipt tests."""

import io

from django.db import transaction
from pypdf import PdfReader

from orders.models import Order
from orders.services import Actor, order_mark_paid, order_place
from payments.models import Payment
from tests.factories import BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address


def make_paid_order(*, email: str = "", user=None, guest: bool = False, books=None) -> Order:
    """An order placed from a cart and marked paid with its card, as the payment webhook leaves it.

    Rows are committed when the test is transactional, so a worker can read them.
    """
    if not guest and user is None:
        user = UserFactory()
    cart = CartFactory(user=user)
    # (title, price, quantity) or (title, price, quantity, VAT category)
    for title, price, quantity, *category in books or [("The Left Hand of Darkness", 1250, 1), ("Middlemarch", 899, 2)]:
        book = BookFactory(title=title, price_amount=price, **({"vat_category": category[0]} if category else {}))
        CartLineFactory(cart=cart, book=book, quantity=quantity)
    order = order_place(cart=cart, email=email or user.email, shipping=shipping_address(), user=user)
    with transaction.atomic():
        order = order_mark_paid(order_id=order.pk, actor=Actor.system())
        Payment.objects.create(
            order=order,
            stripe_payment_intent_id=f"pi_test_{order.number}",
            client_secret=f"pi_test_{order.number}_secret",
            amount=order.total_amount,
            currency=order.currency,
            status=Payment.Status.SUCCEEDED,
            card_brand="visa",
            card_last4="4242",
        )
    return order


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
