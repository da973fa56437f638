"""Paying on Stripe's hosted Checkout page in Chromium (SHOP_PAYMENT_FLOW=checkout): the
emulator's page, declines, 3D Secure, coming back without paying, and a session that expires.

Each journey also counts what the shopper goes through from "Pay" to the paid order (page
loads and clicks, asserted; seconds, written to FLOW_FIGURES_FILE for bench/checkout_flows.py
when it is set), for the Payment Element's flow as well, to compare the two."""

import json
import os
import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bookstore.models import Book
from orders.models import Order
from payments.paying.services import payments_release_expired
from tests.e2e.test_saved_cards import Journey

pytestmark = pytest.mark.django_db(transaction=True)

HOSTED_PAGE = re.compile(r"/c/pay/cs_test_\w+$")


@pytest.fixture
def checkout_flow(settings):
    settings.SHOP_PAYMENT_FLOW = "checkout"


def record(journey: Journey, flow: str, began: float) -> None:
    """Wait for "Paid"; with FLOW_FIGURES_FILE set, add this journey's figures to it."""
    expect(journey.page.get_by_test_id("order-status")).to_have_text("Paid")
    if os.environ.get("FLOW_FIGURES_FILE"):
        with open(os.environ["FLOW_FIGURES_FILE"], "a") as figures:
            figures.write(json.dumps({"flow": flow, "loads": journey.loads, "clicks": journey.clicks,
                                      "seconds": time.monotonic() - began}) + "\n")


def fill_card(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration date (MM / YY)").fill("12 / 34")
    page.get_by_label("Security code (CVC)").fill("123")


def test_pay_with_4242_on_stripes_page_and_land_on_a_paid_order(checkout_flow, order_page: Page):
    journey, began = Journey(order_page), time.monotonic()
    journey.click(order_page.get_by_test_id("pay-button"))
    expect(order_page).to_have_url(HOSTED_PAGE)
    expect(order_page.get_by_test_id("checkout-lines")).to_contain_text("The Glass Archive")
    expect(order_page.get_by_label("Email")).to_have_value("guest@example.com")
    fill_card(order_page, "4242 4242 4242 4242")
    journey.click(order_page.get_by_role("button", name="Pay 15.00 EUR"))

    record(journey, "checkout", began)
    expect(order_page.get_by_test_id("payment-summary")).to_contain_text(re.compile(r"Paid €15.00 by Visa\b.*4242"))
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("0")
    # The hosted page, back on the order page confirming, then the order page once paid.
    assert (journey.loads, journey.clicks) == (3, 2)
    assert Order.objects.get().status == Order.Status.PAID


def test_the_payment_element_for_comparison(order_page: Page):
    journey, began = Journey(order_page), time.monotonic()
    journey.click(order_page.get_by_test_id("pay-button"))
    fill_card(order_page, "4242 4242 4242 4242")
    journey.click(order_page.get_by_role("button", name="Pay €15.00"))

    record(journey, "element", began)
    # The card page, back on the order page confirming, then the order page once paid.
    assert (journey.loads, journey.clicks) == (3, 2)


def test_declined_card_then_another_pays(checkout_flow, order_page: Page):
    order_page.get_by_test_id("pay-button").click()
    fill_card(order_page, "4000 0000 0000 0002")
    order_page.get_by_role("button", name="Pay 15.00 EUR").click()
    expect(order_page.get_by_test_id("checkout-error")).to_have_text("Your card was declined.")
    expect(order_page).to_have_url(HOSTED_PAGE)

    fill_card(order_page, "4242 4242 4242 4242")
    order_page.get_by_role("button", name="Pay 15.00 EUR").click()
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")


def test_three_d_secure_on_stripes_page(checkout_flow, order_page: Page):
    order_page.get_by_test_id("pay-button").click()
    fill_card(order_page, "4000 0025 0000 3155")
    order_page.get_by_role("button", name="Pay 15.00 EUR").click()
    order_page.get_by_role("button", name="Fail").click()
    # Back on Stripe's page, which says why; the bank lets the next try through.
    expect(order_page.get_by_test_id("checkout-error")).to_contain_text("unable to authenticate")
    fill_card(order_page, "4000 0025 0000 3155")
    order_page.get_by_role("button", name="Pay 15.00 EUR").click()
    order_page.get_by_role("button", name="Complete").click()
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")


def test_back_from_stripes_page_keeps_the_order_payable(checkout_flow, order_page: Page):
    order_url = order_page.url
    order_page.get_by_test_id("pay-button").click()
    hosted_url = order_page.url
    order_page.get_by_test_id("checkout-back").click()
    expect(order_page.get_by_test_id("order-status")).to_have_text("Awaiting payment")
    assert order_page.url.split("?")[0] != hosted_url
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT

    order_page.goto(order_url)
    order_page.get_by_test_id("pay-button").click()
    expect(order_page).to_have_url(hosted_url)  # the same session, not a second one
    fill_card(order_page, "4242 4242 4242 4242")
    order_page.get_by_role("button", name="Pay 15.00 EUR").click()
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")


def test_an_expired_session_puts_the_books_back(checkout_flow, order_page: Page, emulated_stripe):
    order_page.get_by_test_id("pay-button").click()
    expect(order_page).to_have_url(HOSTED_PAGE)
    hosted_url = order_page.url
    assert sorted(Book.objects.values_list("stock", flat=True)) == [4, 4]

    # The reservation runs out; beat's release closes Stripe's page first.
    Order.objects.update(reserved_until=timezone.now() - timedelta(seconds=1))
    payments_release_expired()
    assert emulated_stripe.wait_idle(timeout=15)

    order_page.goto(hosted_url)
    expect(order_page.get_by_test_id("checkout-gone")).to_have_text("This checkout session has expired.")
    order_page.goto(Order.objects.get().get_guest_url())
    expect(order_page.get_by_test_id("order-status")).to_have_text("Canceled")
    assert sorted(Book.objects.values_list("stock", flat=True)) == [5, 5]
