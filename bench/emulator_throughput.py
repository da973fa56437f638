"""How fast the Stripe emulator answers and delivers, on this machine.

    .venv/bin/python bench/emulator_throughput.py [--payments 300] [--threads 4] [--events 500]

Prints API requests per second for create + confirm of PaymentIntents through the
real stripe-python client from a few threads, and webhook deliveries per second
to a local receiver. Everything stays on loopback and stops by itself.
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

import stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stripe_emulator import Emulator  # noqa: E402

SECRET_KEY = "sk_test_" + "benchmark" * 3


def bench_api(emulator: Emulator, payments: int, threads: int) -> None:
    local = threading.local()  # one client (and keep-alive connection pool) per thread

    def pay(_: int) -> tuple[float, float]:
        if not hasattr(local, "client"):
            local.client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": emulator.url},
                                               max_network_retries=0)
        started = time.perf_counter()
        pi = local.client.v1.payment_intents.create(params={
            "amount": 1500, "currency": "eur", "automatic_payment_methods": {"enabled": True,
                                                                              "allow_redirects": "never"}})
        created = time.perf_counter()
        local.client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
        return created - started, time.perf_counter() - created

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(pay, range(payments)))
    elapsed = time.perf_counter() - started
    requests = 2 * payments
    creates = sorted(c for c, _ in latencies)
    confirms = sorted(c for _, c in latencies)
    print(f"API: {payments} create+confirm pairs ({requests} requests) from {threads} threads in {elapsed:.2f} s")
    print(f"  {requests / elapsed:,.0f} requests/s, {payments / elapsed:,.0f} payments/s")
    for name, values in (("create", creates), ("confirm", confirms)):
        p95 = values[int(len(values) * 0.95)]
        print(f"  {name}: median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


class Counter(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with Counter.lock:
            Counter.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def bench_webhooks(emulator: Emulator, events: int) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    receiver.daemon_threads = True
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": emulator.url}, max_network_retries=0)
    client.v1.webhook_endpoints.create(params={
        "url": f"http://127.0.0.1:{receiver.server_address[1]}/", "enabled_events": ["*"]})
    started = time.perf_counter()
    for i in range(events):
        client.v1.customers.create(params={"name": f"reader {i}"})
    idle = emulator.wait_idle(120)
    elapsed = time.perf_counter() - started
    receiver.shutdown()
    receiver.server_close()
    deliveries = [d for d in emulator.deliveries() if d["outcome"] == "succeeded"]
    # The delivery log's timestamps time the sending alone, apart from the API calls that made the events.
    sending = deliveries[-1]["at"] + deliveries[-1]["duration"] - deliveries[0]["at"]
    print(f"Webhooks: {len(deliveries)}/{events} events created and delivered (signed, one POST each) in "
          f"{elapsed:.2f} s{'' if idle else ' (not idle at the end!)'}; received {Counter.received}")
    print(f"  {len(deliveries) / sending:,.0f} deliveries/s to one endpoint (in order, one at a time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    with Emulator() as emulator:
        bench_api(emulator, args.payments, args.threads)
        emulator.reset()
        bench_webhooks(emulator, args.events)


if __name__ == "__main__":
    main()
