"""The cart page and its actions: every change is a POST with CSRF, and bad input changes nothing."""

import pytest
from django.test import Client

from cart.models import Cart, CartLine
from tests.bookstore.helpers import messages_of, queries_for
from tests.factories import BookFactory, UserFactory

pytestmark = pytest.mark.django_db


def lines(client) -> dict[int, int]:
    """{book id: quantity} of the client's guest cart."""
    cart_id = client.session.get("cart_id")
    return dict(CartLine.objects.filter(cart_id=cart_id).values_list("book_id", "quantity")) if cart_id else {}


def add(client, book_id, quantity=1, **extra):
    return client.post("/cart/add/", {"book": book_id, "quantity": quantity, **extra}, follow=True)


def test_add_update_and_remove(client):
    book = BookFactory(title="Persuasion", price_amount=1200, stock=10)

    response = add(client, book.pk, 2)
    assert messages_of(response) == ["Added 2 × “Persuasion” to your cart (2 in your cart now)."]
    add(client, book.pk, 1)
    assert lines(client) == {book.pk: 3}

    response = client.post("/cart/update/", {"book": book.pk, "quantity": 5}, follow=True)
    assert messages_of(response) == ["“Persuasion”: quantity set to 5."]
    assert "€60.00" in response.content.decode()
    assert lines(client) == {book.pk: 5}

    response = client.post("/cart/remove/", {"book": book.pk}, follow=True)
    assert messages_of(response) == ["Removed the book from your cart."]
    assert lines(client) == {}
    assert "Your cart is empty." in response.content.decode()


def test_quantity_zero_removes_the_line(client):
    book = BookFactory(stock=10)
    add(client, book.pk, 2)

    client.post("/cart/update/", {"book": book.pk, "quantity": 0})

    assert lines(client) == {}


def test_add_returns_to_the_book_page_but_never_off_site(client):
    book = BookFactory(stock=10)

    assert client.post("/cart/add/", {"book": book.pk, "quantity": 1, "next": book.get_absolute_url()}).url == (
        book.get_absolute_url()
    )
    assert client.post("/cart/add/", {"book": book.pk, "quantity": 1, "next": "https://evil.example/"}).url == "/cart/"


def test_totals_come_from_current_prices(client):
    book = BookFactory(price_amount=1000, stock=10)
    add(client, book.pk, 2)
    book.price_amount = 1500
    book.save()

    response = client.get("/cart/")

    assert response.context["totals"]["total_amount"] == 3000
    assert "€30.00" in response.content.decode()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (-1, "Quantity must be at least 1."),
        (0, "Quantity must be at least 1."),
        (10**30, "You can order at most 20 copies of a book."),
        ("two", "Quantity must be a whole number."),
        ("", "Please enter a quantity."),
    ],
)
def test_bad_quantities_on_add_are_refused_with_a_message(client, quantity, message):
    book = BookFactory(stock=100)

    response = add(client, book.pk, quantity)

    assert messages_of(response) == [message]
    assert lines(client) == {}


@pytest.mark.parametrize("book_id", ["999999", "abc", "-5", str(2**70), ""])
def test_unknown_or_tampered_book_is_refused(client, book_id):
    response = add(client, book_id, 1)

    assert messages_of(response) == ["That book is not in our catalogue."]
    assert lines(client) == {}


def test_inactive_book_cannot_be_added(client):
    book = BookFactory(is_active=False)

    assert messages_of(add(client, book.pk)) == ["That book is not in our catalogue."]


def test_more_than_the_stock_is_refused_and_changes_nothing(client):
    book = BookFactory(title="Beloved", stock=3)
    add(client, book.pk, 2)

    response = client.post("/cart/update/", {"book": book.pk, "quantity": 4}, follow=True)
    assert messages_of(response) == ["Only 3 copies of “Beloved” are in stock."]
    response = add(client, book.pk, 2)
    assert messages_of(response) == ["Only 3 copies of “Beloved” are in stock."]
    assert lines(client) == {book.pk: 2}


