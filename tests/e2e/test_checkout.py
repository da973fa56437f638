"""Paying in Chromium: the Payment Element from the emulator's Stripe.js, declines, 3D Secure,
and the order page that waits for Stripe's webhook."""

import re

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def pay_with(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration date (MM / YY)").fill("12 / 34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay €15.00").click()


def test_guest_pays_and_sees_the_order_paid_and_the_cart_emptied(order_page: Page):
    expect(order_page.get_by_test_id("sandbox-banner")).to_contain_text("Sandbox: no real money")
    order_page.get_by_test_id("pay-button").click()
    pay_with(order_page, "4242 4242 4242 4242")

    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(order_page.get_by_test_id("payment-summary")).to_contain_text("Paid €15.00 by Visa ending in 4242")
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("0")
    assert Order.objects.get().status == Order.Status.PAID


def test_declined_card_says_why_and_another_card_pays(order_page: Page, emulated_stripe):
    order_page.get_by_test_id("pay-button").click()
    pay_with(order_page, "4000 0000 0000 0002")
    expect(order_page.locator("#payment-message")).to_contain_text("Your card was declined.")
    expect(order_page.get_by_test_id("cart-link")).to_contain_text("2")

    # The order page learns of the decline from the payment_failed webhook.
    assert emulated_stripe.wait_idle(timeout=15)
    order_page.get_by_role("link", name="Back to the order").click()
    expect(order_page.get_by_test_id("payment-error")).to_contain_text("Your card was declined.")
    order_page.get_by_test_id("pay-button").click()
    pay_with(order_page, "4242 4242 4242 4242")
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")


def test_three_d_secure_completed_pays(order_page: Page):
    order_page.get_by_test_id("pay-button").click()
    pay_with(order_page, "4000 0025 0000 3155")
    order_page.get_by_role("button", name="Complete").click()
    expect(order_page.get_by_test_id("order-status")).to_have_text("Paid")


def test_three_d_secure_failed_keeps_the_order_payable(order_page: Page):
    order_page.get_by_test_id("pay-button").click()
    pay_with(order_page, "4000 0025 0000 3155")
    order_page.get_by_role("button", name="Fail").click()
    expect(order_page.get_by_test_id("payment-error")).to_contain_text(re.compile("authenticate your card"))
    expect(order_page.get_by_test_id("order-status")).to_have_text("Awaiting payment")
    expect(order_page.get_by_test_id("pay-button")).to_be_visible()
