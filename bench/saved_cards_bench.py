"""A returning shopper paying with a saved card: the time from "Pay" to paid, the Stripe calls
and SQL queries it takes, and the checkout page that offers the card.

    .venv/bin/python bench/saved_cards_bench.py [--orders 50] [--latency 0 | 150-400]

Uses a throwaway database (Django's test database for DATABASE_URL, default
.../bookstore_saved_cards_bench -> test_bookstore_saved_cards_bench, dropped at the end) and an
emulator on a free loopback port; `--latency` gives each emulator answer Stripe-like latency in
ms. One account saves a card while paying (as the checkout page's "Save this card for next
time" does), then places `--orders` orders and pays each with the saved card through the shop's
own pages (Django's test client): GET the payment page, POST "Pay ... with this card". The POST
confirms at Stripe and applies the answer before it redirects, so the order is paid when it
answers: its duration is the time from "Pay" to paid (no webhook to wait for). Prints median,
p95 and max of the page and of the POST, Stripe requests and queries of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, emulated_shop, percentile  # noqa: E402

bench_environment(
    database="bookstore_saved_cards_bench",
    WHITENOISE_USE_FINDERS="true",
    CELERY_DATA_DIR=tempfile.mkdtemp(prefix="saved-cards-bench-celery-"),
)


def order_for(user):
    from cart.models import Cart
    from orders.services import order_place
    from tests.factories import BookFactory, CartLineFactory, shipping_address

    cart, _ = Cart.objects.get_or_create(user=user)
    CartLineFactory(cart=cart, book=BookFactory(price_amount=1299, stock=1000), quantity=1)
    return order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)


def timed(emulator, send) -> tuple[object, float, int, int]:
    """The response, milliseconds, Stripe requests and SQL queries of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = emulator.stats()["api_requests"]
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = send()
        elapsed = (time.perf_counter() - started) * 1000
    return response, elapsed, emulator.stats()["api_requests"] - before, len(queries)


def report(label: str, timings: list[float], stripe_calls: list[int], queries: list[int]) -> None:
    print(
        f"  {label:<34} median {statistics.median(timings):7.1f} ms  p95 {percentile(timings, 0.95):7.1f} ms  "
        f"max {max(timings):7.1f} ms  Stripe requests {statistics.median(stripe_calls):.0f}  queries {statistics.median(queries):.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--latency", default="0", help="emulator latency in ms, one value or MIN-MAX (Stripe: 150-400)")
    args = parser.parse_args()
    latency = [float(part) for part in args.latency.split("-")]

    import django

    django.setup()
    from django.test import Client
    from django.urls import reverse

    from orders.models import Order
    from orders.services import Actor
    from payments.customers.selectors import payment_methods_for_user
    from payments.customers.services import payment_card_saving
    from payments.paying.services import payment_start, payment_sync
    from tests.factories import UserFactory
    from tests.stripe_fixtures import confirm_with

    with emulated_shop() as (emulator, shopper_stripe):
        user = UserFactory()
        first = order_for(user)
        payment = payment_start(order_id=first.pk)
        payment_card_saving(order=first, user=user, save=True)
        confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
        payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=Actor.system())
        [card] = payment_methods_for_user(user)
        emulator.configure(latency_ms=latency if len(latency) == 2 else latency[0])

        client = Client()
        client.force_login(user)
        pages, pays = ([], [], []), ([], [], [])
        print(f"Paying {args.orders} orders with a saved card (emulator latency {args.latency} ms) ...")
        for n in range(args.orders):
            order = order_for(user)
            response, ms, calls, queries = timed(emulator, lambda: client.get(reverse("payments:checkout", args=[order.number])))
            assert response.status_code == 200 and card.id in response.content.decode(), response.status_code
            for series, value in zip(pages, (ms, calls, queries)):
                series.append(value)
            url = reverse("payments:pay_with_saved_card", args=[order.number])
            response, ms, calls, queries = timed(
                emulator, lambda: client.post(url, {"payment_method": card.id, "attempt": f"bench-{n}"})
            )
            assert response.status_code == 302, response.status_code
            order.refresh_from_db()
            assert order.status == Order.Status.PAID, order.status
            for series, value in zip(pays, (ms, calls, queries)):
                series.append(value)
        report("payment page (GET)", *pages)
        report('"Pay with this card" to paid (POST)', *pays)


if __name__ == "__main__":
    main()
