"""Money that settles days later (SEPA Direct Debit): the books held meanwhile, a returned debit,
and a success that arrives for an order already canceled.

Through the emulator over HTTP, the shop's webhook inbox and a real Celery worker (emails,
the automatic refund); transactional tests. The rule they all end on: no order is ever left
canceled with money kept.
"""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from bookstore.models import Book
from orders.models import Order, OrderEvent
from orders.services import Actor, order_cancel
from payments.models import Payment, Refund
from payments.paying.selectors import SETTLING_NOTICE
from payments.paying.services import payment_start, payments_release_expired
from tests.celery_fixtures import wait_for
from tests.stripe_fixtures import RETURN_URL

pytestmark = pytest.mark.django_db(transaction=True)

Kind = OrderEvent.Kind
SEPA_SUCCEEDS = "DE89370400440532013000"
SEPA_FAILS = "DE62370400440532013001"
MANDATE = {"customer_acceptance": {"type": "online", "online": {"ip_address": "127.0.0.1", "user_agent": "pytest"}}}


def _pay_by_sepa(client, order: Order, iban: str) -> Payment:
    """Confirm the order's PaymentIntent with a SEPA Direct Debit, as the Payment Element does."""
    payment = payment_start(order_id=order.pk)
    client.v1.payment_intents.confirm(payment.stripe_payment_intent_id, params={
        "payment_method_data": {"type": "sepa_debit", "sepa_debit": {"iban": iban},
                                "billing_details": {"name": "Ada Lovelace", "email": order.email}},
        "mandate_data": MANDATE, "return_url": RETURN_URL,
    })
    return wait_for(lambda: Payment.objects.filter(pk=payment.pk, status=Payment.Status.PROCESSING).first(),
                    what="the processing webhook")


def _stock(order: Order) -> dict[str, int]:
    return dict(Book.objects.filter(pk__in=order.lines.values("book_id")).values_list("title", "stock"))


def _subjects(celery_worker, order: Order) -> list[str]:
    return [message["Subject"] for message in celery_worker.sent_emails(to=order.email)]


def _canceled_with_money_kept() -> list[str]:
    """Canceled orders whose payment succeeded and is not (being) given back in full."""
    kept = []
    for payment in Payment.objects.filter(status=Payment.Status.SUCCEEDED, order__status=Order.Status.CANCELED):
        back = payment.refunds.exclude(status__in=[Refund.Status.FAILED, Refund.Status.CANCELED]).aggregate(
            total=Sum("amount"))["total"] or 0
        if back < payment.amount:
            kept.append(payment.order.number)
    return kept


@pytest.fixture
def settle_after(emulated_stripe):
    def configure(seconds: float) -> None:
        emulated_stripe.configure(debit_settle_after=seconds)

    return configure


def test_a_debit_still_processing_past_the_reservation_keeps_its_books_then_pays(
    webhook_endpoint, emulated_stripe, shopper_stripe, place_order, settle_after, celery_worker
):
    settle_after(2.0)
    order = place_order()
    held = _stock(order)
    _pay_by_sepa(shopper_stripe, order, SEPA_SUCCEEDS)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))

    assert payments_release_expired() == []
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and _stock(order) == held
    assert order.events.filter(kind=Kind.PAYMENT_PROCESSING).count() == 1
    api = APIClient()
    api.force_authenticate(order.user)
    assert api.get(f"/api/v1/orders/{order.number}/payment/").json()["notice"] == SETTLING_NOTICE

    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and _stock(order) == held
    payment = Payment.objects.get(order=order)
    assert (payment.method_type, payment.method_words) == ("sepa_debit", "SEPA Direct Debit ending in 3000")
    wait_for(lambda: len(_subjects(celery_worker, order)) >= 2, what="the processing email and the receipt")
    subjects = _subjects(celery_worker, order)
    assert subjects.count(f"Your bank is processing the payment for order {order.number}") == 1
    assert _canceled_with_money_kept() == []


def test_a_returned_debit_cancels_the_order_puts_the_books_back_and_tells_the_shopper_once(
    webhook_endpoint, emulated_stripe, shopper_stripe, place_order, settle_after, celery_worker
):
    settle_after(0.5)
    order = place_order()
    before = {title: stock + 0 for title, stock in _stock(order).items()}
    _pay_by_sepa(shopper_stripe, order, SEPA_FAILS)
    assert emulated_stripe.wait_idle(timeout=15)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    quantities = dict(order.lines.values_list("title", "quantity"))
    assert _stock(order) == {title: before[title] + quantities[title] for title in before}
    assert Payment.objects.get(order=order).last_error_message.startswith("Your bank did not pay the SEPA Direct Debit")
    failed = f"Your payment for order {order.number} did not go through"
    wait_for(lambda: failed in _subjects(celery_worker, order), what="the failure email")
    assert _subjects(celery_worker, order).count(failed) == 1
    assert order.cart.lines.exists()  # the cart keeps the books, to order again


def test_a_success_for_a_canceled_order_reinstates_it_when_the_books_are_there(
    webhook_endpoint, emulated_stripe, shopper_stripe, place_order, settle_after
):
    settle_after(1.0)
    order = place_order()
    held = _stock(order)
    _pay_by_sepa(shopper_stripe, order, SEPA_SUCCEEDS)
    # Canceled while the bank was settling (staff, or an expiry that did not know better).
    order_cancel(order_id=order.pk, actor=Actor.system(), reason="Canceled while the debit was settling.")
    assert _stock(order) != held

    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and _stock(order) == held
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds[-2:] == [Kind.REINSTATED, Kind.PAID]
    assert not order.needs_attention and not order.cart.lines.exists()
    assert _canceled_with_money_kept() == []


def test_a_success_for_a_canceled_order_whose_books_are_gone_is_refunded_and_flagged(
    webhook_endpoint, emulated_stripe, shopper_stripe, place_order, settle_after, celery_worker
):
    settle_after(1.0)
    order = place_order()
    _pay_by_sepa(shopper_stripe, order, SEPA_SUCCEEDS)
    order_cancel(order_id=order.pk, actor=Actor.system(), reason="Canceled while the debit was settling.")
    # Someone else bought the last copies meanwhile.
    Book.objects.filter(pk=order.lines.first().book_id).update(stock=0)

    assert emulated_stripe.wait_idle(timeout=15)
    refund = wait_for(lambda: Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).first(),
                      what="the automatic refund (pending at first, as SEPA refunds are)")
    assert emulated_stripe.wait_idle(timeout=15)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED and order.refunded_amount == 0
    assert refund.amount == order.total_amount and refund.created_by is None
    assert order.needs_attention and "is being refunded automatically" in order.attention_reason
    assert order.events.filter(kind=Kind.REFUND, reference=f"refund-{refund.pk}").exists()
    wait_for(lambda: any(s.startswith("Refund of") for s in _subjects(celery_worker, order)), what="the refund email")
    assert _canceled_with_money_kept() == []