def test_out_of_stock_book_is_refused(client):
    book = BookFactory(title="Gone", stock=0)

    assert messages_of(add(client, book.pk)) == ["“Gone” is out of stock."]


def test_huge_or_negative_quantity_on_update_changes_nothing(client):
    book = BookFactory(stock=10)
    add(client, book.pk, 2)

    for quantity, message in [(-2, "Quantity cannot be negative."), (999, "You can order at most 20 copies of a book.")]:
        response = client.post("/cart/update/", {"book": book.pk, "quantity": quantity}, follow=True)
        assert messages_of(response) == [message]
    assert lines(client) == {book.pk: 2}


def test_a_cart_emptied_in_another_tab_gives_a_message_not_an_error(client):
    book = BookFactory(stock=10)
    add(client, book.pk, 2)
    # The other tab removed the line; this tab's page still shows it.
    client.post("/cart/remove/", {"book": book.pk}, follow=True)

    for url, data in [("/cart/update/", {"book": book.pk, "quantity": 3}), ("/cart/remove/", {"book": book.pk})]:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        assert messages_of(response) == ["That book is no longer in your cart."]


def test_a_cart_that_no_longer_exists_gives_a_message(client):
    book = BookFactory(stock=10)
    add(client, book.pk, 1)
    Cart.objects.all().delete()

    response = client.post("/cart/update/", {"book": book.pk, "quantity": 3}, follow=True)

    assert messages_of(response) == ["That book is no longer in your cart."]
    assert not CartLine.objects.exists()


def test_mutating_views_refuse_get(client):
    book = BookFactory()
    for url in ["/cart/add/", "/cart/update/", "/cart/remove/"]:
        assert client.get(url, {"book": book.pk, "quantity": 1}).status_code == 405
    assert lines(client) == {}


def test_posts_without_the_csrf_token_are_refused():
    client = Client(enforce_csrf_checks=True)
    book = BookFactory(stock=10)

    response = client.post("/cart/add/", {"book": book.pk, "quantity": 1})

    assert response.status_code == 403
    assert not CartLine.objects.exists()


def test_a_signed_in_shopper_keeps_the_cart_on_the_account(client):
    user = UserFactory()
    client.force_login(user)
    book = BookFactory(stock=10)

    add(client, book.pk, 2)

    assert list(Cart.objects.get(user=user).lines.values_list("book_id", "quantity")) == [(book.pk, 2)]
    assert "cart_id" not in client.session


def test_cart_page_queries_do_not_grow_with_lines(client):
    add(client, BookFactory(stock=10).pk)
    few = queries_for(client, "/cart/")
    for book in BookFactory.create_batch(8, stock=10):
        add(client, book.pk)
    assert queries_for(client, "/cart/") == few > 0


def test_a_line_above_the_stock_left_is_pointed_out_on_the_cart_page(client):
    book, gone = BookFactory(stock=5), BookFactory(stock=5)
    add(client, book.pk, 4)
    add(client, gone.pk, 1)
    book.stock, gone.stock = 2, 0
    book.save()
    gone.save()

    page = client.get("/cart/").content.decode()

    assert "Only 2 left: lower the quantity to order" in page
    assert "Sold out since you added it" in page


@pytest.mark.parametrize("book_id", ["9999999999999999999999999", str(2**63)])
def test_an_out_of_range_book_id_is_404_in_a_url_and_refused_in_a_form(client, book_id):
    book = BookFactory(stock=5)
    add(client, book.pk)

    assert client.get(f"/books/{book_id}/").status_code == 404
    for action in ("/cart/update/", "/cart/remove/"):
        response = client.post(action, {"book": book_id, "quantity": 1}, follow=True)
        assert messages_of(response) == ["That book is not in our catalogue."]
    assert lines(client) == {book.pk: 1}
