"""The staff dashboard on the admin's index: the figures staff see, where each link leads, who
sees it, and its queries.

A few weeks of the shop are written straight to the database: orders paid on several days (one
later refunded, one disputed), one awaiting payment after a declined card, one canceled, a pending
refund, a receipt that failed for good, and webhook inbox rows waiting and failed.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from playwright.sync_api import Page, expect

from ops.dashboard import dashboard_figures
from orders.models import Order, OrderEvent
from orders.services import Actor, order_cancel, order_event_record, order_flag, order_place
from payments.models import Payment, Receipt, Refund, WebhookMessage
# The browser page of the shopper's journey tests, on the live server.
from tests.e2e.conftest import page  # noqa: F401
from tests.factories import TEST_PASSWORD, BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address
from tests.payments.receipt_support import make_paid_order

BOOK = [("The Dublin Almanac", 2000, 1)]  # €20.00 an order


def shop_day(days_ago: int) -> datetime:
    """Noon in the shop's zone, `days_ago` days before today there."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(timezone.localtime(timezone.now(), zone).date() - timedelta(days=days_ago), time(12), tzinfo=zone)


def paid_on(days_ago: int) -> Order:
    order = make_paid_order(books=BOOK)
    Order.objects.filter(pk=order.pk).update(created_at=shop_day(days_ago), paid_at=shop_day(days_ago))
    return order


def pending_order() -> Order:
    cart = CartFactory()
    CartLineFactory(cart=cart, book=BookFactory(price_amount=2000))
    return order_place(cart=cart, email="waiting@example.com", shipping=shipping_address())


def shop_history() -> dict[str, Order]:
    yesterday = paid_on(1)
    disputed, refunded = paid_on(3), paid_on(3)
    older = paid_on(10)
    paid_on(40)  # outside the 30 days

    order_flag(
        order_id=disputed.pk, actor=Actor.webhook("evt_dispute"), reference="dp_1Dashboard",
        reason="The shopper disputed €20.00 (fraudulent, dp_1Dashboard).",
    )  # fmt: skip
    Order.objects.filter(pk=refunded.pk).update(status=Order.Status.REFUNDED, refunded_amount=2000)
    Refund.objects.create(
        order=refunded, payment=refunded.payment, amount=2000, currency="EUR",
        status=Refund.Status.SUCCEEDED, succeeded_at=timezone.now(), stripe_refund_id="re_done",
    )  # fmt: skip
    Refund.objects.create(order=older, payment=older.payment, amount=500, currency="EUR", stripe_refund_id="re_waiting")
    Receipt.objects.create(order=yesterday, number=1, failed_at=timezone.now(), failure="SMTPRecipientsRefused")

    declined = pending_order()
    Payment.objects.create(
        order=declined, stripe_payment_intent_id="pi_declined", amount=declined.total_amount, currency="EUR",
        status=Payment.Status.REQUIRES_PAYMENT_METHOD, last_error_code="card_declined",
        last_error_message="Your card was declined.",
    )  # fmt: skip
    for attempt in range(2):
        order_event_record(
            order=declined, kind=OrderEvent.Kind.PAYMENT_FAILED, actor=Actor.webhook(f"evt_failed_{attempt}"),
            message="Payment failed: Your card was declined.",
        )  # fmt: skip
    canceled = pending_order()
    order_cancel(order_id=canceled.pk, actor=Actor.system(), reason="Reservation expired.")
    Order.objects.filter(pk=canceled.pk).update(created_at=shop_day(2))

    for n, state in enumerate(["received", "received", "failed", "processed"]):
        WebhookMessage.objects.create(stripe_event_id=f"evt_inbox_{n}", type="payment_intent.succeeded", payload={}, state=state)
    return {"yesterday": yesterday, "disputed": disputed, "refunded": refunded, "older": older, "declined": declined}


def figure(page: Page, section: str, label: str):
    return page.get_by_label(section).locator(".shop-dashboard-figure").filter(
        has=page.get_by_text(label, exact=True)
    ).locator(".value")


@pytest.mark.django_db(transaction=True)
def test_staff_see_the_dashboard_first_when_they_sign_in(page: Page, staff_user):
    orders = shop_history()
    three_days_ago = shop_day(3)

    page.goto("/admin/login/")
    page.get_by_label("Username").fill(staff_user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/admin/$"))
    dashboard = page.locator(".shop-dashboard")
    expect(dashboard.get_by_role("heading", name="How the shop is doing")).to_be_visible()
    expect(dashboard).to_contain_text("Sales, last 30 days: €80.00 from 4 paid orders")
    for label, value in [("Awaiting payment", "1"), ("Paid", "3"), ("Refunded", "1"), ("Canceled", "1"), ("Partially refunded", "0")]:
        expect(figure(page, "Orders by state", label)).to_have_text(value)
    for label, value in [
        ("Orders needing attention", "1"), ("Disputes opened (30 days)", "1"), ("Payments failed today", "1"),
        ("Failed receipts", "1"), ("Webhook inbox: waiting", "2"), ("Webhook inbox: failed", "1"),
    ]:  # fmt: skip
        expect(figure(page, "Needs a look", label)).to_have_text(value)
    expect(page.get_by_text("2 failed attempt(s) today")).to_be_visible()
    for label, value in [
        ("Refunds made today (EUR)", "2"), ("Refunded today (EUR)", "€20.00"), ("Refunds pending (EUR)", "1"),
    ]:  # fmt: skip
        expect(figure(page, "Refunds", label)).to_have_text(value)

    # Each day's bar says what it stands for and leads to that day's paid orders.
    bar = page.get_by_role("link", name=f"{three_days_ago:%a %-d %b}: €40.00 from 2 orders")
    expect(bar).to_have_count(1)
    expect(page.get_by_role("link", name=f"{shop_day(1):%a %-d %b}: €20.00 from 1 order")).to_have_count(1)
    bar.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text(orders["disputed"].number)
    expect(page.locator("#result_list")).to_contain_text(orders["refunded"].number)

    page.goto("/admin/")
    figure(page, "Needs a look", "Disputes opened (30 days)").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(orders["disputed"].number)


def dashboard_links(client) -> list[tuple[str, object, str]]:
    response = client.get("/admin/")
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    figures = [*dashboard["orders_by_status"], *dashboard["attention"], *dashboard["refunds"]]
    return [(f["label"], f["value"], f["href"]) for f in figures if f["href"]]


@pytest.mark.django_db
def test_every_count_links_to_exactly_the_rows_it_counts(client, staff_user):
    shop_history()
    client.force_login(staff_user)
    checked = 0
    for label, value, href in dashboard_links(client):
        listed = client.get(href)
        assert listed.status_code == 200, (label, href)
        if isinstance(value, int):
            assert listed.context["cl"].result_count == value, (label, href)
            checked += 1
    assert checked >= 12


@pytest.mark.django_db
def test_people_who_are_not_staff_never_see_it(client, user):
    shop_history()
    assert client.get("/admin/").status_code == 302
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_staff_who_may_not_view_orders_get_the_admin_without_the_figures(client):
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_book"))
    shop_history()
    client.force_login(clerk)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "How the shop is doing" not in response.text
    assert "Test Book" not in response.text and "Books" in response.text


@pytest.mark.django_db
def test_its_queries_do_not_grow_with_the_shop(client, staff_user):
    client.force_login(staff_user)
    shop_history()
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/").status_code == 200
    for days_ago in range(0, 30, 2):
        paid_on(days_ago)
        pending_order()
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/").status_code == 200
    assert len(many) == len(few)

    with CaptureQueriesContext(connection) as figures:
        dashboard_figures()
    assert len(figures) == 7
