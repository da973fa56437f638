"""Paying the way Europeans pay, in Chromium: iDEAL at the bank's page (authorized, failed, left
there), and SEPA Direct Debit that the bank settles or returns a moment later (seconds here).

The order (tests/e2e/conftest.py `order_page`): two books, €15.00, five copies of each.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bookstore.models import Book
from orders.models import Order
from payments.models import Payment
from payments.paying.services import payments_release_expired
from tests.celery_fixtures import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSING = "Your bank is processing the payment; we will email you"


def _choose(page: Page, method: str) -> None:
    page.get_by_test_id("pay-button").click()
    page.get_by_role("radio", name=method).check()


def _pay_by_ideal(page: Page) -> None:
    _choose(page, "iDEAL")
    page.get_by_label("iDEAL bank").select_option("ing")
    page.get_by_role("button", name="Pay €15.00").click()
    expect(page.get_by_role("heading", name="iDEAL test payment")).to_be_visible()


def _pay_by_sepa(page: Page, iban: str) -> None:
    _choose(page, "SEPA Direct Debit")
    page.get_by_label("IBAN").fill(iban)
    page.get_by_label("Account holder name").fill("Ada Guest")
    page.get_by_label("Email address").fill("guest@example.com")
    page.get_by_role("button", name="Pay €15.00").click()


def _stock() -> list[int]:
    return list(Book.objects.order_by("title").values_list("stock", flat=True))


def test_ideal_authorized_at_the_bank_pays(order_page: Page):
    _pay_by_ideal(order_page)
    order_page.get_by_role("button", name="Authorize test payment").click()

    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(order_page.get_by_test_id("payment-summary")).to_contain_text("Paid €15.00 by iDEAL, ING")
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("0")


def test_ideal_failed_at_the_bank_keeps_the_order_payable(order_page: Page, emulated_stripe):
    _pay_by_ideal(order_page)
    order_page.get_by_role("button", name="Fail test payment").click()

    expect(order_page.get_by_test_id("payment-error")).to_be_visible()
    assert emulated_stripe.wait_idle(timeout=15)
    order_page.reload()
    expect(order_page.get_by_test_id("payment-error")).to_contain_text("Your bank did not approve the payment")
    expect(order_page.get_by_test_id("order-status")).to_have_text("Awaiting payment")
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("2")


def test_ideal_left_at_the_bank_expires_and_the_books_come_back(order_page: Page, emulated_stripe):
    order_url = order_page.url
    held = _stock()
    _pay_by_ideal(order_page)
    bank_page = order_page.url
    order_page.goto(order_url)  # the shopper never answers the bank
    Order.objects.update(reserved_until=timezone.now() - timedelta(minutes=1))

    [number] = payments_release_expired()  # what beat runs every minute

    assert Payment.objects.get().status == Payment.Status.CANCELED  # at Stripe first
    assert _stock() == [stock + 1 for stock in held]
    order_page.reload()
    expect(order_page.get_by_test_id("order-status")).to_have_text("Canceled")
    order_page.goto(bank_page)
    expect(order_page.get_by_role("status")).to_contain_text("expired or was canceled")
    assert Order.objects.get(number=number).status == Order.Status.CANCELED


def test_sepa_debit_settled_after_a_delay_pays_and_only_then_empties_the_cart(order_page: Page, emulated_stripe):
    emulated_stripe.configure(debit_settle_after=2.0)
    _pay_by_sepa(order_page, "DE89370400440532013000")

    expect(order_page.get_by_test_id("payment-processing")).to_contain_text(PROCESSING)
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("2")

    # The page asks the shop every few seconds and shows the bank's answer.
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid", timeout=30_000)
    expect(order_page.get_by_test_id("payment-summary")).to_contain_text(
        "Paid €15.00 by SEPA Direct Debit ending in 3000")
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("0")


def test_sepa_debit_returned_after_a_delay_cancels_the_order_and_says_so(order_page: Page, emulated_stripe, celery_worker):
    emulated_stripe.configure(debit_settle_after=1.5)
    held = _stock()
    _pay_by_sepa(order_page, "AT861904300235473202")
    expect(order_page.get_by_test_id("payment-processing")).to_contain_text(PROCESSING)

    expect(order_page.get_by_test_id("order-status")).to_have_text("Canceled", timeout=30_000)
    expect(order_page.get_by_test_id("payment-error")).to_contain_text("Your bank did not pay the SEPA Direct Debit")
    assert _stock() == [stock + 1 for stock in held]
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("2")
    order = Order.objects.get()
    subjects = wait_for(lambda: [m["Subject"] for m in celery_worker.sent_emails(to=order.email)
                                 if "did not go through" in m["Subject"]], what="the failure email")
    assert subjects == [f"Your payment for order {order.number} did not go through"]


def test_sepa_debit_still_processing_past_the_reservation_keeps_its_books(order_page: Page, emulated_stripe):
    emulated_stripe.configure(debit_settle_after=4.0)
    held = _stock()
    _pay_by_sepa(order_page, "DE89370400440532013000")
    expect(order_page.get_by_test_id("payment-processing")).to_contain_text(PROCESSING)
    Order.objects.update(reserved_until=timezone.now() - timedelta(minutes=1))

    assert payments_release_expired() == []

    assert _stock() == held
    order_page.reload()
    expect(order_page.get_by_test_id("payment-processing")).to_contain_text(PROCESSING)
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid", timeout=30_000)
    assert _stock() == held
