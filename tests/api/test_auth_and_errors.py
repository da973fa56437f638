import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cart.models import CartLine
from tests.api.helpers import add_to_cart, assert_error, csrf_headers
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_token_for_username_and_password(client, shopper):
    first = client.post("/api/v1/auth/token/", {"username": shopper.username, "password": TEST_PASSWORD}, content_type="application/json")
    again = client.post("/api/v1/auth/token/", {"username": shopper.username, "password": TEST_PASSWORD}, content_type="application/json")

    assert first.status_code == 200
    assert first.json()["token"] == again.json()["token"] == Token.objects.get(user=shopper).key


def test_wrong_password_is_401_and_issues_nothing(client, shopper):
    response = client.post("/api/v1/auth/token/", {"username": shopper.username, "password": "guess"}, content_type="application/json")

    assert_error(response, 401, "invalid_credentials")
    assert response["WWW-Authenticate"] == "Token"
    assert not Token.objects.exists()


def test_token_authenticates_without_csrf(shopper_client, shopper, book):
    assert add_to_cart(shopper_client, book).status_code == 201
    assert CartLine.objects.get().cart.user == shopper


def test_bad_token_is_401_even_where_guests_are_welcome(client):
    assert_error(client.get("/api/v1/books/", HTTP_AUTHORIZATION="Token nope"), 401, "authentication_failed")


def test_signed_in_session_needs_csrf_for_writes(shopper, book):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(shopper)
    browser.get("/api/v1/cart/")  # hands out the csrftoken cookie

    assert_error(add_to_cart(browser, book), 403, "csrf_failed")
    assert not CartLine.objects.exists()
    assert add_to_cart(browser, book, **csrf_headers(browser)).status_code == 201
    assert CartLine.objects.get().cart.user == shopper


@pytest.mark.parametrize(
    "request_kwargs, status, code",
    [
        ({"path": "/api/v1/books/", "method": "put"}, 405, "method_not_allowed"),
        ({"path": "/api/v1/cart/lines/", "method": "post", "data": "{oops", "content_type": "application/json"}, 400, "parse_error"),
        ({"path": "/api/v1/cart/lines/", "method": "post", "data": "book=1", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"path": "/api/v1/books/", "method": "get", "HTTP_ACCEPT": "text/html"}, 406, "not_acceptable"),
    ],
)
def test_protocol_errors_share_the_error_shape(client, request_kwargs, status, code):
    kwargs = dict(request_kwargs)
    response = getattr(client, kwargs.pop("method"))(kwargs.pop("path"), **kwargs)
    assert_error(response, status, code)
