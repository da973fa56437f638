"""The payment and receipt operations keep the schema with real orders, which the random run in
test_schema.py cannot reach (it never guesses an order number, so it sees only their 404s)."""

import pytest
from django.db import transaction
from schemathesis.checks import not_a_server_error

from bookstore.services import api_token_get_or_create
from payments.documents import services as receipts
from payments.paying.services import payment_start
from tests.api.test_schema import schema
from tests.payments.receipt_support import make_paid_order
from tests.stripe_fixtures import confirm_with

# Transactional: the schema's app runs in-process and closes its connection after each request.
pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, method: str, number: str, user, *, provider_down: bool = False) -> None:
    case = schema[path][method].Case(
        path_parameters={"number": number}, headers={"Authorization": f"Token {api_token_get_or_create(user=user).key}"}
    )
    # Stripe being down is the one 5xx the shop means to send; its shape is still checked.
    case.call_and_validate(excluded_checks=[not_a_server_error] if provider_down else None)


def test_starting_polling_and_refusing_a_payment_keep_the_contract(place_order, emulated_stripe, shopper_stripe):
    order, another = place_order(), place_order()
    path = "/api/v1/orders/{number}/payment/"

    call(path, "GET", order.number, order.user)  # not started: nulls
    call(path, "POST", order.number, order.user)  # 200 with the client secret
    confirm_with(shopper_stripe, order.payment.stripe_payment_intent_id, "pm_card_chargeDeclinedInsufficientFunds")
    call(path, "GET", order.number, order.user)
    emulated_stripe.set_faults(api=[{"path": "/v1/payment_intents", "status": 503}])
    call(path, "POST", another.number, another.user, provider_down=True)  # 503


def test_a_paid_order_and_its_receipt_keep_the_contract(emulated_stripe):
    order = make_paid_order()

    call("/api/v1/orders/{number}/payment/", "POST", order.number, order.user)  # 409 not payable
    call("/api/v1/orders/{number}/receipt/", "GET", order.number, order.user)  # 404 not ready
    with transaction.atomic():
        receipts.receipt_render(order_id=order.pk)
    call("/api/v1/orders/{number}/receipt/", "GET", order.number, order.user)  # the PDF
    call("/api/v1/orders/{number}/", "GET", order.number, order.user)  # with receipt_url
    call("/api/v1/orders/{number}/payment/", "GET", order.number, order.user)
