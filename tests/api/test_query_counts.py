import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.models import Cart
from orders.services import order_place
from tests.factories import BookFactory, CartFactory, CartLineFactory, shipping_address

pytestmark = pytest.mark.django_db


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_book_list_queries_do_not_grow_with_books(client):
    BookFactory.create_batch(3)
    few = queries_for(client, "/api/v1/books/?page_size=100")
    BookFactory.create_batch(30)
    assert queries_for(client, "/api/v1/books/?page_size=100") == few


def place_orders(user, count: int) -> None:
    cart, _ = Cart.objects.get_or_create(user=user)
    for _ in range(count):
        CartLineFactory(cart=cart, quantity=1, book__stock=100)
        order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)


def test_order_list_queries_do_not_grow_with_orders(shopper_client, shopper):
    place_orders(shopper, 2)
    few = queries_for(shopper_client, "/api/v1/orders/?page_size=100")
    place_orders(shopper, 12)
    assert queries_for(shopper_client, "/api/v1/orders/?page_size=100") == few


def test_order_detail_queries_do_not_grow_with_lines(shopper_client, shopper):
    cart = CartFactory(user=shopper)
    CartLineFactory(cart=cart)
    few_lines = order_place(cart=cart, email=shopper.email, shipping=shipping_address(), user=shopper)
    CartLineFactory.create_batch(10, cart=cart)
    many_lines = order_place(cart=cart, email=shopper.email, shipping=shipping_address(), user=shopper)

    assert queries_for(shopper_client, f"/api/v1/orders/{few_lines.number}/") == queries_for(
        shopper_client, f"/api/v1/orders/{many_lines.number}/"
    )
