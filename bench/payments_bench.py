"""How fast orders get paid at Stripe's pace: PaymentIntent creation, the webhook endpoint's
answer, the inbox's processing, Stripe calls per paid order, and confirm to paid.

    .venv/bin/python bench/payments_bench.py [--orders 100] [--threads 8] [--workers 2]
        [--web-threads 1] [--worker-concurrency 4] [--stripe-concurrency 16] [--latency 150-400]
        [--emulator-rate-limit 100] [--webhook-concurrency 8] [--shop-rate-limit 90] [--duplicate]
        [--timeout 600]

Starts the Stripe emulator in its own process (`python -m stripe_emulator` with the given API
latency, per-key rate limit and parallel webhook deliveries; faults and figures through its
`/_emulator` routes), serves the shop with gunicorn on a free loopback port and starts the
shop's two Celery workers as its Procfile does: prefork on the default queue (receipts) and
a threads pool on the "stripe" queue (the webhook inbox), with Redis as broker and for the
shared Stripe rate limiter (BENCH_REDIS_URL, default db 12), on its own database
(BENCH_DATABASE_URL, default .../bookstore_payments_bench, dropped and recreated).
Registers the webhook endpoint and places one order per shopper through the services, then
shopper threads each take an order, start its payment (`payment_start` in this process:
PaymentIntent at the emulator under the shop's rate limit, mirror, row) and confirm it as the
browser does (publishable key and client secret, not counted as the shop's calls), and the
bench waits until the shop, told only by signed webhooks, has marked every order paid.

Prints PaymentIntent creation time, the webhook endpoint's response time as the emulator
timed each delivery (connection to answer, so gunicorn's queue included), inbox events
processed per second and each event's wait in the queue and time in its task, Stripe requests
per paid order (the emulator's count less the browser's confirms), confirm to paid and where
that time goes (confirm to the event stored, stored to its task started, task to paid), 429s
a shopper saw (payment_start raised) and 429s the shop absorbed (the emulator's count). `--duplicate` delivers every event twice,
shuffled. Everything stays on loopback and stops by itself (`--timeout`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bookstore_payments_bench")

from bench.api_bench import free_port, setup_django, start_gunicorn  # noqa: E402
from bench.common import percentile, recreate_database  # noqa: E402

# bench_environment (run by api_bench's import) drops REDIS_URL; the inbox needs a broker and
# the rate limiter is only shared by the processes through Redis.
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
MS = 1000


def shop_options(
    parser: argparse.ArgumentParser, *, orders: int, latency: str, emulator_rate_limit: int | None
) -> None:
    """The options both payment benches take: sizes, the emulator's load settings, the shop's limit."""
    parser.add_argument("--orders", type=int, default=orders)
    parser.add_argument("--threads", type=int, default=8, help="shopper threads (start, then confirm, a payment)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (the webhook endpoint)")
    parser.add_argument("--web-threads", type=int, default=1, help="threads per gunicorn worker (1: sync workers)")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="prefork pool processes (receipts)")
    parser.add_argument("--stripe-concurrency", type=int, default=16, help="threads of the 'stripe' queue's worker")
    parser.add_argument("--latency", default=latency, help="emulator API latency in ms, e.g. 150-400 (0: none)")
    parser.add_argument("--emulator-rate-limit", type=int, default=emulator_rate_limit, help="requests/s per key")
    parser.add_argument("--webhook-concurrency", type=int, default=8, help="emulator deliveries in flight per endpoint")
    parser.add_argument("--shop-rate-limit", type=float, default=90, help="the shop's STRIPE_RATE_LIMIT_PER_SECOND")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for every order to be paid")


@dataclass
class EmulatorProcess:
    """`python -m stripe_emulator` in a process of its own, so its HTTP threads, latency sleeps
    and webhook deliveries do not share this process's GIL with the shopper threads; driven
    through its `/_emulator` routes."""

    options: list[str]
    log_path: Path
    url: str = ""
    process: subprocess.Popen | None = None

    def start(self, *, faults: dict) -> EmulatorProcess:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--log-level", "WARNING"]
        command += self.options
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self._control("GET", "")
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"The emulator did not start:\n{self.log_path.read_text(errors='replace')}")
                time.sleep(0.1)
        if faults:
            self._control("POST", "/faults", faults)
        return self

    def _control(self, method: str, route: str, body: dict | None = None, *, timeout: float = 10) -> dict:
        request = urllib.request.Request(
            f"{self.url}/_emulator{route}", method=method, data=json.dumps(body).encode() if body else None
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)

    def stats(self) -> dict[str, int]:
        return self._control("GET", "/stats")

    def deliveries(self) -> list[dict]:
        return self._control("GET", "/deliveries")["data"]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self._control("GET", f"/deliveries?wait_idle={timeout}", timeout=timeout + 10)["idle"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class Shop:
    """The emulator, gunicorn serving the webhook endpoint and the shop's two Celery workers, on
    one bench database."""

    args: argparse.Namespace
    faults: dict = field(default_factory=dict)
    emulator: EmulatorProcess | None = None
    server: object = None
    workers: list = field(default_factory=list)
    mail_dir: Path | None = None

    def start(self) -> Shop:
        base = Path(tempfile.mkdtemp(prefix="payments-bench-"))
        options = ["--webhook-concurrency", str(self.args.webhook_concurrency)]
        if self.args.latency not in ("", "0"):
            options += ["--latency", self.args.latency]
        if self.args.emulator_rate_limit:
            options += ["--rate-limit", str(self.args.emulator_rate_limit)]
        self.emulator = EmulatorProcess(options, base / "emulator.log").start(faults=self.faults)
        os.environ["STRIPE_EMULATOR_URL"] = self.emulator.url
        os.environ["STRIPE_RATE_LIMIT_PER_SECOND"] = str(self.args.shop_rate_limit)
        os.environ["DJANGO_MEDIA_ROOT"] = str(base / "media")
        recreate_database()
        setup_django()

        from payments.setup.services import webhook_endpoint_register
        from tests.celery_fixtures import CeleryWorker, all_queues, purge_queues

        # Messages left in the bench's Redis db by an interrupted run name rows of a dropped database.
        purge_queues(all_queues())
        self.mail_dir = base / "mail"
        self.mail_dir.mkdir()
        shared = {"media_root": base / "media", "mail_dir": self.mail_dir, "stripe_url": self.emulator.url}
        # As the Procfile runs them: receipts in prefork processes, Stripe's waits in threads.
        self.workers = [
            CeleryWorker(
                **shared, log_path=base / "worker.log", queues=["celery"],
                max_tasks_per_child=100, concurrency=self.args.worker_concurrency,
            ),
            CeleryWorker(
                **shared, log_path=base / "worker-stripe.log", queues=["stripe"],
                pool="threads", concurrency=self.args.stripe_concurrency,
            ),
        ]  # fmt: skip
        for worker in self.workers:
            worker.start()
        port = free_port()
        self.server = start_gunicorn(port, self.args.workers, self.args.web_threads)
        webhook_endpoint_register(base_url=f"http://127.0.0.1:{port}")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)
        for worker in self.workers:
            worker.stop()
        if self.emulator is not None:
            self.emulator.stop()


def place_orders(count: int, *, extra_copy: bool = False) -> list:
    """`count` orders of two books, each by its own shopper from their own cart, through the services.

    With `extra_copy`, each shopper then puts one more copy of the first book in the cart:
    paying must take out what was ordered and leave that copy.
    """
    from django.contrib.auth import get_user_model

    from bookstore.models import Book
    from cart.services import cart_add, cart_get_or_create
    from orders.services import ShippingAddress, order_place

    books = [
        Book.objects.create(
            title=f"Bench Book {n}", author=f"Author {n}", isbn=f"979{n:010d}", price_amount=1000 + n, stock=100_000
        ).pk
        for n in range(10)
    ]
    shipping = ShippingAddress(name="Bench", line1="1 Loop Road", city="Dublin", postal_code="D01", country="IE")
    orders = []
    for n in range(count):
        # No password: hashing one per shopper would take longer than the bench.
        user = get_user_model().objects.create(username=f"shopper{n}", email=f"shopper{n}@example.com")
        cart = cart_get_or_create(user=user, session={})
        first, second = books[n % len(books)], books[(n + 1) % len(books)]
        cart_add(cart=cart, book_id=first, quantity=1)
        cart_add(cart=cart, book_id=second, quantity=2)
        orders.append(order_place(cart=cart, email=user.email, shipping=shipping, user=user))
        if extra_copy:
            cart_add(cart=cart, book_id=first, quantity=1)
    return orders


@dataclass
class Shopping:
    """What the shopper threads saw, per PaymentIntent."""

    started: dict[int, float] = field(default_factory=dict)  # order id: seconds payment_start took
    stripe_share: dict[int, float] = field(default_factory=dict)  # of which the create call
    confirmed_at: dict[str, float] = field(default_factory=dict)  # PaymentIntent: when its confirm answered
    errors: list[tuple[str, str]] = field(default_factory=list)  # (code, message) of payment_start refusals
    browser_requests: int = 0
    browser_rate_limited: int = 0


def shop_and_confirm(orders: list, *, threads: int, emulator_url: str) -> Shopping:
    """Each thread takes the next order, starts its payment and confirms it with 4242 as a browser would."""
    import stripe
    from django.conf import settings
    from django.db import connection

    from payments import gateway
    from payments.paying.services import payment_start

    seen = Shopping()
    lock = threading.Lock()
    queue = list(reversed(orders))
    local = threading.local()
    create_intent = gateway.payment_intent_create

    def timed_create(**kwargs):
        # Stripe's share of payment_start, timed apart so the shop's own time can be told from it.
        began = time.perf_counter()
        try:
            return create_intent(**kwargs)
        finally:
            local.stripe_time = time.perf_counter() - began

    # The browser's key and client: its requests are not the shop's (no shop rate limit) and
    # the emulator counts them under another key, as Stripe.js's publishable key.
    browser = stripe.StripeClient(
        settings.STRIPE_PUBLISHABLE_KEY, base_addresses={"api": emulator_url}, max_network_retries=0
    )

    def shopper() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    order = queue.pop()
                local.stripe_time = 0.0
                began = time.perf_counter()
                try:
                    payment = payment_start(order_id=order.pk)
                except Exception as exc:
                    with lock:
                        seen.errors.append((getattr(exc, "code", type(exc).__name__), str(exc)))
                    continue
                with lock:
                    seen.started[order.pk] = time.perf_counter() - began
                    seen.stripe_share[order.pk] = local.stripe_time
                while True:
                    with lock:
                        seen.browser_requests += 1
                    try:
                        browser.v1.payment_intents.confirm(
                            payment.stripe_payment_intent_id,
                            params={
                                "client_secret": payment.client_secret,
                                "payment_method": "pm_card_visa",
                                "return_url": "http://127.0.0.1/return",
                            },
                        )
                        break
                    except stripe.RateLimitError:
                        with lock:
                            seen.browser_rate_limited += 1
                        time.sleep(0.2)
                with lock:
                    seen.confirmed_at[payment.stripe_payment_intent_id] = time.time()
        finally:
            connection.close()

    gateway.payment_intent_create = timed_create
    try:
        workers = [threading.Thread(target=shopper) for _ in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    finally:
        gateway.payment_intent_create = create_intent
    return seen


def webhooks_processed(emulator: EmulatorProcess, *, timeout: float) -> bool:
    """What the tests wait on: nothing left to deliver at the emulator, nothing left in the inbox."""
    from tests.stripe_fixtures import _webhooks_processed

    return _webhooks_processed(emulator.wait_idle, timeout=timeout)


def wait_until_paid(order_ids: list[int], *, timeout: float) -> int:
    """Wait until every order is paid or `timeout` passes; returns how many are paid."""
    from orders.models import Order

    deadline = time.monotonic() + timeout
    while True:
        paid = Order.objects.filter(pk__in=order_ids, status=Order.Status.PAID).count()
        if paid == len(order_ids) or time.monotonic() > deadline:
            return paid
        time.sleep(0.1)


def inbox_figures() -> str:
    """Events the inbox processed per second (first stored to last done) and each event's wait."""
    from django.db.models import Max, Min

    from payments.models import WebhookMessage

    done = WebhookMessage.objects.exclude(state=WebhookMessage.State.RECEIVED)
    span = done.aggregate(first=Min("received_at"), last=Max("processed_at"))
    if not span["last"]:
        return "inbox: nothing processed"
    seconds = max((span["last"] - span["first"]).total_seconds(), 1e-3)
    times = done.exclude(processed_at=None).values_list("received_at", "processed_at")
    waits = [(processed - received).total_seconds() for received, processed in times]
    # attempted_at is the last attempt's start: only rows done in one attempt split cleanly.
    once = done.filter(attempts=1).exclude(processed_at=None).values_list("received_at", "attempted_at", "processed_at")
    queued = [(attempted - received).total_seconds() for received, attempted, _ in once]
    working = [(processed - attempted).total_seconds() for _, attempted, processed in once]
    states = {state: done.filter(state=state).count() for state in WebhookMessage.State.values if state != "received"}
    retried = done.filter(attempts__gt=1).count()
    return (
        f"inbox events processed: {done.count()} in {seconds:.1f} s = {done.count() / seconds:.1f} events/s "
        f"({', '.join(f'{n} {s}' for s, n in states.items())}; {retried} took more than one attempt); "
        f"stored to processed: {spread(waits)}\n"
        f"  of those done in one attempt: stored to task started (the broker's queue) {spread(queued)}; "
        f"task started to done {spread(working)}"
    )


