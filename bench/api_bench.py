"""How fast the JSON API lists books and orders, and whether its queries grow with rows.

    .venv/bin/python bench/api_bench.py [--seconds 5] [--threads 4] [--workers 2]

Uses its own database (BENCH_DATABASE_URL, default .../bookstore_api_bench), which it drops
and recreates. Seeds books and one shopper's orders through the services, counts the SQL
queries of one request at 10 and at 100 rows, then serves the shop with gunicorn on a free
loopback port and drives the book list and the order list (page_size=100, token auth) from
a few client threads for a fixed time. Prints requests per second and latency percentiles.
Everything stays on loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, recreate_database  # noqa: E402

ENV = bench_environment(database="bookstore_api_bench", allowed_hosts="127.0.0.1")
DATABASE_URL = ENV["DATABASE_URL"]


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(*, books: int, orders: int, user) -> None:
    """Top the shop up to `books` books and the user's `orders` orders, through the services."""
    from bookstore.models import Book
    from cart.services import cart_add, cart_get_or_create, cart_remove
    from orders.models import Order
    from orders.services import ShippingAddress, order_place

    for n in range(Book.objects.count(), books):
        Book.objects.create(
            title=f"Bench Book {n}", author=f"Author {n % 17}", isbn=f"979{n:010d}", price_amount=1000 + n, stock=10_000
        )
    cart = cart_get_or_create(user=user, session={})
    book_ids = list(Book.objects.order_by("id").values_list("pk", flat=True))
    shipping = ShippingAddress(name="Bench", line1="1 Loop Road", city="Dublin", postal_code="D01", country="IE")
    for n in range(Order.objects.filter(user=user).count(), orders):
        # Checking out an unchanged cart hands back its order awaiting payment, so each order
        # has its own two books; the one before is superseded (canceled), still a row to list.
        pair = (book_ids[n % len(book_ids)], book_ids[(n + 1) % len(book_ids)])
        for book_id in pair:
            cart_add(cart=cart, book_id=book_id, quantity=1)
        order_place(cart=cart, email=user.email, shipping=shipping, user=user)
        for book_id in pair:
            cart_remove(cart=cart, book_id=book_id)
    if (placed := Order.objects.filter(user=user).count()) != orders:
        sys.exit(f"Seeding left {placed} orders, not {orders}.")


def count_queries(path: str, token: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int, threads: int = 1) -> subprocess.Popen:
    """gunicorn serving the shop on `port`: sync workers, or gthread ones with `threads` > 1."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"), "bookstore.wsgi:application", "-b", f"127.0.0.1:{port}",
            "-w", str(workers), "--threads", str(threads),
        ],  # fmt: skip
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("gunicorn did not start within 30 s")


def drive(port: int, path: str, token: str, *, seconds: float, threads: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        mine = []
        while time.monotonic() < stop_at:
            # gunicorn's sync workers close each connection, so each request opens one.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            started = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": f"Token {token}"})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            connection.close()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5, help="load per endpoint and row count")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()

    recreate_database()
    setup_django()
    from bookstore.services import api_token_get_or_create
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-123")
    token = api_token_get_or_create(user=user).key
    endpoints = {"book list": "/api/v1/books/?page_size=100", "order list": "/api/v1/orders/?page_size=100"}

    print(f"{'endpoint':<12}{'rows':>6}{'queries':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for rows in (10, 100):
        seed(books=rows, orders=rows, user=user)
        port = free_port()
        server = start_gunicorn(port, args.workers)
        try:
            for name, path in endpoints.items():
                queries = count_queries(path, token)
                rate, latencies = drive(port, path, token, seconds=args.seconds, threads=args.threads)
                p50 = statistics.median(latencies) * 1000
                p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
                print(f"{name:<12}{rows:>6}{queries:>9}{rate:>9.0f}{p50:>9.1f}{p95:>9.1f}")
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"({args.threads} client threads, {args.workers} gunicorn sync workers, {args.seconds:g} s each, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
