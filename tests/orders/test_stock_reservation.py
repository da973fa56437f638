"""Stock reservation under real concurrency: threads, each in its own PostgreSQL transaction."""

import threading

import pytest
from django.db import connection

from bookstore.models import Book
from orders.models import Order
from orders.services import OrderError, order_place
from tests.factories import BookFactory, CartFactory, CartLineFactory, shipping_address


def _place_concurrently(carts, barrier_parties):
    barrier = threading.Barrier(barrier_parties)
    placed, refused, crashed = [], [], []

    def place(cart):
        try:
            barrier.wait()
            placed.append(order_place(cart=cart, email="a@example.com", shipping=shipping_address()))
        except OrderError as exc:
            refused.append(exc.message)
        except Exception as exc:  # recorded, so the test fails with what went wrong
            crashed.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=place, args=(cart,)) for cart in carts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return placed, refused, crashed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("shoppers", "copies"), [(12, 5), (8, 1)])
def test_concurrent_orders_for_the_last_copies_never_oversell(shoppers, copies):
    book = BookFactory(stock=copies)
    carts = [CartLineFactory(book=book, quantity=1).cart for _ in range(shoppers)]

    placed, refused, crashed = _place_concurrently(carts, shoppers)

    assert crashed == []
    assert len(placed) == copies
    assert len(refused) == shoppers - copies
    assert all("sold out" in message or "Only" in message for message in refused)
    book.refresh_from_db()
    assert book.stock == 0
    assert Order.objects.count() == copies


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_crossing_two_books_neither_deadlock_nor_oversell():
    first, second = BookFactory(stock=3), BookFactory(stock=3)
    carts = []
    for index in range(8):
        cart = CartFactory()
        # Half the carts list the books in one order, half in the other: a lock-order
        # bug would deadlock here.
        for book in (first, second) if index % 2 else (second, first):
            CartLineFactory(cart=cart, book=book, quantity=1)
        carts.append(cart)

    placed, refused, crashed = _place_concurrently(carts, len(carts))

    assert crashed == []
    assert len(placed) == 3 and len(refused) == 5
    assert list(Book.objects.filter(pk__in=[first.pk, second.pk]).values_list("stock", flat=True)) == [0, 0]