def spread(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    return f"p50 {statistics.median(seconds) * MS:.0f} ms, p95 {percentile(seconds, 0.95) * MS:.0f} ms"


def paid_timeline(confirmed_at: dict[str, float]) -> str:
    """Where confirm-to-paid goes, per paid order, from its payment_intent.succeeded event's row."""
    from orders.models import Order
    from payments.models import WebhookMessage

    paid_at = dict(
        Order.objects.filter(status=Order.Status.PAID, payment__stripe_payment_intent_id__in=list(confirmed_at))
        .values_list("payment__stripe_payment_intent_id", "paid_at")
    )
    rows = WebhookMessage.objects.filter(type="payment_intent.succeeded", attempts=1).values_list(
        "payload__data__object__id", "received_at", "attempted_at"
    )
    delivered, queued, working = [], [], []
    for intent, received, attempted in rows:
        if intent in paid_at and intent in confirmed_at and attempted:
            delivered.append(received.timestamp() - confirmed_at[intent])
            queued.append((attempted - received).total_seconds())
            working.append((paid_at[intent] - attempted).total_seconds())
    return (
        f"  where it goes ({len(delivered)} orders paid by a one-attempt payment_intent.succeeded): confirm "
        f"answered to event stored (the emulator's delivery queue, the POST, gunicorn) {spread(delivered)}; "
        f"stored to task started {spread(queued)}; task started to order paid {spread(working)}"
    )


def settings_line(args: argparse.Namespace) -> str:
    web = f"x{args.web_threads} threads" if args.web_threads > 1 else "sync"
    return (
        f"{args.orders} orders, {args.threads} shopper threads, {args.workers} gunicorn workers ({web}), Celery "
        f"prefork x{args.worker_concurrency} on 'celery' and threads x{args.stripe_concurrency} on 'stripe', "
        f"{os.cpu_count()} CPUs; emulator (own process) latency {args.latency} ms, rate limit "
        f"{args.emulator_rate_limit or 'none'}/s, webhook concurrency {args.webhook_concurrency}; shop's limit "
        f"{args.shop_rate_limit:g}/s"
    )


def delivery_figures(emulator: EmulatorProcess) -> str:
    """The endpoint's response time as the emulator timed each delivery it sent."""
    deliveries = emulator.deliveries()
    durations = [d["duration"] for d in deliveries if d.get("duration") is not None]
    answered = sum(1 for d in deliveries if d.get("outcome") == "succeeded")
    line = f"webhook deliveries: {len(deliveries)} attempts, {answered} answered 2xx"
    if durations:
        line += (
            f"; endpoint response time (emulator's send to answer, gunicorn's queue included): "
            f"p50 {statistics.median(durations) * MS:.1f} ms, p99 {percentile(durations, 0.99) * MS:.1f} ms, "
            f"max {max(durations) * MS:.1f} ms"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shop_options(parser, orders=100, latency="0", emulator_rate_limit=None)
    parser.add_argument("--duplicate", action="store_true", help="deliver every webhook twice, shuffled")
    args = parser.parse_args()

    shop = Shop(args, faults={"duplicate": True, "shuffle": True} if args.duplicate else {})
    try:
        shop.start()
        from orders.models import Order, OrderEvent

        orders = place_orders(args.orders)
        before = shop.emulator.stats()
        began = time.time()
        seen = shop_and_confirm(orders, threads=args.threads, emulator_url=shop.emulator.url)
        started_ids = list(seen.started)
        paid_count = wait_until_paid(started_ids, timeout=args.timeout)
        elapsed = time.time() - began
        settled = webhooks_processed(shop.emulator, timeout=60)
        after = shop.emulator.stats()
        paid = {
            o.payment.stripe_payment_intent_id: o.paid_at.timestamp()
            for o in Order.objects.filter(pk__in=started_ids, status=Order.Status.PAID).select_related("payment")
        }
        to_paid = [paid[pi] - at for pi, at in seen.confirmed_at.items() if pi in paid]
        paid_events = OrderEvent.objects.filter(kind=OrderEvent.Kind.PAID, order__in=started_ids).count()
        deliveries_line = delivery_figures(shop.emulator)
        inbox_line = inbox_figures()
        timeline_line = paid_timeline(seen.confirmed_at)
    finally:
        shop.stop()

    print(settings_line(args) + (", every event twice, shuffled" if args.duplicate else ""))
    print(
        f"orders paid: {paid_count} of {len(started_ids)} started ({len(orders)} placed); 'paid' events: {paid_events}"
        + ("" if settled else "; the inbox had not settled within 60 s after the last paid order")
    )
    starts = list(seen.started.values())
    if starts:
        print(f"payment_start (PaymentIntent + mirror + row): median {statistics.median(starts) * MS:.1f} ms, "
              f"p95 {percentile(starts, 0.95) * MS:.1f} ms")
        shop_share = [seen.started[pk] - seen.stripe_share[pk] for pk in seen.started]
        print(f"  of which the shop's own (without the create call, its rate-limit wait included in that call): "
              f"median {statistics.median(shop_share) * MS:.1f} ms, p95 {percentile(shop_share, 0.95) * MS:.1f} ms")
    print(deliveries_line)
    print(inbox_line)
    requests = after["api_requests"] - before["api_requests"]
    rate_limited = after["rate_limited"] - before["rate_limited"]
    shop_requests = requests - seen.browser_requests
    shop_429 = rate_limited - seen.browser_rate_limited
    if paid_count:
        print(f"Stripe requests per paid order: {shop_requests / paid_count:.2f} "
              f"({shop_requests} requests from the shop, {shop_429} of them answered 429; "
              f"{(shop_requests - shop_429) / paid_count:.2f} per order without those; the browser's "
              f"{seen.browser_requests} confirms not counted)")
    if to_paid:
        print(f"confirm -> order paid by webhook: p50 {statistics.median(to_paid) * MS:.0f} ms, "
              f"p95 {percentile(to_paid, 0.95) * MS:.0f} ms, max {max(to_paid) * MS:.0f} ms")
        print(timeline_line)
    from payments.gateway import BUSY_MESSAGE

    busy = sum(1 for _code, message in seen.errors if message == BUSY_MESSAGE)
    print(f"429s that reached a shopper (payment_start raised 'busy'): {busy} "
          f"(payment_start raised {len(seen.errors)} times in all); "
          f"429s the emulator answered the shop (absorbed by the gateway): {shop_429}; "
          f"to the browser: {seen.browser_rate_limited}")
    for code, message in sorted(set(seen.errors))[:5]:
        print(f"  {code}: {message}")
    print(f"throughput: {paid_count / elapsed:.1f} orders paid per second, first start to last paid {elapsed:.1f} s")


if __name__ == "__main__":
    main()
