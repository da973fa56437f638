"""Webhook chaos: many payments with every event delivered twice, overlapping, shuffled, and
each delivery's first attempt failing; then what the database says happened, and how often.

    .venv/bin/python bench/webhook_chaos.py [--orders 1000] [--threads 8] [--worker-concurrency 4]
        [--webhook-concurrency 8] [--latency 0] [--emulator-rate-limit N] [--shop-rate-limit 90] [--checkout]

With --checkout each order is paid on Stripe's hosted Checkout page instead (a Checkout Session
per order, its page submitted with 4242 as a browser would), so checkout.session.completed is
doubled and shuffled together with the PaymentIntent's own events.

The same shop as bench/payments_bench.py (emulator, gunicorn, a real Celery worker on Redis
db 12, its own database, BENCH_DATABASE_URL, default .../bookstore_chaos_bench), with the
emulator's faults `duplicate`, `shuffle` and `fail_first: 1` and several deliveries in flight
per endpoint, so an event's two deliveries usually overlap. Each order is a shopper's own cart
of two books, and after ordering the shopper puts one more copy of the first book in the
cart: a correct payment takes out what was ordered and leaves that copy.

Prints, from the database and the worker's mail folder: orders paid, carts cleared (the
ordered copies gone, the later copy still there), receipts emailed (receipt rows with
`emailed_at`), and double effects, each defined where it is counted; then the elapsed time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bookstore_chaos_bench")

from bench.payments_bench import (  # noqa: E402
    Shop,
    Shopping,
    delivery_figures,
    inbox_figures,
    place_orders,
    shop_and_confirm,
    settings_line,
    shop_options,
    wait_until_paid,
    webhooks_processed,
)
from tests.shop_processes import CHAOS_FAULTS as FAULTS  # noqa: E402
from tests.shop_processes import payment_outcome  # noqa: E402


def pay_on_hosted_pages(orders: list, *, threads: int, emulator_url: str) -> Shopping:
    """Shopper threads open each order's Checkout Session and pay on its page with 4242."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from payments.paying.checkout_sessions import checkout_session_start
    from tests.stripe_fixtures import hosted_checkout_pay

    seen = Shopping()
    lock = threading.Lock()

    def pay(order) -> None:
        began = time.perf_counter()
        try:
            url = checkout_session_start(order_id=order.pk, order_page_url="http://127.0.0.1/orders/bench/")
            with lock:
                seen.started[order.pk] = time.perf_counter() - began
            status, _ = hosted_checkout_pay(url, "4242 4242 4242 4242")
            if status != 303:
                raise RuntimeError(f"the hosted page answered {status}")
        except Exception as exc:
            with lock:
                seen.errors.append((getattr(exc, "code", type(exc).__name__), str(exc)))
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(pay, orders))
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shop_options(parser, orders=1000, latency="0", emulator_rate_limit=None)
    parser.add_argument("--checkout", action="store_true", help="pay on hosted Checkout pages (Checkout Sessions)")
    args = parser.parse_args()
    if args.webhook_concurrency < 4:
        parser.error("--webhook-concurrency must be at least 4: the point is overlapping deliveries")

    shop = Shop(args, faults=FAULTS)
    try:
        shop.start()
        orders = place_orders(args.orders, extra_copy=True)
        order_ids = [order.pk for order in orders]
        began = time.monotonic()
        pay = pay_on_hosted_pages if args.checkout else shop_and_confirm
        seen = pay(orders, threads=args.threads, emulator_url=shop.emulator.url)
        wait_until_paid(order_ids, timeout=args.timeout)
        settled = webhooks_processed(shop.emulator, timeout=args.timeout)
        # The last receipts are emailed after the last order is paid.
        deadline = time.monotonic() + args.timeout
        from payments.models import Receipt

        while Receipt.objects.filter(order__in=order_ids, emailed_at__isnull=False).count() < len(order_ids):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - began
        figures = payment_outcome(order_ids, shop.mail_dir)
        stats = shop.emulator.stats()
        deliveries_line = delivery_figures(shop.emulator)
        inbox_line = inbox_figures()
    finally:
        shop.stop()

    print(f"{settings_line(args)}; faults {FAULTS}" + ("; paid on hosted Checkout pages" if args.checkout else ""))
    print(f"payment_start refused {len(seen.errors)} times", *sorted(set(seen.errors))[:3])
    print(deliveries_line)
    print(
        f"emulator: {stats['webhook_attempts']} webhook attempts, "
        f"at most {stats['webhooks_in_flight_peak']} in flight to the endpoint at once"
    )
    print(inbox_line)
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"  {label:{width}}  {value}")
    print(f"elapsed: {elapsed:.1f} s from the first payment started to the last receipt emailed"
          + ("" if settled else " (the inbox had not settled within the timeout)"))


if __name__ == "__main__":
    main()
