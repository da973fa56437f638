"""The shop on two machines (or more) under webhook chaos: what the database says happened, and how fast.

    .venv/bin/python bench/two_machines.py [--orders 200] [--shoppers 8] [--machines 2]
        [--web-concurrency 2] [--stripe-concurrency 4] [--webhook-concurrency 8] [--timeout 600]

tests/test_two_machines.py with more payments. `running_machines` (tests/shop_processes.py)
starts the production Procfile's web, worker and worker-stripe once per machine and beat once,
on one PostgreSQL database (BENCH_DATABASE_URL, default .../bookstore_two_machines_bench,
dropped, recreated and migrated) and one Redis (BENCH_REDIS_URL, default db 12), behind a
round-robin TCP balancer that is also the address of the one webhook endpoint. Guest shoppers
buy through the balancer (book page, cart, checkout, pay page, confirm at the emulator as
Stripe.js does, then poll until paid) while the emulator delivers every event twice, shuffled,
several at once, each delivery failing its first attempt.

Prints the orders paid and each kind of double effect (tests/shop_processes.payment_outcome:
must be 0), the inbox's states, the deliveries each web server answered, the webhook tasks
each machine's worker-stripe ran, the balancer's connections per web server, deadlocks
logged, and the time from the first shopper to the last receipt emailed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, recreate_database  # noqa: E402

bench_environment(database="bookstore_two_machines_bench", allowed_hosts="127.0.0.1,localhost")
# bench_environment drops REDIS_URL: here every machine shares one Redis, as in production.
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--shoppers", type=int, default=8, help="shoppers buying at once")
    parser.add_argument("--machines", type=int, default=2)
    parser.add_argument("--web-concurrency", type=int, default=2, help="gunicorn workers per machine")
    parser.add_argument("--stripe-concurrency", type=int, default=4, help="worker-stripe threads per machine")
    parser.add_argument("--webhook-concurrency", type=int, default=8, help="emulator deliveries in flight")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the last receipt")
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import requests

    from orders.models import Order
    from payments.models import Receipt, WebhookMessage
    from tests.celery_fixtures import all_queues, purge_queues
    from tests.shop_processes import CHAOS_FAULTS, Tally, payment_outcome, running_machines, shoppers_pay

    # Messages left in the bench's Redis db by an interrupted run name rows of a dropped database.
    purge_queues(all_queues())
    purchases = math.ceil(args.orders / args.shoppers)
    workdir = Path(tempfile.mkdtemp(prefix="two-machines-"))
    with running_machines(
        database_url=os.environ["DATABASE_URL"],
        redis_url=os.environ["REDIS_URL"],
        workdir=workdir,
        machines=args.machines,
        emulator_options=("--webhook-concurrency", str(args.webhook_concurrency)),
        environment={
            "WEB_CONCURRENCY": str(args.web_concurrency),
            "CELERY_STRIPE_CONCURRENCY": str(args.stripe_concurrency),
        },
    ) as machines:
        requests.post(f"{machines.shop.emulator_url}/_emulator/faults", json=CHAOS_FAULTS, timeout=10).raise_for_status()
        tally = Tally()
        began = time.monotonic()
        numbers = shoppers_pay(machines.shop, tally, shoppers=args.shoppers, purchases=purchases)
        paid_at = time.monotonic()
        paid = [number for number in numbers if number]
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and (
            WebhookMessage.objects.filter(state=WebhookMessage.State.RECEIVED).exists()
            or Receipt.objects.filter(order__number__in=paid, emailed_at__isnull=False).count() < len(paid)
        ):
            time.sleep(0.5)
        elapsed = time.monotonic() - began
        posts, tasks, connections = machines.webhook_posts(), machines.webhook_tasks(), dict(machines.balancer.connections)
        deadlocks = machines.deadlocks()
        stats = requests.get(f"{machines.shop.emulator_url}/_emulator/stats", timeout=10).json()
        order_ids = list(Order.objects.filter(number__in=paid).values_list("pk", flat=True))
        figures = payment_outcome(order_ids, workdir / "mail")
        inbox = {state: WebhookMessage.objects.filter(state=state).count() for state in WebhookMessage.State.values}

    print(
        f"{args.machines} machines (gunicorn x{args.web_concurrency}, worker prefork x1, worker-stripe threads "
        f"x{args.stripe_concurrency} each; beat once), one PostgreSQL, one Redis, {os.cpu_count()} CPUs; "
        f"{len(numbers)} purchases by {args.shoppers} shoppers at once; emulator faults {CHAOS_FAULTS}, "
        f"{args.webhook_concurrency} deliveries in flight"
    )
    print(f"purchases that ended paid: {len(paid)} of {len(numbers)}; answers 5xx: {tally.server_errors}; crashes: {len(tally.crashes)}")
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"  {label:{width}}  {value}")
    print(f"webhook inbox: {inbox}; emulator: {stats.get('webhook_attempts')} delivery attempts")
    print(f"deliveries answered per web server: {posts}; webhook tasks per machine: {tasks}")
    print(f"balancer connections per web server port: {connections}; deadlocks logged: {deadlocks}")
    print(
        f"elapsed: {paid_at - began:.1f} s to the last order paid, {elapsed:.1f} s to the last receipt emailed "
        f"({len(paid) / (paid_at - began):.1f} orders paid per second)"
    )


if __name__ == "__main__":
    main()
