"""Catalogue and account pages, as a shopper sees them."""

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from bookstore.views import BOOKS_PER_PAGE
from cart.models import Cart
from tests.bookstore.helpers import queries_for
from tests.factories import TEST_PASSWORD, BookFactory, CartLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return [book.title for book in response.context["books"]]


def test_book_list_shows_available_books_with_price_and_stock(client):
    BookFactory(title="Ulysses", price_amount=1250, stock=2)
    BookFactory(title="Hidden Draft", is_active=False)

    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Ulysses" in page and "€12.50" in page and "Only 2 left" in page
    assert "Hidden Draft" not in page


@pytest.mark.parametrize("query", ["dubliners", "JOYCE", "978-0-14-018", "9780140186"])
def test_search_finds_by_title_author_or_isbn(client, query):
    BookFactory(title="Dubliners", author="James Joyce", isbn="9780140186475")
    BookFactory(title="Emma", author="Jane Austen", isbn="9780141439587")

    response = client.get("/", {"q": query})

    assert titles(response) == ["Dubliners"]


def test_search_without_matches_says_so(client):
    BookFactory(title="Emma")

    response = client.get("/", {"q": "zzzz"})

    assert "No books match “zzzz”" in response.content.decode()


def test_pagination_keeps_the_query_and_survives_bad_page_numbers(client):
    BookFactory.create_batch(BOOKS_PER_PAGE + 3, title=factory.Sequence(lambda n: f"Sea story {n:03d}"))
    BookFactory(title="Mountain")

    first = client.get("/", {"q": "sea"})
    second = client.get("/", {"q": "sea", "page": 2})

    assert len(titles(first)) == BOOKS_PER_PAGE
    assert len(titles(second)) == 3
    assert 'href="?q=sea&amp;page=2"' in first.content.decode()
    assert client.get("/", {"page": "abc"}).status_code == 200
    assert len(titles(client.get("/", {"q": "sea", "page": 999}))) == 3


def test_book_list_queries_do_not_grow_with_books(client):
    BookFactory.create_batch(2)
    few = queries_for(client, "/")
    BookFactory.create_batch(BOOKS_PER_PAGE)
    assert queries_for(client, "/") == few > 0


def test_book_detail_shows_the_add_to_cart_form(client):
    book = BookFactory(title="Middlemarch", price_amount=999, stock=7)

    response = client.get(book.get_absolute_url())

    page = response.content.decode()
    assert "Middlemarch" in page and "€9.99" in page and "In stock" in page
    assert 'action="/cart/add/"' in page and 'name="quantity"' in page


def test_out_of_stock_book_has_no_add_to_cart_form(client):
    book = BookFactory(stock=0)

    page = client.get(book.get_absolute_url()).content.decode()

    assert "Out of stock" in page
    assert 'action="/cart/add/"' not in page


def test_unknown_or_hidden_book_is_404(client):
    hidden = BookFactory(is_active=False)
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get("/books/999999/").status_code == 404


def test_header_shows_the_cart_count(client):
    book = BookFactory(stock=10)
    client.post("/cart/add/", {"book": book.pk, "quantity": 3})

    page = client.get("/").content.decode()

    assert 'aria-label="3 items in your cart">3<' in page


def test_sign_up_creates_the_account_signs_in_and_keeps_the_guest_cart(client):
    book = BookFactory(stock=10)
    client.post("/cart/add/", {"book": book.pk, "quantity": 2})

    response = client.post(
        "/accounts/signup/",
        {"username": "newreader", "email": "new@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        follow=True,
    )

    user = get_user_model().objects.get(username="newreader")
    assert user.email == "new@example.com"
    assert response.context["user"] == user
    assert "Your account is ready" in response.content.decode()
    assert list(Cart.objects.get(user=user).lines.values_list("book_id", "quantity")) == [(book.pk, 2)]


def test_sign_up_errors_are_shown_beside_the_fields(client):
    response = client.post(
        "/accounts/signup/", {"username": "x", "email": "not-an-email", "password1": "a", "password2": "b"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in page and 'aria-invalid="true"' in page
    assert not get_user_model().objects.filter(username="x").exists()


def test_sign_in_merges_the_guest_cart_and_sign_out_is_a_post(client):
    user = UserFactory()
    book, other = BookFactory(stock=10), BookFactory(stock=10)
    CartLineFactory(cart=Cart.objects.create(user=user), book=other, quantity=1)
    client.post("/cart/add/", {"book": book.pk, "quantity": 2})

    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}, follow=True)

    assert "Signed in as" in response.content.decode()
    assert dict(Cart.objects.get(user=user).lines.values_list("book_id", "quantity")) == {book.pk: 2, other.pk: 1}
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/", follow=True)
    assert "You are signed out." in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_wrong_password_is_refused_with_a_message(client):
    user = UserFactory()

    response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_sign_in_offers_a_forgotten_password_link(client):
    page = client.get("/accounts/login/").content.decode()

    assert '<a href="/accounts/password_reset/">Forgot password?</a>' in page


def test_password_reset_and_change_pages_look_like_the_shop(client):
    user = UserFactory()
    pages = ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/MQ/not-a-token/",
             "/accounts/reset/done/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        templates = [template.name for template in response.templates]
        assert "base.html" in templates and "admin/base.html" not in templates, url
    client.force_login(user)
    for url in ["/accounts/password_change/", "/accounts/password_change/done/"]:
        templates = [template.name for template in client.get(url).templates]
        assert "base.html" in templates and "admin/base.html" not in templates, url

    response = client.post(
        "/accounts/password_change/",
        {"old_password": TEST_PASSWORD, "new_password1": "a-new-lantern-87", "new_password2": "a-new-lantern-87"},
        follow=True,
    )
    assert "Your password is changed" in response.content.decode()


SIGNUP = {"username": "newreader", "email": "new@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD}


def test_sign_up_takes_the_shopper_back_where_they_were(client):
    book = BookFactory(stock=10)

    # The header's link carries the page the shopper is on, and the form keeps it.
    assert f'href="/accounts/signup/?next=/books/{book.pk}/"' in client.get(book.get_absolute_url()).content.decode()
    page = client.get("/accounts/signup/", {"next": book.get_absolute_url()}).content.decode()
    assert f'name="next" value="/books/{book.pk}/"' in page

    response = client.post("/accounts/signup/", {**SIGNUP, "next": book.get_absolute_url()})

    assert response.status_code == 302 and response.url == book.get_absolute_url()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_sign_up_never_sends_the_shopper_to_another_site(client, next_url):
    response = client.post("/accounts/signup/", {**SIGNUP, "next": next_url})

    assert response.status_code == 302 and response.url == "/"


def test_staff_who_run_the_shop_land_on_the_dashboard_after_signing_in(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    shopper = UserFactory()

    staff_landing = client.post("/accounts/login/", {"username": staff.username, "password": TEST_PASSWORD})
    client.post("/accounts/logout/")
    shopper_landing = client.post("/accounts/login/", {"username": shopper.username, "password": TEST_PASSWORD})
    client.post("/accounts/logout/")
    asked_for = client.post(
        "/accounts/login/?next=/cart/", {"username": staff.username, "password": TEST_PASSWORD}
    )

    assert staff_landing.url == "/admin/"
    assert shopper_landing.url == "/"
    assert asked_for.url == "/cart/"
