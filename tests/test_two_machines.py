"""The shop on two machines: two web servers and two sets of workers on one PostgreSQL and one Redis.

tests/shop_processes.running_machines runs the production Procfile's processes twice (web,
worker, worker-stripe per machine; beat once) behind a round-robin balancer that is also the
address the one webhook endpoint is registered at. Shoppers pay through the balancer while the
emulator delivers every event twice, shuffled, several at once, each delivery failing its first
attempt (tests/shop_processes.CHAOS_FAULTS, as bench/webhook_chaos.py), so both web servers store events and both machines'
workers process them, often the same order's at the same moment.

What the database must hold afterwards: each order paid once, one receipt each emailed once, each
cart cleared once (a copy added after ordering is still there), no event of an order recorded
twice, nothing failed in the inbox and no deadlock in any log. The Stripe limiter and the API
throttles are shared: one limiter key in Redis for every process, a slot taken there is taken for
both web servers, and a throttle counts requests to either.
"""

from __future__ import annotations

import hashlib
import time

import pytest
import redis
import requests
from django.conf import settings
from django.db.models import Count

from orders.models import Order, OrderEvent
from payments.gateway import BUSY_MESSAGE
from payments.models import Receipt, WebhookMessage
from tests.celery_fixtures import all_queues, purge_queues, subprocess_database_url, wait_for
from tests.shop_processes import CHAOS_FAULTS, Tally, payment_outcome, running_machines, shopper_places_order, shoppers_pay

# Real processes, the emulator and a worker per machine: not the fast layer (make test-fast).
pytestmark = pytest.mark.contract

SHOPPERS = 6
PURCHASES = 4  # 24 payments
AUTH_THROTTLE = 4  # token requests a minute per client (API_THROTTLE_AUTH), for the throttle check


def the_limiter_key() -> str:
    """payments/gateway.py's bucket for the shop's secret key, as every process names it."""
    digest = hashlib.sha256(f"Bearer {settings.STRIPE_SECRET_KEY}".encode()).hexdigest()[:16]
    return f"bookstore:stripe-rate:{digest}"


def block_the_limiter(client: redis.Redis, key: str) -> None:
    """Take every slot for the next minute, on Redis's clock, as a burst from elsewhere would."""
    seconds, micros = client.time()
    client.set(key, f"{(seconds + 60) * 1_000_000 + micros:.0f}", px=60_000)


@pytest.mark.django_db(transaction=True)
def test_two_machines_pay_each_order_exactly_once_under_webhook_chaos(tmp_path):
    client = redis.Redis.from_url(settings.REDIS_URL)
    # Messages and throttle counts left in this Redis db by an earlier run.
    purge_queues(all_queues())
    for key in client.keys("*throttle*"):
        client.delete(key)

    with running_machines(
        database_url=subprocess_database_url(),
        redis_url=settings.REDIS_URL,
        workdir=tmp_path,
        emulator_options=("--webhook-concurrency", "8"),
        # Short waits for a slot, so a blocked limiter answers at once.
        environment={"API_THROTTLE_AUTH": f"{AUTH_THROTTLE}/minute", "STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS": "1"},
    ) as machines:
        shop = machines.shop
        requests.post(f"{shop.emulator_url}/_emulator/faults", json=CHAOS_FAULTS, timeout=10).raise_for_status()

        # The Stripe limiter: every process takes its slots under one key in Redis.
        key = the_limiter_key()
        session, tally = requests.Session(), Tally()
        number, access_key = shopper_places_order(shop, tally, session, book_id=shop.book_ids[0], shopper=999)
        block_the_limiter(client, key)
        for web in machines.web_urls:
            # The pay page asks Stripe for a PaymentIntent: neither web server finds a slot.
            answer = session.get(f"{web}/pay/orders/{number}/{access_key}/", timeout=30)
            assert BUSY_MESSAGE in answer.text, web
        client.delete(key)

        # The throttle on token requests counts those to either web server.
        answers = [
            requests.post(
                f"{machines.web_urls[n % 2]}/api/v1/auth/token/", json={"username": "nobody", "password": "wrong"}, timeout=30
            ).status_code
            for n in range(AUTH_THROTTLE + 1)
        ]
        assert answers == [401] * AUTH_THROTTLE + [429]

        began = time.monotonic()
        numbers = shoppers_pay(shop, tally, shoppers=SHOPPERS, purchases=PURCHASES)
        paid = [number for number in numbers if number]
        settled = wait_for(
            lambda: not WebhookMessage.objects.filter(state=WebhookMessage.State.RECEIVED).exists()
            and Receipt.objects.filter(order__number__in=paid, emailed_at__isnull=False).count() == len(paid),
            what="the inbox to empty and every receipt to be emailed",
        )
        elapsed = time.monotonic() - began
        posts, tasks, connections = machines.webhook_posts(), machines.webhook_tasks(), dict(machines.balancer.connections)
        deadlocks = machines.deadlocks()

    assert settled
    assert tally.crashes == [] and tally.server_errors == 0, (tally.crashes, tally.errors)
    assert None not in numbers and tally.paid == SHOPPERS * PURCHASES
    order_ids = list(Order.objects.filter(number__in=numbers).values_list("pk", flat=True))
    figures = dict(payment_outcome(order_ids, tmp_path / "mail"))
    for label, value in figures.items():
        # Each order paid, its cart cleared once, one receipt emailed once; no double effect.
        assert value == (0 if label.startswith(("double", "payments not")) else len(numbers)), (label, figures)
    repeated = OrderEvent.objects.filter(order__in=order_ids).values("order", "kind").annotate(n=Count("id")).filter(n__gt=1)
    assert list(repeated) == []
    assert not WebhookMessage.objects.filter(state=WebhookMessage.State.FAILED).exists()
    assert deadlocks == 0

    # Both machines did the work: each web server stored deliveries, each worker processed events.
    assert all(posts.values()) and all(tasks.values()) and all(connections.values()), (posts, tasks, connections)
    assert len(connections) == 2
    print(
        f"\n{len(numbers)} orders paid through 2 machines in {elapsed:.1f} s; webhook deliveries answered per "
        f"web server {posts}; webhook tasks per machine {tasks}; balancer connections {connections}"
    )
