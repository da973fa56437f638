import pytest

from tests.api.helpers import assert_error
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db


def test_book_list_shows_active_books_with_money_in_minor_units(client):
    BookFactory(title="Dubliners", author="James Joyce", price_amount=1250, stock=4)
    BookFactory(title="Withdrawn", is_active=False)

    response = client.get("/api/v1/books/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [book] = body["results"]
    assert book["title"] == "Dubliners"
    assert book["price"] == {"amount": 1250, "currency": "EUR", "formatted": "€12.50"}
    assert book["stock"] == 4


@pytest.mark.parametrize("query", ["dublin", "JOYCE", "978-0-14-018", "9780140182"])
def test_search_matches_title_author_or_isbn_with_hyphens(client, query):
    BookFactory(title="Dubliners", author="James Joyce", isbn="9780140182743")
    BookFactory(title="Ulysses Annotated", author="Someone Else", isbn="9780000000001")

    response = client.get("/api/v1/books/", {"search": query})

    assert [book["title"] for book in response.json()["results"]] == ["Dubliners"]


def test_pagination_pages_and_page_size(client):
    BookFactory.create_batch(5)

    first = client.get("/api/v1/books/", {"page_size": 2}).json()
    last = client.get("/api/v1/books/", {"page_size": 2, "page": 3}).json()

    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    assert len(last["results"]) == 1 and last["next"] is None


def test_page_beyond_the_end_is_a_404_in_the_error_shape(client):
    BookFactory()
    assert_error(client.get("/api/v1/books/", {"page": 9}), 404, "not_found")


@pytest.mark.parametrize("page_size", ["0", "101", "ten"])
def test_bad_page_size_names_the_field(client, page_size):
    assert_error(client.get("/api/v1/books/", {"page_size": page_size}), 400, "invalid", ["page_size"])


def test_search_with_a_nul_character_is_refused_not_crashed(client):
    assert_error(client.get("/api/v1/books/", {"search": "a\x00b"}), 400, "invalid", ["search"])


def test_book_detail_and_hidden_books(client):
    book = BookFactory(title="Dubliners")
    hidden = BookFactory(is_active=False)

    assert client.get(f"/api/v1/books/{book.pk}/").json()["title"] == "Dubliners"
    assert_error(client.get(f"/api/v1/books/{hidden.pk}/"), 404, "not_found")
