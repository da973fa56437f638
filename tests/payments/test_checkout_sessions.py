"""Paying on Stripe's hosted Checkout (SHOP_PAYMENT_FLOW=checkout) through the emulator, the
shop's webhook inbox and a real worker: one session per order, the same finaliser as the
Payment Element (paid once, cart cleared once, one receipt), declines, expiry and the
reservation, superseding, the JSON API, and exactly once under doubled, overlapping and
shuffled deliveries."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from djstripe import models as djstripe_models
from rest_framework.test import APIClient

from bookstore.models import Book
from cart.models import CartLine
from orders.models import Order, OrderEvent
from orders.services import Actor, order_supersede
from payments.models import Payment, Receipt
from payments.paying.checkout_sessions import CheckoutSessionError, checkout_session_start
from payments.paying.services import payments_release_expired
from tests.stripe_fixtures import hosted_checkout_pay, stripe_client

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_PAGE = "http://127.0.0.1:9/orders/page/"


@pytest.fixture(autouse=True)
def checkout_flow(settings):
    settings.SHOP_PAYMENT_FLOW = "checkout"


@pytest.fixture
def stripe_api(emulated_stripe):
    return stripe_client(emulated_stripe.url, django_settings.STRIPE_SECRET_KEY)


def _session_of(stripe_api, url: str):
    return stripe_api.v1.checkout.sessions.retrieve(url.rsplit("/", 1)[1], params={"expand": ["line_items"]})


def _paid_once(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.filter(kind=OrderEvent.Kind.PAID).count() == 1
    assert not CartLine.objects.filter(cart_id=order.cart_id).exists()
    assert Receipt.objects.filter(order=order).count() == 1


def test_pay_on_the_hosted_page(place_order, webhook_endpoint, emulated_stripe, stripe_api):
    order = place_order(guest=True)
    url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    assert checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE) == url

    session = _session_of(stripe_api, url)
    assert [(i.description, i.quantity, i.price.unit_amount) for i in session.line_items.data] == [
        (f"{line.title} ({line.author})", line.quantity, line.unit_price_amount) for line in order.lines.order_by("pk")]
    assert (session.amount_total, session.currency.upper()) == (order.total_amount, order.currency)
    assert session.customer_email == order.email
    assert session.metadata.to_dict() == {"order_number": order.number, "order_id": str(order.pk)}
    assert session.success_url == f"{ORDER_PAGE}?redirect_status=succeeded&session_id={{CHECKOUT_SESSION_ID}}"
    assert session.cancel_url == ORDER_PAGE
    # Stripe's shortest session is 30 minutes: as long as the reservation, here, and never shorter.
    assert session.expires_at >= order.reserved_until.timestamp()

    status, location = hosted_checkout_pay(url, "4242 4242 4242 4242")
    assert (status, location) == (303, f"{ORDER_PAGE}?redirect_status=succeeded&session_id={session.id}")
    assert emulated_stripe.wait_idle(timeout=15)
    _paid_once(order)
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.card_brand, payment.card_last4) == ("succeeded", "visa", "4242")
    assert payment.stripe_payment_intent_id == stripe_api.v1.checkout.sessions.retrieve(session.id).payment_intent
    mirrored = djstripe_models.Session.objects.get(id=session.id)
    assert (mirrored.status, mirrored.payment_status) == ("complete", "paid")
    with pytest.raises(CheckoutSessionError, match="nothing to pay"):
        checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)


def test_two_pays_at_once_open_one_session(place_order, emulated_stripe, stripe_api):
    order = place_order(guest=True)
    barrier = threading.Barrier(4)

    def pay(_) -> str:
        barrier.wait()
        try:
            return checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        urls = list(pool.map(pay, range(4)))
    assert len(urls) == 4 and len(set(urls)) == 1
    assert len(stripe_api.v1.checkout.sessions.list().data) == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_decline_then_another_card(place_order, webhook_endpoint, emulated_stripe):
    order = place_order(guest=True)
    url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    assert hosted_checkout_pay(url, "4000 0000 0000 0002")[0] == 402
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert Payment.objects.get(order=order).last_error_message == "Your card was declined."
    # Back on the order page, "Pay" opens the same session again.
    assert checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE) == url
    assert hosted_checkout_pay(url, "4242 4242 4242 4242")[0] == 303
    assert emulated_stripe.wait_idle(timeout=15)
    _paid_once(order)


def test_reservation_expiry_closes_the_page_and_releases_the_books(place_order, webhook_endpoint, emulated_stripe,
                                                                   stripe_api):
    order = place_order(guest=True)
    stock = dict(Book.objects.values_list("pk", "stock"))
    url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    hosted_checkout_pay(url, "4000 0000 0000 0002")  # a PaymentIntent exists: Stripe cancels it with the session
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(seconds=1))

    assert payments_release_expired() == [order.number]
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    session = _session_of(stripe_api, url)
    assert session.status == "expired"
    assert hosted_checkout_pay(url, "4242 4242 4242 4242")[0] == 410
    released = {line.book_id: line.quantity for line in order.lines.all()}
    assert dict(Book.objects.values_list("pk", "stock")) == {pk: n + released.get(pk, 0) for pk, n in stock.items()}


def test_session_expiring_at_stripe_releases_the_books(place_order, webhook_endpoint, emulated_stripe, stripe_api):
    order = place_order(guest=True)
    url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(seconds=1))
    # What Stripe does at expires_at (the reservation's end), without waiting for it.
    stripe_api.v1.checkout.sessions.expire(url.rsplit("/", 1)[1])
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.events.filter(kind=OrderEvent.Kind.CANCELED, stripe_event_id__startswith="evt_").exists()


def test_session_closed_early_keeps_the_order_payable(place_order, webhook_endpoint, emulated_stripe, stripe_api):
    order = place_order(guest=True)
    first = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    stripe_api.v1.checkout.sessions.expire(first.rsplit("/", 1)[1])
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT  # its reservation still runs

    second = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    assert second != first
    assert hosted_checkout_pay(second, "4242 4242 4242 4242")[0] == 303
    assert emulated_stripe.wait_idle(timeout=15)
    _paid_once(order)


def test_a_changed_cart_closes_the_earlier_orders_page(place_order, emulated_stripe, stripe_api):
    order = place_order(guest=True)
    url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    order_supersede(order_id=order.pk, actor=Actor.system())
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert _session_of(stripe_api, url).status == "expired"


def test_api_answers_the_sessions_url(place_order, emulated_stripe):
    order = place_order(guest=True)
    client = APIClient()
    response = client.post(f"/api/v1/orders/{order.number}/payment/", HTTP_X_ORDER_ACCESS_KEY=order.access_key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checkout_url"].startswith(emulated_stripe.url + "/c/pay/cs_test_")
    assert body["amount"]["amount"] == order.total_amount
    again = client.post(f"/api/v1/orders/{order.number}/payment/", HTTP_X_ORDER_ACCESS_KEY=order.access_key)
    assert again.json()["checkout_url"] == body["checkout_url"]


def test_exactly_once_under_doubled_overlapping_shuffled_deliveries(place_order, webhook_endpoint, emulated_stripe):
    emulated_stripe.set_faults(duplicate=True, shuffle=True, fail_first=1)
    emulated_stripe.configure(webhook_concurrency=6)
    orders = [place_order(guest=True) for _ in range(6)]
    for i, order in enumerate(orders):
        url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
        if i % 2:
            hosted_checkout_pay(url, "4000 0000 0000 0002")
        assert hosted_checkout_pay(url, "4242 4242 4242 4242")[0] == 303
    assert emulated_stripe.wait_idle(timeout=60)
    ids = [order.pk for order in orders]
    assert Order.objects.filter(pk__in=ids, status=Order.Status.PAID).count() == 6
    paid_events = OrderEvent.objects.filter(order__in=ids, kind=OrderEvent.Kind.PAID).values("order").annotate(n=Count("id"))
    assert sorted(row["n"] for row in paid_events) == [1] * 6
    assert Receipt.objects.filter(order__in=ids).count() == 6
    assert not CartLine.objects.filter(cart__orders__in=ids).exists()
    assert Payment.objects.filter(order__in=ids, status=Payment.Status.SUCCEEDED).count() == 6


def test_back_from_stripes_page_with_the_webhook_lost_the_poll_heals(place_order, webhook_endpoint, emulated_stripe,
                                                                     client, settings):
    settings.PAYMENT_HEAL_AFTER_SECONDS = 0
    emulated_stripe.set_faults(fail_first=100)  # Stripe keeps trying; the shop never hears.
    order = place_order()
    client.force_login(order.user)
    hosted = client.get(f"/pay/orders/{order.number}/")
    assert hosted.status_code == 302 and "/c/pay/cs_test_" in hosted["Location"]
    assert hosted_checkout_pay(hosted["Location"], "4242 4242 4242 4242")[0] == 303

    state = client.get(f"/pay/orders/{order.number}/status/").json()
    assert state["order_status"] == "paid" and state["payment_status"] == "succeeded"
    order.refresh_from_db()
    assert order.events.get(kind=OrderEvent.Kind.PAID).actor == "system"
    assert not CartLine.objects.filter(cart_id=order.cart_id).exists()


@pytest.mark.parametrize("iban, paid", [("DE89370400440532013000", True), ("DE62370400440532013001", False)])
def test_sepa_debit_on_stripes_page_settles_later(place_order, webhook_endpoint, emulated_stripe, iban, paid):
    emulated_stripe.configure(debit_settle_after=0.5)
    order = place_order(guest=True)
    stock = dict(Book.objects.values_list("pk", "stock"))
    url = checkout_session_start(order_id=order.pk, order_page_url=ORDER_PAGE)
    assert hosted_checkout_pay(url, "", method="sepa_debit", iban=iban, name="Jenny Rosen")[0] == 303
    assert emulated_stripe.wait_idle(timeout=30)
    order.refresh_from_db()
    if paid:
        _paid_once(order)
        assert Payment.objects.get(order=order).method_type == "sepa_debit"
    else:
        # The bank refused the debit after the session completed: sepa's rule, books back.
        assert order.status == Order.Status.CANCELED
        released = {line.book_id: line.quantity for line in order.lines.all()}
        assert dict(Book.objects.values_list("pk", "stock")) == {pk: n + released.get(pk, 0) for pk, n in stock.items()}
