import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.models import Cart, CartLine
from tests.api.helpers import add_to_cart, assert_error, csrf_headers
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db


def test_guest_cart_lives_in_the_session(guest, book):
    assert guest.get("/api/v1/cart/").json()["lines"] == []

    added = add_to_cart(guest, book, 2)

    assert added.status_code == 201
    cart = added.json()
    assert cart["item_count"] == 2
    assert cart["lines"][0]["book"]["id"] == book.pk
    assert cart["lines"][0]["line_total"]["amount"] == 2 * book.price_amount
    assert cart["total"] == {"amount": 2 * book.price_amount, "currency": "EUR", "formatted": "€30.00"}
    assert guest.get("/api/v1/cart/").json() == cart
    assert Cart.objects.get().user is None


def test_signed_in_cart_belongs_to_the_user(shopper_client, shopper, book):
    add_to_cart(shopper_client, book, 3)

    assert CartLine.objects.get(cart__user=shopper).quantity == 3
    assert shopper_client.get("/api/v1/cart/").json()["item_count"] == 3


def test_adding_the_same_book_again_adds_up(shopper_client, book):
    add_to_cart(shopper_client, book, 2)
    assert add_to_cart(shopper_client, book, 3).json()["lines"][0]["quantity"] == 5


def test_change_quantity_and_remove(shopper_client, book):
    add_to_cart(shopper_client, book, 2)

    changed = shopper_client.patch(f"/api/v1/cart/lines/{book.pk}/", {"quantity": 4}, format="json")
    assert changed.status_code == 200 and changed.json()["item_count"] == 4

    removed = shopper_client.delete(f"/api/v1/cart/lines/{book.pk}/")
    assert removed.status_code == 200 and removed.json()["lines"] == []
    assert not CartLine.objects.exists()


def test_quantity_zero_removes_the_line(shopper_client, book):
    add_to_cart(shopper_client, book, 2)
    assert shopper_client.patch(f"/api/v1/cart/lines/{book.pk}/", {"quantity": 0}, format="json").json()["lines"] == []


def test_line_not_in_cart_is_404(shopper_client, guest, book):
    assert_error(shopper_client.delete(f"/api/v1/cart/lines/{book.pk}/"), 404, "not_in_cart")
    add_to_cart(shopper_client, BookFactory())
    assert_error(
        shopper_client.patch(f"/api/v1/cart/lines/{book.pk}/", {"quantity": 1}, format="json"), 404, "not_in_cart", ["book"]
    )
    assert_error(guest.patch(f"/api/v1/cart/lines/{book.pk}/", {"quantity": 1}, format="json"), 404, "not_in_cart")


def test_more_than_in_stock_is_refused_and_changes_nothing(shopper_client):
    book = BookFactory(stock=2)
    add_to_cart(shopper_client, book, 1)

    error = assert_error(add_to_cart(shopper_client, book, 2), 409, "insufficient_stock", ["quantity"])

    assert "Only 2 copies" in error["message"]
    assert CartLine.objects.get().quantity == 1


def test_out_of_stock_and_unknown_books_are_refused(shopper_client):
    assert_error(add_to_cart(shopper_client, BookFactory(stock=0)), 409, "out_of_stock", ["quantity"])
    assert_error(add_to_cart(shopper_client, BookFactory(is_active=False)), 409, "unknown_book", ["book"])
    assert not CartLine.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [({"book": 1, "quantity": 0}, "quantity"), ({"book": 1, "quantity": 21}, "quantity"), ({"quantity": 1}, "book"), ({"book": "x"}, "book")],
)
def test_invalid_line_names_the_field(shopper_client, body, field):
    assert_error(shopper_client.post("/api/v1/cart/lines/", body, format="json"), 400, "invalid", [field])


def test_guest_session_writes_need_the_csrf_token(guest, book):
    # The first write starts the session: there is no cookie yet for another site to ride on.
    assert add_to_cart(guest, book).status_code == 201

    assert_error(add_to_cart(guest, book), 403, "csrf_failed")
    assert CartLine.objects.get().quantity == 1
    assert add_to_cart(guest, book, **csrf_headers(guest)).status_code == 201


@pytest.mark.parametrize("book_id", ["9999999999999999999999999", str(2**63), "0"])
def test_an_out_of_range_id_in_a_url_is_404_and_never_reaches_the_database(shopper_client, book, book_id):
    add_to_cart(shopper_client, book)

    with CaptureQueriesContext(connection) as captured:
        assert_error(shopper_client.delete(f"/api/v1/cart/lines/{book_id}/"), 404, "not_found")
        assert_error(shopper_client.patch(f"/api/v1/cart/lines/{book_id}/", {"quantity": 1}, format="json"), 404, "not_found")
        assert_error(shopper_client.get(f"/api/v1/books/{book_id}/"), 404, "not_found")

    assert not [query["sql"] for query in captured.captured_queries if book_id in query["sql"] and book_id != "0"]
    assert CartLine.objects.get().quantity == 1


@pytest.mark.parametrize("book_id", [2**63, -1, 0])
def test_an_out_of_range_book_id_in_a_body_is_400(shopper_client, book_id):
    assert_error(shopper_client.post("/api/v1/cart/lines/", {"book": book_id, "quantity": 1}, format="json"), 400, "invalid", ["book"])
    assert not CartLine.objects.exists()
