"""Staff refunds: refunds per second through `refund_create` against the Stripe emulator, and the
SQL queries of the admin refund pages.

    .venv/bin/python bench/refunds_bench.py [--orders 100] [--threads 4]

Uses a throwaway database (Django's test database for DATABASE_URL, default
.../bookstore_refunds_bench -> test_bookstore_refunds_bench, dropped at the end) and an
emulator on a free loopback port. Orders are paid through the emulator (the payment is
synced by asking Stripe, as payments_reconcile does; no webhook endpoint is registered, so
refunds are applied from the API answer alone). Tasks are published to a filesystem broker
in a temporary folder that no worker reads. Prints:

- full refunds per second, one staff member after another (--orders refunds), and with
  --threads staff members at once on different orders;
- queries and median time of the admin refund form (GET), its confirmation (POST) and the
  order's page with its refunds, for an order of 2 and of 10 lines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, emulated_shop, measure  # noqa: E402

bench_environment(
    database="bookstore_refunds_bench",
    WHITENOISE_USE_FINDERS="true",
    CELERY_DATA_DIR=tempfile.mkdtemp(prefix="refunds-bench-celery-"),
)


def paid_orders(count: int, lines: int, client) -> list:
    from orders.services import Actor, order_place
    from payments.paying.services import payment_start, payment_sync
    from tests.factories import BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address
    from tests.stripe_fixtures import confirm_with

    orders = []
    for _ in range(count):
        user = UserFactory()
        cart = CartFactory(user=user)
        for n in range(lines):
            CartLineFactory(cart=cart, book=BookFactory(price_amount=1000 + n, stock=1000), quantity=1 + n % 2)
        order = order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)
        payment = payment_start(order_id=order.pk)
        confirm_with(client, payment.stripe_payment_intent_id, "pm_card_visa")
        payment_sync(payment_intent_id=payment.stripe_payment_intent_id, actor=Actor.system())
        order.refresh_from_db()
        orders.append(order)
    return orders


def full_refund(order, staff) -> None:
    from django.db import connection

    from payments.models import Refund
    from payments.refunds.services import refund_create

    try:
        refund = refund_create(
            order_id=order.pk, amount=order.total_amount, reason="requested_by_customer", note="", restock={}, staff_user=staff
        )
        assert refund.status == Refund.Status.SUCCEEDED, refund.failure_reason
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()


def refunds_per_second(orders, staff, threads: int) -> float:
    started = time.perf_counter()
    if threads == 1:
        for order in orders:
            full_refund(order, staff)
    else:
        chunks = [orders[i::threads] for i in range(threads)]
        workers = [threading.Thread(target=lambda chunk=chunk: [full_refund(o, staff) for o in chunk]) for chunk in chunks]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return len(orders) / (time.perf_counter() - started)


def admin_pages(client, staff, stripe_client) -> None:
    from django.urls import reverse

    print("\nAdmin pages (queries, median ms):")
    for lines in (2, 10):
        [order] = paid_orders(1, lines, stripe_client)
        # Two earlier partial refunds, so the order's page lists some.
        for amount in (100, 200):
            from payments.refunds.services import refund_create

            refund_create(order_id=order.pk, amount=amount, reason="", note="", restock={}, staff_user=staff)
        url = reverse("admin:payments_refund_order", args=[order.pk])
        form = client.get(url).context["form"]
        data = {name: field.initial if field.initial is not None else "" for name, field in form.fields.items()}
        data.update(amount="1.00", state=form.initial["state"])
        for label, method, target, payload in [
            ("refund form (GET)", "GET", url, None),
            ("confirmation (POST)", "POST", url, data),
            ("order page with 2 refunds", "GET", reverse("admin:orders_order_change", args=[order.pk]), None),
        ]:
            count, median = measure(client, target, method=method, data=payload)
            print(f"  {lines:>2} lines, {label:<28} {count:>3} queries  {median:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    import django

    django.setup()
    from django.test import Client

    from tests.factories import UserFactory

    with emulated_shop() as (_emulator, stripe_client):
        staff = UserFactory(is_staff=True, is_superuser=True)

        print(f"Paying {2 * args.orders} orders through the emulator ...")
        one_by_one = paid_orders(args.orders, 2, stripe_client)
        at_once = paid_orders(args.orders, 2, stripe_client)
        print(f"Refunds, one after another:  {refunds_per_second(one_by_one, staff, 1):6.1f} refunds/s ({args.orders} full refunds)")
        print(
            f"Refunds, {args.threads} staff at once:     {refunds_per_second(at_once, staff, args.threads):6.1f} refunds/s "
            f"({args.orders} full refunds, different orders)"
        )

        client = Client()
        client.force_login(staff)
        admin_pages(client, staff, stripe_client)


if __name__ == "__main__":
    main()
