import pytest

from orders.models import Order
from tests.api.helpers import add_to_cart, assert_error, place_order
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "orders": "2/minute", "auth": "2/minute"},
    }


def test_placing_orders_is_throttled_but_reading_is_not(small_rates, shopper_client, book):
    # The cart changes before each try: placing it again unchanged would return the same order.
    for _ in range(2):
        add_to_cart(shopper_client, book)
        assert place_order(shopper_client).status_code == 201
    add_to_cart(shopper_client, book)

    refused = place_order(shopper_client)

    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    assert Order.objects.count() == 2
    for _ in range(3):
        assert shopper_client.get("/api/v1/orders/").status_code == 200


def test_throttle_counts_per_user(small_rates, shopper_client, other_client, book):
    add_to_cart(shopper_client, book)
    add_to_cart(other_client, book)
    for _ in range(2):
        place_order(shopper_client)
    assert_error(place_order(shopper_client), 429, "throttled")
    assert place_order(other_client).status_code == 201


def test_token_requests_are_throttled(small_rates, client, shopper):
    wrong = {"username": shopper.username, "password": "guess"}
    for _ in range(2):
        assert client.post("/api/v1/auth/token/", wrong, content_type="application/json").status_code == 401
    right = {"username": shopper.username, "password": TEST_PASSWORD}
    assert_error(client.post("/api/v1/auth/token/", right, content_type="application/json"), 429, "throttled")
