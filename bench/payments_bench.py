"""How fast orders get paid: PaymentIntent creation, and webhook to paid order.

    .venv/bin/python bench/payments_bench.py [--orders 100] [--threads 4] [--workers 2] [--duplicate]

Starts the Stripe emulator in this process, serves the shop with gunicorn on a free loopback
port (its own database, BENCH_DATABASE_URL, default .../bookstore_payments_bench, dropped
and recreated), registers the webhook endpoint, places orders through the services, then:

1. starts each order's payment (`payment_start`: PaymentIntent at the emulator, dj-stripe
   mirror, our row) and times it;
2. confirms every PaymentIntent with a test card from a few threads, as browsers would, and
   waits until the shop, told only by the emulator's signed webhooks, has marked all paid.

Prints latencies and orders paid per second. `--duplicate` delivers every event twice,
shuffled, to show what idempotent handling costs. Everything stays on loopback.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bookstore_payments_bench")
os.environ["CELERY_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-celery-")

from bench.api_bench import free_port, seed, setup_django, start_gunicorn  # noqa: E402
from bench.common import percentile, recreate_database  # noqa: E402
from stripe_emulator import Emulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4, help="threads confirming payments")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--duplicate", action="store_true", help="deliver every webhook twice, shuffled")
    args = parser.parse_args()

    emulator = Emulator(host="127.0.0.1", port=0).start()
    os.environ["STRIPE_EMULATOR_URL"] = emulator.url
    recreate_database()
    setup_django()

    import stripe
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from orders.models import Order, OrderEvent
    from payments import gateway
    from payments.paying.services import payment_start
    from payments.setup.services import webhook_endpoint_register

    if args.duplicate:
        emulator.set_faults(duplicate=True, shuffle=True)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-123")
    seed(books=10, orders=args.orders, user=user)
    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        webhook_endpoint_register(base_url=f"http://127.0.0.1:{port}")
        orders = list(Order.objects.filter(user=user).order_by("id"))

        # The emulator's share of payment_start (the HTTP call to create the PaymentIntent),
        # timed apart so the shop's own time can be told from Stripe's.
        stripe_times: list[float] = []
        create_intent = gateway.payment_intent_create

        def timed_create(**kwargs):
            started = time.perf_counter()
            try:
                return create_intent(**kwargs)
            finally:
                stripe_times.append(time.perf_counter() - started)

        gateway.payment_intent_create = timed_create
        start_times, intents = [], []
        for order in orders:
            started = time.perf_counter()
            intents.append(payment_start(order_id=order.pk).stripe_payment_intent_id)
            start_times.append(time.perf_counter() - started)

        browser = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": emulator.url})
        confirmed_at: dict[str, float] = {}
        queue = list(intents)
        lock = threading.Lock()

        def confirm() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    intent_id = queue.pop()
                browser.v1.payment_intents.confirm(
                    intent_id, params={"payment_method": "pm_card_visa", "return_url": "http://127.0.0.1/return"}
                )
                confirmed_at[intent_id] = time.time()

        began = time.time()
        threads = [threading.Thread(target=confirm) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 120
        while Order.objects.filter(user=user, status=Order.Status.PAID).count() < len(orders):
            if time.monotonic() > deadline:
                sys.exit("Not every order was paid within 120 s: are webhooks reaching the shop?")
            time.sleep(0.05)
        elapsed = time.time() - began
        emulator.wait_idle(timeout=60)
        drained = time.time() - began

        paid = {
            o.payment.stripe_payment_intent_id: o.paid_at.timestamp()
            for o in Order.objects.filter(user=user).select_related("payment")
        }
        webhook_latencies = [paid[pi] - confirmed_at[pi] for pi in intents]
        deliveries = emulator.deliveries()
        paid_events = OrderEvent.objects.filter(kind="paid", order__user=user).count()
    finally:
        server.terminate()
        server.wait(timeout=10)
        emulator.stop()

    ms = 1000
    print(f"orders: {len(orders)}; webhooks delivered: {len(deliveries)}"
          f"{' (each twice, shuffled)' if args.duplicate else ''}; 'paid' events: {paid_events}")
    durations = sorted(d["duration"] for d in deliveries if d.get("duration") is not None)
    if durations:
        print(f"one webhook, as the emulator timed it: median {statistics.median(durations) * ms:.1f} ms, "
              f"p95 {percentile(durations, 0.95) * ms:.1f} ms (deliveries to one endpoint go one at a time)")
    print(f"payment_start (PaymentIntent + mirror + row): median {statistics.median(start_times) * ms:.1f} ms, "
          f"p95 {percentile(start_times, 0.95) * ms:.1f} ms")
    shop_times = [total - stripe for total, stripe in zip(start_times, stripe_times)]
    print(f"  of which the shop's own (without the create call to the emulator): median "
          f"{statistics.median(shop_times) * ms:.1f} ms, p95 {percentile(shop_times, 0.95) * ms:.1f} ms")
    handled = sum(1 for d in deliveries if d.get("status") == 200)
    print(f"webhook events handled: {handled} in {drained:.1f} s = {handled / drained:.1f} events/s")
    print(f"confirm -> order paid by webhook: median {statistics.median(webhook_latencies) * ms:.1f} ms, "
          f"p95 {percentile(webhook_latencies, 0.95) * ms:.1f} ms")
    print(f"throughput: {len(orders) / elapsed:.1f} orders paid per second "
          f"({args.threads} confirming threads, {args.workers} gunicorn workers, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
