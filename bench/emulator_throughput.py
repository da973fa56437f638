"""How fast the Stripe emulator answers and delivers, on this machine, with or without Stripe's load behaviour.

    .venv/bin/python bench/emulator_throughput.py [--payments 300] [--threads 4] [--events 500]
        [--latency 150-400] [--rate-limit 100] [--webhook-concurrency 8] [--receiver-ms 50] [--seconds 30]

Prints API requests per second for create + confirm of PaymentIntents through the
real stripe-python client from a few threads (with --latency and --rate-limit as
Stripe would answer: slowly, and 429 beyond the limit, counted), and webhook
deliveries per second to a local receiver that takes --receiver-ms to answer (with
--webhook-concurrency deliveries in flight at once; latency and limit off for this
part, which times the sending alone). Everything stays on loopback
and stops by itself: the API part submits no new payment after --seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stripe_emulator import Emulator  # noqa: E402

SECRET_KEY = "sk_test_" + "benchmark" * 3


def bench_api(emulator: Emulator, payments: int, threads: int, seconds: float) -> None:
    local = threading.local()  # one client (and keep-alive connection pool) per thread
    deadline = time.perf_counter() + seconds

    def pay(_: int) -> tuple[float, float] | str | None:
        if time.perf_counter() > deadline:
            return None
        if not hasattr(local, "client"):
            local.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": emulator.url},
                                               max_network_retries=0)
        try:
            started = time.perf_counter()
            pi = local.client.v1.payment_intents.create(params={
                "amount": 1500, "currency": "eur", "automatic_payment_methods": {"enabled": True,
                                                                                  "allow_redirects": "never"}})
            created = time.perf_counter()
            local.client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
            return created - started, time.perf_counter() - created
        except stripe.RateLimitError:
            return "rate_limited"

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(pay, range(payments)))
    elapsed = time.perf_counter() - started
    paid = [o for o in outcomes if isinstance(o, tuple)]
    stats = emulator.stats()
    requests = stats["api_requests"]
    print(f"API: {len(paid)}/{payments} payments paid (create+confirm) from {threads} threads in {elapsed:.2f} s"
          f"{f'; {outcomes.count(None)} not started (--seconds)' if None in outcomes else ''}")
    print(f"  {requests / elapsed:,.0f} requests/s answered, {len(paid) / elapsed:,.0f} payments/s paid; "
          f"{stats['rate_limited']} answered 429 ({outcomes.count('rate_limited')} payments stopped by one)")
    for name, values in (("create", sorted(c for c, _ in paid)), ("confirm", sorted(c for _, c in paid))):
        if values:
            p95 = values[int(len(values) * 0.95)]
            print(f"  {name}: median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


class Counter(BaseHTTPRequestHandler):
    received = 0
    answer_after = 0.0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(Counter.answer_after)
        with Counter.lock:
            Counter.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def bench_webhooks(emulator: Emulator, events: int, threads: int) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    receiver.daemon_threads = True
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    local = threading.local()

    def create(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": emulator.url},
                                               max_network_retries=0)
        local.client.v1.customers.create(params={"name": f"reader {i}"})

    stripe.StripeClient(SECRET_KEY, base_addresses={"api": emulator.url}).v1.webhook_endpoints.create(params={
        "url": f"http://127.0.0.1:{receiver.server_address[1]}/", "enabled_events": ["*"]})
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, range(events)))
    idle = emulator.wait_idle(120)
    elapsed = time.perf_counter() - started
    receiver.shutdown()
    receiver.server_close()
    deliveries = [d for d in emulator.deliveries() if d["outcome"] == "succeeded"]
    # The delivery log's timestamps time the sending alone, apart from the API calls that made the events.
    sending = max(d["at"] + d["duration"] for d in deliveries) - min(d["at"] for d in deliveries)
    concurrency = emulator.backend.controls.settings.webhook_concurrency
    print(f"Webhooks: {len(deliveries)}/{events} events created and delivered (signed, one POST each) in "
          f"{elapsed:.2f} s{'' if idle else ' (not idle at the end!)'}; received {Counter.received}")
    print(f"  {len(deliveries) / sending:,.0f} deliveries/s to one endpoint answering in "
          f"{Counter.answer_after * 1000:.0f} ms, {concurrency} at a time "
          f"(peak {emulator.stats()['webhooks_in_flight_peak']} in flight)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4, help="API client threads (use more with --latency)")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--latency", help="the emulator's API latency, LOW-HIGH milliseconds (default none)")
    parser.add_argument("--rate-limit", type=int, help="the emulator's requests per second per key (default none)")
    parser.add_argument("--webhook-concurrency", type=int, default=1)
    parser.add_argument("--receiver-ms", type=float, default=0.0, help="how long the webhook receiver takes")
    parser.add_argument("--seconds", type=float, default=30.0, help="start no payment after this long")
    args = parser.parse_args()
    settings: dict[str, Any] = {"webhook_concurrency": args.webhook_concurrency}
    if args.latency:
        settings["latency_ms"] = args.latency
    if args.rate_limit:
        settings["rate_limit"] = args.rate_limit
    Counter.answer_after = args.receiver_ms / 1000
    with Emulator(settings=settings) as emulator:
        print(f"Settings: latency {args.latency or 'none'} ms, rate limit {args.rate_limit or 'none'}/s, "
              f"{args.webhook_concurrency} webhook(s) at a time, receiver {args.receiver_ms:.0f} ms")
        bench_api(emulator, args.payments, args.threads, args.seconds)
        emulator.reset()
        # Deliveries alone: the events are made as fast as the API can.
        emulator.configure(latency_ms=0, rate_limit=None)
        bench_webhooks(emulator, args.events, args.threads)


if __name__ == "__main__":
    main()
