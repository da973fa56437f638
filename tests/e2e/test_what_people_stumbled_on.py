"""What shoppers and staff stumbled on when they tried the shop, as
they see it in Chromium: the state of an order said once at the top, the card form's
loading text, the admin's order page, the catalogue on a phone."""

import re

import pytest
from playwright.sync_api import Page, expect

from orders.models import OrderEvent
from tests.factories import TEST_PASSWORD, BookFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_payment_stripe_is_confirming_is_the_one_state_at_the_top(page: Page, place_order):
    order = place_order(guest=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Where Stripe sends the shopper back once they have paid, before its webhook arrives.
    page.goto(f"{order.get_guest_url()}?payment_intent=pi_returning&redirect_status=succeeded")

    expect(page.get_by_test_id("order-status")).to_have_text("Confirming payment")
    confirming = page.get_by_test_id("payment-confirming")
    expect(confirming).to_contain_text("Confirming your payment")
    expect(confirming).to_be_in_viewport()
    expect(page.get_by_text("Awaiting payment")).to_have_count(0)
    expect(page.get_by_text(re.compile("unpaid after that"))).to_have_count(0)
    expect(page.get_by_text(re.compile("don’t pay again"))).to_have_count(1)
    expect(page.get_by_test_id("pay-button")).to_have_count(0)


def test_the_payment_form_s_loading_text_goes_once_the_form_is_there(page: Page, place_order, webhook_endpoint):
    order = place_order(guest=True, books=[("Piranesi", 1500, 1)])
    page.goto(order.get_guest_url())
    page.get_by_test_id("pay-button").click()

    expect(page.get_by_label("Card number")).to_be_visible()
    loading = page.get_by_text("Loading the secure payment form")
    expect(loading).to_be_hidden()

    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiration date (MM / YY)").fill("12 / 34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay €15.00").click()
    expect(page.locator("#payment-message")).to_contain_text("Your card was declined.")
    expect(loading).to_be_hidden()


def test_the_admin_s_order_history_stays_inside_the_page(page: Page, place_order, staff_user):
    order = place_order()
    # What a real history holds: Stripe's long ids and messages that quote them.
    for n in range(3):
        OrderEvent.objects.create(
            order=order, kind="flagged", actor=OrderEvent.Actor.WEBHOOK, stripe_event_id=f"evt_{'3Q' * 20}{n}",
            message="Stripe reported charge ch_" + "X" * 60 + " as disputed; " + "look at it in the dashboard " * 6,
        )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(staff_user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"/admin/orders/order/{order.pk}/change/")

    expect(page.get_by_role("heading", name="History")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the admin's order page is {overflow}px wider than the window"


def test_a_phone_shows_several_books_per_screen(page: Page):
    for n in range(6):
        BookFactory(title=f"Harbour Lights {n}", stock=5)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto("/")

    cards = page.locator(".book-card")
    expect(cards).to_have_count(6)
    fully_visible = page.evaluate(
        "[...document.querySelectorAll('.book-card')]"
        ".filter(card => card.getBoundingClientRect().bottom <= window.innerHeight).length"
    )
    assert fully_visible >= 3, f"only {fully_visible} book(s) fit on the first screen"
