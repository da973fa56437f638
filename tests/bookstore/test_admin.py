import pytest

from tests.factories import BookFactory

pytestmark = pytest.mark.django_db


def test_book_changelist_shows_formatted_prices_and_searches(admin_client):
    BookFactory(title="Dubliners", author="James Joyce", price_amount=1099)
    BookFactory(title="Emma", author="Jane Austen")

    response = admin_client.get("/admin/bookstore/book/", {"q": "joyce"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dubliners" in page and "€10.99" in page
    assert "Emma" not in page


def test_book_stock_is_editable_in_the_list(admin_client):
    book = BookFactory(stock=4)

    response = admin_client.post(
        "/admin/bookstore/book/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(book.pk),
            "form-0-stock": "9",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    book.refresh_from_db()
    assert book.stock == 9


def test_book_change_page_and_stock_filter_load(admin_client):
    book = BookFactory(stock=0)
    BookFactory(title="Plenty", stock=50)

    assert admin_client.get(f"/admin/bookstore/book/{book.pk}/change/").status_code == 200
    page = admin_client.get("/admin/bookstore/book/", {"stock_state": "out"}).content.decode()
    assert book.title in page and "Plenty" not in page
