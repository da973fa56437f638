"""GET /api/v1/payment-methods/, DELETE .../<id>/, POST .../<id>/default/ for the signed-in caller:
saved cards from the emulator through dj-stripe's mirror, in the schema, errors in the one shape."""

import pytest
from rest_framework.test import APIClient

from payments.customers.selectors import payment_methods_for_user
from tests.api.helpers import assert_error
from tests.factories import UserFactory
from tests.payments.test_customers import pay_and_save

URL = "/api/v1/payment-methods/"


@pytest.fixture
def saved_cards(shopper, emulated_stripe, shopper_stripe):
    pay_and_save(shopper_stripe, shopper, card="pm_card_visa")
    pay_and_save(shopper_stripe, shopper, card="pm_card_mastercard")
    return payment_methods_for_user(shopper)


def test_list_delete_and_default(shopper_client, saved_cards, shopper_stripe):
    mastercard, visa = saved_cards
    listed = shopper_client.get(URL).json()["results"]
    assert [(m["brand"], m["last4"], m["is_default"]) for m in listed] == [("mastercard", "4444", False), ("visa", "4242", False)]
    assert listed[0] == {
        "id": mastercard.id, "type": "card", "brand": "mastercard", "brand_display": "Mastercard", "last4": "4444",
        "exp_month": mastercard.exp_month, "exp_year": mastercard.exp_year, "is_default": False,
    }

    response = shopper_client.post(f"{URL}{visa.id}/default/")
    assert response.status_code == 200
    assert [(m["id"], m["is_default"]) for m in response.json()["results"]] == [(visa.id, True), (mastercard.id, False)]

    assert shopper_client.delete(f"{URL}{visa.id}/").status_code == 204
    assert [m["id"] for m in shopper_client.get(URL).json()["results"]] == [mastercard.id]
    assert shopper_stripe.v1.payment_methods.retrieve(visa.id).customer is None
    assert_error(shopper_client.delete(f"{URL}{visa.id}/"), 404, "not_found")


def test_another_callers_card_is_404(saved_cards, other_client, shopper_stripe):
    card = saved_cards[0]
    assert other_client.get(URL).json() == {"results": []}
    assert_error(other_client.delete(f"{URL}{card.id}/"), 404, "not_found")
    assert_error(other_client.post(f"{URL}{card.id}/default/"), 404, "not_found")
    assert shopper_stripe.v1.payment_methods.retrieve(card.id).customer is not None


def test_signed_out_callers_are_refused(db):
    client = APIClient()
    assert_error(client.get(URL), 401, "not_authenticated")
    assert_error(client.delete(f"{URL}pm_123/"), 401, "not_authenticated")


def test_session_clients_need_csrf(saved_cards, shopper):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(shopper)
    assert client.get(URL).status_code == 200
    assert_error(client.delete(f"{URL}{saved_cards[0].id}/"), 403, "csrf_failed")


def test_in_the_schema(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/payment-methods/"]) >= {"get"}
    assert "delete" in paths["/api/v1/payment-methods/{payment_method_id}/"]
    default = paths["/api/v1/payment-methods/{payment_method_id}/default/"]["post"]
    assert {"200", "401", "404"} <= set(default["responses"])
    assert default["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
