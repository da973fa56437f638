"""The OpenAPI contract: valid, served with local docs, and kept by every operation."""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from bookstore.services import api_token_get_or_create
from cart.services import cart_add, cart_get_or_create
from orders.services import order_place
from tests.factories import BookFactory, UserFactory, shipping_address


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path):
    # `--fail-on-warn` turns any guess drf-spectacular had to make into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/orders/{number}/" in (tmp_path / "schema.yaml").read_text()


@pytest.mark.django_db
def test_docs_page_loads_swagger_ui_from_our_own_static_files(client, settings):
    # Production serves hashed names from collectstatic's manifest; the test has no manifest.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    page = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


# The live schema, served by the app itself. (Loaded at import: schemathesis's lazy
# `from_fixture` does not run under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def shop_token(db):
    """A shop with books, a cart and an order; the token of the shopper who owns them."""
    user = UserFactory()
    books = BookFactory.create_batch(3, stock=1000)
    cart = cart_get_or_create(user=user, session={})
    cart_add(cart=cart, book_id=books[0].pk, quantity=2)
    order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)
    # As Django's test client does: the app runs inside the test's transaction, so the end of
    # a request must not close the connection it shares.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield api_token_get_or_create(user=user).key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_the_contract(case, shop_token):
    """No 5xx, no undocumented status, no response that breaks its schema, for generated requests."""
    case.call_and_validate(headers={"Authorization": f"Token {shop_token}"})
