"""SQL queries and median latency of the shop's pages, and whether the queries grow with rows.

    .venv/bin/python bench/page_queries.py [--requests 50]

Uses a fresh database of its own, made the way the test runner makes one (test_ plus the
name in BENCH_DATABASE_URL, default .../bookstore_pages_bench), migrated, filled with
`load_demo_data`, and dropped at the end. Then drives the pages in
process with Django's test client: the book list and a book's page, the cart with 1 and
10 lines, the order list with 1 and 10 orders, and an order page with 1 and 10 lines, for
a signed-in shopper. Prints queries per request and the median time of --requests requests.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, measure  # noqa: E402

bench_environment(database="bookstore_pages_bench", WHITENOISE_USE_FINDERS="true")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("load_demo_data", stdout=open(os.devnull, "w"))
        rows = measure_pages(args.requests)
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)

    print(f"{'page':32} {'queries':>7} {'median ms':>10}   ({args.requests} requests each, in process)")
    for name, queries, median in rows:
        print(f"{name:32} {queries:>7} {median:>10.1f}")


def measure_pages(requests: int) -> list[tuple[str, int, float]]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from bookstore.management.commands.load_demo_data import SHOPPER_USERNAME
    from bookstore.models import Book
    from cart.services import cart_add, cart_get_or_create, cart_remove
    from orders.services import ShippingAddress, order_place

    shopper = get_user_model().objects.get(username=SHOPPER_USERNAME)
    client = Client()
    client.force_login(shopper)
    cart = cart_get_or_create(user=shopper, session={})
    books = list(Book.objects.filter(stock__gte=5).order_by("pk")[:10])
    shipping = ShippingAddress(name="Bench Reader", line1="1 Quay Street", city="Dublin", postal_code="D02", country="IE")

    def fill_cart(lines: int) -> None:
        for line in cart.lines.all():
            cart_remove(cart=cart, book_id=line.book_id)
        for book in books[:lines]:
            cart_add(cart=cart, book_id=book.pk, quantity=1)

    def place(lines: int):
        fill_cart(lines)
        return order_place(cart=cart, email=shopper.email, shipping=shipping, user=shopper)

    rows = []
    # Manifest storage needs collectstatic; the pages are measured, not their static files.
    plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static}):
        rows.append(("book list (12 of 50 books)", *measure(client, "/", requests=requests)))
        rows.append(("book list, search 'harbour'", *measure(client, "/?q=harbour", requests=requests)))
        rows.append(("book detail", *measure(client, books[0].get_absolute_url(), requests=requests)))
        fill_cart(1)
        rows.append(("cart, 1 line", *measure(client, "/cart/", requests=requests)))
        fill_cart(10)
        rows.append(("cart, 10 lines", *measure(client, "/cart/", requests=requests)))
        one_line = place(1)
        rows.append(("order list, 1 order", *measure(client, "/orders/", requests=requests)))
        for _ in range(9):
            ten_lines = place(10)
        rows.append(("order list, 10 orders", *measure(client, "/orders/", requests=requests)))
        rows.append(("order page, 1 line", *measure(client, one_line.get_absolute_url(), requests=requests)))
        rows.append(("order page, 10 lines", *measure(client, ten_lines.get_absolute_url(), requests=requests)))
        rows.append(("order page, guest link", *measure(Client(), ten_lines.get_guest_url(), requests=requests)))
    return rows


if __name__ == "__main__":
    main()
