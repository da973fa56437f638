"""The shopper's journey in Chromium (tests/browser_fixtures.py), against the live test server."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import BookFactory


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def order_page(page: Page, webhook_endpoint):
    """A guest with two books in the cart (€10.00 and €5.00, 5 copies each), on the page of the
    order they just placed."""
    for title, price in (("The Glass Archive", 1000), ("Salt and Ember", 500)):
        book = BookFactory(title=title, price_amount=price, stock=5)
        page.goto(book.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
    page.get_by_test_id("cart-link").click()
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Email").fill("guest@example.com")
    page.get_by_label("Full name").fill("Ada Guest")
    page.get_by_label(re.compile(r"^Address:?$")).fill("1 Quay Street")
    page.get_by_label("City").fill("Dublin")
    page.get_by_label("Postal code").fill("D02 XY45")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Awaiting payment")
    return page
