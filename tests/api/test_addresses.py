"""GET/POST /api/v1/addresses/ and PATCH/DELETE /api/v1/addresses/<id>/: the signed-in caller's
saved addresses, in the one error shape, and 404 for anybody else's."""

import pytest

from orders.addresses.services import saved_address_remember
from orders.models import SavedAddress
from tests.api.helpers import ORDER_DETAILS, add_to_cart, assert_error, place_order
from tests.factories import BookFactory

pytestmark = pytest.mark.django_db

HOME = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE"}
WORK = {**HOME, "line1": "12 Quay Street", "postal_code": "D02 AB12"}


def test_an_order_placed_through_the_api_saves_its_address_for_the_caller(shopper_client):
    add_to_cart(shopper_client, BookFactory())
    assert place_order(shopper_client).status_code == 201

    [address] = shopper_client.get("/api/v1/addresses/").json()
    assert {k: address[k] for k in ("name", "line1", "city", "postal_code", "country", "is_default")} == {
        **{k: ORDER_DETAILS["shipping"][k] for k in ("name", "line1", "city", "postal_code", "country")},
        "is_default": True,
    }


def test_add_change_make_default_and_delete(shopper_client, shopper):
    home = shopper_client.post("/api/v1/addresses/", HOME, format="json")
    assert home.status_code == 201 and home.json()["is_default"] is True
    work = shopper_client.post("/api/v1/addresses/", {**WORK, "is_default": True}, format="json").json()
    assert work["is_default"] is True
    assert [a["line1"] for a in shopper_client.get("/api/v1/addresses/").json()] == ["12 Quay Street", "1 Analytical Row"]

    home_id = home.json()["id"]
    changed = shopper_client.patch(f"/api/v1/addresses/{home_id}/", {"line2": "Flat 3", "is_default": True}, format="json")
    assert changed.status_code == 200 and changed.json()["line2"] == "Flat 3" and changed.json()["is_default"] is True
    assert SavedAddress.objects.get(user=shopper, is_default=True).pk == home_id

    assert shopper_client.delete(f"/api/v1/addresses/{home_id}/").status_code == 204
    [left] = shopper_client.get("/api/v1/addresses/").json()
    assert left["id"] == work["id"] and left["is_default"] is True


def test_refusals_come_in_the_one_error_shape(shopper_client, guest):
    shopper_client.post("/api/v1/addresses/", HOME, format="json")
    assert_error(shopper_client.post("/api/v1/addresses/", HOME, format="json"), 409, "duplicate_address")
    assert_error(shopper_client.post("/api/v1/addresses/", {**HOME, "country": "XX"}, format="json"), 400, "invalid", ["country"])
    assert_error(shopper_client.post("/api/v1/addresses/", {"name": "Ada"}, format="json"), 400, "invalid", ["line1", "city", "postal_code", "country"])
    response = guest.get("/api/v1/addresses/")
    assert response.status_code in (401, 403) and response.json()["error"]["code"] == "not_authenticated"


def test_another_callers_address_is_not_found_and_untouched(shopper, other_client):
    theirs = saved_address_remember(user=shopper, **HOME)

    assert other_client.get("/api/v1/addresses/").json() == []
    for response in (
        other_client.get(f"/api/v1/addresses/{theirs.pk}/"),
        other_client.patch(f"/api/v1/addresses/{theirs.pk}/", {"line1": "Elsewhere"}, format="json"),
        other_client.patch(f"/api/v1/addresses/{theirs.pk}/", {"is_default": True}, format="json"),
        other_client.delete(f"/api/v1/addresses/{theirs.pk}/"),
    ):
        assert_error(response, 404, "not_found")
    assert SavedAddress.objects.get(pk=theirs.pk).line1 == "1 Analytical Row"


def test_the_schema_documents_the_addresses(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/addresses/"])
    assert {"get", "patch", "delete"} <= set(schema["paths"]["/api/v1/addresses/{address_id}/"])
