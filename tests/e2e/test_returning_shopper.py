"""A returning shopper in Chromium: their saved address is filled in, the cart's one click
places the order and opens the payment page with their saved card chosen; a guest or another
account never sees it; the account page shows addresses and history. Prints the page loads
and clicks from the cart to paid for a guest, a new account and a returning shopper."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from orders.addresses.services import saved_address_remember
from orders.models import Order
from orders.services import order_place
from payments.customers.selectors import payment_methods_for_user
from tests.celery_fixtures import wait_for
from tests.e2e.test_saved_cards import Journey, sign_up, type_card
from tests.factories import TEST_PASSWORD, BookFactory, CartLineFactory, UserFactory, shipping_address

pytestmark = pytest.mark.django_db(transaction=True)

HOME = {"name": "Ada Reader", "line1": "1 Analytical Row", "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE"}


def sign_in(page: Page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("account-link")).to_be_visible()


def to_the_cart(page: Page, journey: Journey, price: int) -> None:
    """A book in the cart and the cart's page open; the journey counts from here."""
    page.goto(BookFactory(price_amount=price, stock=5).get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-total")).to_be_visible()
    journey.reset()


def fill_address(page: Page) -> None:
    page.get_by_label("Full name").fill(HOME["name"])
    page.get_by_label(re.compile(r"^Address:?$")).fill(HOME["line1"])
    page.get_by_label("City").fill(HOME["city"])
    page.get_by_label("Postal code").fill(HOME["postal_code"])


def test_page_loads_and_clicks_from_the_cart_to_paid(page: Page, chromium, live_server, webhook_endpoint, emulated_stripe):
    figures = {}

    # A guest: the order form, the order page, the payment page, the card typed.
    journey = Journey(page)
    to_the_cart(page, journey, 1000)
    journey.click(page.get_by_role("link", name="Check out"))
    page.get_by_label("Email").fill("guest@example.com")
    fill_address(page)
    journey.click(page.get_by_role("button", name="Place order"))
    journey.click(page.get_by_test_id("pay-button"))
    type_card(page, "4242 4242 4242 4242")
    journey.click(page.get_by_role("button", name="Pay €10.00"))
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    figures["guest"] = (journey.loads, journey.clicks)
    page.context.clear_cookies()

    # A new account: the same path, its email filled in; the card is saved for next time.
    sign_up(page)
    expect(page.get_by_test_id("express-checkout")).to_have_count(0)
    to_the_cart(page, journey, 1250)
    expect(page.get_by_test_id("express-checkout")).to_have_count(0)
    journey.click(page.get_by_role("link", name="Check out"))
    expect(page.get_by_label("Email")).to_have_value("returning@example.com")
    fill_address(page)
    journey.click(page.get_by_role("button", name="Place order"))
    journey.click(page.get_by_test_id("pay-button"))
    # The box's deferred script (save_card.js) must be listening before it is ticked, or the
    # choice never reaches the shop and no card is saved.
    page.wait_for_load_state()
    page.get_by_label("Save this card for next time").check()
    type_card(page, "4242 4242 4242 4242")
    journey.click(page.get_by_role("button", name="Pay €12.50"))
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    figures["new account"] = (journey.loads, journey.clicks)
    assert emulated_stripe.wait_idle(timeout=15)
    # The saved card reaches the account through Stripe's webhooks, processed by the worker.
    returning = get_user_model().objects.get(username="returning")
    wait_for(lambda: payment_methods_for_user(returning), what="the saved card to be mirrored", timeout=30)

    # Returning: one click in the cart to the payment page with the saved card chosen, one to pay.
    to_the_cart(page, journey, 1500)
    expect(page.get_by_test_id("express-address")).to_contain_text("1 Analytical Row")
    journey.click(page.get_by_role("button", name="Place order and pay"))
    saved = page.get_by_test_id("pay-with-saved-card")
    expect(saved.get_by_role("radio", name=re.compile("Visa •••• 4242"))).to_be_checked()
    expect(page.get_by_label("Card number")).to_have_value("")
    journey.click(page.get_by_role("button", name="Pay €15.00 with this card"))
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    figures["returning"] = (journey.loads, journey.clicks)

    print("\nFrom the cart page to paid (page loads after the cart, clicks):")
    for path, (loads, clicks) in figures.items():
        print(f"  {path}: {loads} page loads, {clicks} clicks" + ("" if path == "returning" else ", a form and a card typed"))
    assert figures["returning"][0] <= 2
    order = Order.objects.get(total_amount=1500)
    assert (order.status, order.shipping_line1, order.email) == (Order.Status.PAID, "1 Analytical Row", "returning@example.com")


def test_the_saved_address_is_filled_in_and_nobody_else_sees_it(page: Page, chromium, live_server):
    ada = UserFactory(username="ada", email="ada@example.com")
    saved_address_remember(user=ada, **HOME)
    past = order_place(cart=CartLineFactory(book__title="Middlemarch").cart, email=ada.email, shipping=shipping_address(**HOME), user=ada)

    sign_in(page, ada)
    journey = Journey(page)
    to_the_cart(page, journey, 1000)
    expect(page.get_by_test_id("express-address")).to_contain_text("Ada Reader, 1 Analytical Row, D02 XY45 Dublin, Ireland")
    page.get_by_role("link", name="Check out with other details").click()
    expect(page.get_by_label("Full name")).to_have_value("Ada Reader")
    expect(page.get_by_label(re.compile(r"^Address:?$"))).to_have_value("1 Analytical Row")
    expect(page.get_by_label("Postal code")).to_have_value("D02 XY45")
    expect(page.get_by_label("Email")).to_have_value("ada@example.com")

    # The account page, from the header: the address and the order history.
    page.get_by_test_id("account-link").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_test_id("saved-address")).to_contain_text("1 Analytical Row")
    expect(page.get_by_test_id("account-orders")).to_contain_text(past.number)
    expect(page.get_by_test_id("saved-cards")).to_be_visible()

    # A guest in another browser: nothing saved anywhere.
    guest = chromium.new_context(base_url=live_server.url, locale="en-GB").new_page()
    to_the_cart(guest, Journey(guest), 1000)
    expect(guest.get_by_test_id("express-checkout")).to_have_count(0)
    guest.get_by_role("link", name="Check out").click()
    expect(guest.get_by_label("Full name")).to_have_value("")
    expect(guest.get_by_label(re.compile(r"^Address:?$"))).to_have_value("")
    expect(guest.get_by_test_id("saved-addresses")).to_have_count(0)
    assert "Analytical Row" not in guest.content()

    # Another account: not Ada's address either, and hers answers 404.
    sign_in(guest, UserFactory(username="bob"))
    to_the_cart(guest, Journey(guest), 1000)
    expect(guest.get_by_test_id("express-checkout")).to_have_count(0)
    guest.get_by_role("link", name="Check out").click()
    expect(guest.get_by_label(re.compile(r"^Address:?$"))).to_have_value("")
    address_id = ada.saved_addresses.get().pk
    assert guest.goto(f"/orders/checkout/?address={address_id}").status == 404
    assert guest.goto(f"/accounts/addresses/{address_id}/").status == 404
    guest.context.close()
