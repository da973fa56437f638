"""A guest's whole journey up to payment, in Chromium: browse, search, fill the cart,
sign up (the cart comes along), place the order."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.factories import TEST_PASSWORD, BookFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_guest_shops_signs_up_and_places_an_order(page):
    BookFactory(title="The Lighthouse Keeper", author="Maren Lindqvist", price_amount=1500, stock=10)
    BookFactory(title="Salt Harbour", author="Idris Okafor", isbn="9781900000017", price_amount=1250, stock=10)
    BookFactory(title="Winter Orchard", author="Ruth Walsh", stock=10)

    page.goto("/")
    expect(page.get_by_role("heading", name="All books")).to_be_visible()
    expect(page.get_by_role("link", name="Winter Orchard")).to_be_visible()

    page.get_by_label("Search books").fill("lighthouse")
    page.get_by_label("Search books").press("Enter")
    expect(page.get_by_role("link", name="Winter Orchard")).to_have_count(0)
    page.get_by_role("link", name="The Lighthouse Keeper").click()
    expect(page.get_by_text("€15.00")).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 1 × “The Lighthouse Keeper” to your cart")).to_be_visible()

    # By ISBN, written with hyphens as on a cover.
    page.get_by_label("Search books").fill("978-1-900000-01-7")
    page.get_by_label("Search books").press("Enter")
    page.get_by_role("link", name="Salt Harbour").click()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-link")).to_contain_text("2")

    page.get_by_test_id("cart-link").click()
    page.get_by_label("Quantity of The Lighthouse Keeper").fill("2")
    page.get_by_role("row", name=re.compile("The Lighthouse Keeper")).get_by_role("button", name="Update").click()
    expect(page.get_by_text("“The Lighthouse Keeper”: quantity set to 2.")).to_be_visible()
    expect(page.get_by_test_id("cart-total")).to_have_text("€42.50")

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("newreader")
    page.get_by_label("Email").fill("newreader@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill(TEST_PASSWORD)
    page.get_by_label("Password confirmation").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Welcome, newreader!")).to_be_visible()
    expect(page.get_by_test_id("cart-link")).to_contain_text("3")

    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-lines").get_by_role("link", name="The Lighthouse Keeper")).to_be_visible()
    expect(page.get_by_test_id("cart-lines").get_by_role("link", name="Salt Harbour")).to_be_visible()
    expect(page.get_by_test_id("cart-total")).to_have_text("€42.50")
    page.get_by_role("link", name="Check out").click()

    expect(page.get_by_label("Email")).to_have_value("newreader@example.com")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label(re.compile(r"^Address:?$")).fill("1 Analytical Row")
    page.get_by_label("City").fill("Dublin")
    page.get_by_label("Postal code").fill("D02 XY45")
    page.get_by_label("Country").select_option("IE")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_test_id("order-status")).to_have_text("Awaiting payment")
    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(page.get_by_test_id("order-total")).to_have_text("€42.50")
    assert order.user.username == "newreader"
    assert sorted((line.title, line.quantity) for line in order.lines.all()) == [
        ("Salt Harbour", 1),
        ("The Lighthouse Keeper", 2),
    ]

    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("link", name=order.number)).to_be_visible()
