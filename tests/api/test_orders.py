from datetime import timedelta

import pytest
from django.utils import timezone

from bookstore.models import Book
from orders.models import Order
from orders.services import Actor, order_mark_paid, order_record_refund
from payments.models import Payment, Refund
from payments.paying.services import payment_start
from tests.api.helpers import ORDER_DETAILS, add_to_cart, assert_error, csrf_headers, place_order
from tests.factories import BookFactory
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db


def test_place_order_from_the_cart_reserves_stock(shopper_client, shopper):
    book = BookFactory(stock=5, price_amount=1250)
    add_to_cart(shopper_client, book, 2)

    response = place_order(shopper_client)

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get(number=body["number"])
    assert order.user == shopper and order.status == "pending_payment"
    assert body["total"] == {"amount": 2500, "currency": "EUR", "formatted": "€25.00"}
    assert body["lines"] == [
        {
            "book": book.pk,
            "title": book.title,
            "author": book.author,
            "isbn": book.isbn,
            "quantity": 2,
            "unit_price": {"amount": 1250, "currency": "EUR", "formatted": "€12.50"},
            "line_total": {"amount": 2500, "currency": "EUR", "formatted": "€25.00"},
        }
    ]
    assert body["shipping"]["city"] == "London" and body["shipping"]["line2"] == ""
    assert Book.objects.get(pk=book.pk).stock == 3
    # The cart is emptied only once the payment succeeds.
    assert shopper_client.get("/api/v1/cart/").json()["item_count"] == 2


def test_empty_cart_is_a_conflict(shopper_client, book):
    assert_error(place_order(shopper_client), 409, "empty_cart")
    add_to_cart(shopper_client, book)
    shopper_client.delete(f"/api/v1/cart/lines/{book.pk}/")
    assert_error(place_order(shopper_client), 409, "empty_cart")
    assert not Order.objects.exists()


def test_sold_out_meanwhile_is_a_conflict_and_changes_nothing(shopper_client):
    book = BookFactory(stock=3)
    add_to_cart(shopper_client, book, 3)
    Book.objects.filter(pk=book.pk).update(stock=1)

    assert_error(place_order(shopper_client), 409, "insufficient_stock")

    assert not Order.objects.exists()
    assert Book.objects.get(pk=book.pk).stock == 1


@pytest.mark.parametrize(
    "details, fields",
    [
        ({**ORDER_DETAILS, "email": "not-an-email"}, ["email"]),
        ({**ORDER_DETAILS, "shipping": {**ORDER_DETAILS["shipping"], "country": "GBR", "city": ""}}, ["shipping.city", "shipping.country"]),
        ({"email": "ada@example.com"}, ["shipping"]),
    ],
)
def test_invalid_details_name_the_fields(shopper_client, book, details, fields):
    add_to_cart(shopper_client, book)
    assert_error(place_order(shopper_client, details), 400, "invalid", fields)
    assert not Order.objects.exists()


def test_idempotency_key_returns_the_first_order(shopper_client):
    book = BookFactory(stock=5)
    add_to_cart(shopper_client, book, 1)

    first = place_order(shopper_client, HTTP_IDEMPOTENCY_KEY="b9f0c1de-retry-me")
    again = place_order(shopper_client, HTTP_IDEMPOTENCY_KEY="b9f0c1de-retry-me")
    add_to_cart(shopper_client, book, 1)
    other = place_order(shopper_client, HTTP_IDEMPOTENCY_KEY="another-attempt")

    assert first.json()["number"] == again.json()["number"] != other.json()["number"]
    assert Order.objects.count() == 2
    # The other attempt, from a changed cart, replaced the first order: its copy is back.
    assert Book.objects.get(pk=book.pk).stock == 3


def test_idempotency_keys_of_two_clients_never_meet(shopper_client, guest, book):
    add_to_cart(shopper_client, book)
    add_to_cart(guest, book)

    mine = place_order(shopper_client, HTTP_IDEMPOTENCY_KEY="same-key").json()
    theirs = place_order(guest, HTTP_IDEMPOTENCY_KEY="same-key", **csrf_headers(guest)).json()

    assert mine["number"] != theirs["number"]
    assert Order.objects.get(number=theirs["number"]).user is None


def test_bad_idempotency_key_is_refused(shopper_client, book):
    add_to_cart(shopper_client, book)
    assert_error(place_order(shopper_client, HTTP_IDEMPOTENCY_KEY="x" * 256), 400, "invalid", ["Idempotency-Key"])
    assert not Order.objects.exists()


def test_guest_reaches_their_order_with_the_access_key_only(guest, client, book):
    add_to_cart(guest, book)
    placed = place_order(guest, **csrf_headers(guest)).json()
    url = f"/api/v1/orders/{placed['number']}/"

    assert_error(client.get(url), 404, "not_found")
    assert_error(client.get(url, HTTP_X_ORDER_ACCESS_KEY="wrong"), 404, "not_found")
    assert_error(client.get(url, HTTP_X_ORDER_ACCESS_KEY="clé-non-ascii"), 404, "not_found")
    # The session alone does not open the order: the key is the guest's proof.
    assert_error(guest.get(url), 404, "not_found")
    shown = client.get(url, HTTP_X_ORDER_ACCESS_KEY=placed["access_key"])
    assert shown.status_code == 200 and shown.json()["number"] == placed["number"]


def test_another_users_order_is_404(shopper_client, other_client, book):
    add_to_cart(shopper_client, book)
    number = place_order(shopper_client).json()["number"]

    assert_error(other_client.get(f"/api/v1/orders/{number}/"), 404, "not_found")
    assert other_client.get("/api/v1/orders/").json()["count"] == 0


def test_order_detail_shows_payment_state_and_refunds(shopper_client, book):
    add_to_cart(shopper_client, book, 2)
    order = Order.objects.get(number=place_order(shopper_client).json()["number"])
    url = f"/api/v1/orders/{order.number}/"
    assert shopper_client.get(url).json()["payment"] is None

    payment = Payment.objects.create(
        order=order, stripe_payment_intent_id="pi_api_1", client_secret="pi_api_1_secret_x", amount=order.total_amount,
        currency=order.currency, status=Payment.Status.SUCCEEDED, card_brand="visa", card_last4="4242",
    )
    order_mark_paid(order_id=order.pk, actor=Actor.system())
    refund = Refund.objects.create(
        order=order, payment=payment, amount=1500, currency=order.currency, status=Refund.Status.SUCCEEDED
    )
    order_record_refund(order_id=order.pk, amount=1500, actor=Actor.system(), reference=f"refund-{refund.pk}")

    body = shopper_client.get(url).json()

    assert body["status"] == "partially_refunded"
    assert body["refunded"]["amount"] == 1500
    assert body["payment"]["status"] == "succeeded" and body["payment"]["card_last4"] == "4242"
    assert [r["amount"]["amount"] for r in body["refunds"]] == [1500]
    assert "client_secret" not in body["payment"]


def test_list_is_the_callers_newest_first_with_filters(shopper_client, other_client, book):
    numbers = []
    for _ in range(3):
        add_to_cart(shopper_client, book)
        numbers.append(place_order(shopper_client).json()["number"])
    # Each order from the growing cart replaced the one before: the first two are canceled.
    Order.objects.filter(number=numbers[1]).update(created_at=timezone.now() - timedelta(days=10))

    listed = shopper_client.get("/api/v1/orders/").json()
    assert [order["number"] for order in listed["results"]] == [numbers[2], numbers[0], numbers[1]]
    assert listed["results"][0]["line_count"] == 1

    canceled = shopper_client.get("/api/v1/orders/", {"status": "canceled"}).json()["results"]
    assert [order["number"] for order in canceled] == [numbers[0], numbers[1]]

    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    recent = shopper_client.get("/api/v1/orders/", {"created_after": since}).json()["results"]
    assert {order["number"] for order in recent} == {numbers[0], numbers[2]}
    older = shopper_client.get("/api/v1/orders/", {"created_before": since}).json()["results"]
    assert [order["number"] for order in older] == [numbers[1]]

    assert shopper_client.get("/api/v1/orders/", {"page_size": 2, "page": 2}).json()["results"][0]["number"] == numbers[1]


@pytest.mark.parametrize("params, field", [({"status": "lost"}, "status"), ({"created_after": "yesterday"}, "created_after")])
def test_bad_filters_name_the_field(shopper_client, params, field):
    assert_error(shopper_client.get("/api/v1/orders/", params), 400, "invalid", [field])


def test_guests_have_no_order_list(client):
    response = client.get("/api/v1/orders/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_placing_an_unchanged_cart_again_returns_its_order(shopper_client):
    book = BookFactory(stock=5)
    add_to_cart(shopper_client, book, 2)

    first = place_order(shopper_client)
    again = place_order(shopper_client)

    assert first.status_code == again.status_code == 201
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["lines"] == first.json()["lines"]
    assert Order.objects.count() == 1
    assert Book.objects.get(pk=book.pk).stock == 3


def test_placing_a_changed_cart_replaces_its_order_and_cancels_its_payment(shopper_client, emulated_stripe, shopper_stripe):
    book = BookFactory(stock=5)
    add_to_cart(shopper_client, book, 1)
    first = Order.objects.get(number=place_order(shopper_client).json()["number"])
    intent_id = payment_start(order_id=first.pk).stripe_payment_intent_id
    add_to_cart(shopper_client, book, 1)

    replaced = place_order(shopper_client)

    assert replaced.status_code == 201 and replaced.json()["number"] != first.number
    assert replaced.json()["lines"][0]["quantity"] == 2
    first.refresh_from_db()
    assert first.status == Order.Status.CANCELED
    assert shopper_stripe.v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert Order.objects.filter(status=Order.Status.PENDING_PAYMENT).count() == 1
    assert Book.objects.get(pk=book.pk).stock == 3


def test_placing_again_after_paying_elsewhere_says_the_order_is_paid(shopper_client, emulated_stripe, shopper_stripe):
    book = BookFactory(stock=5)
    add_to_cart(shopper_client, book, 1)
    first = Order.objects.get(number=place_order(shopper_client).json()["number"])
    confirm_with(shopper_stripe, payment_start(order_id=first.pk).stripe_payment_intent_id, "pm_card_visa")
    add_to_cart(shopper_client, book, 1)

    error = assert_error(place_order(shopper_client), 409, "already_paid")

    assert first.number in error["message"]
    first.refresh_from_db()
    assert first.status == Order.Status.PAID
    assert Order.objects.count() == 1


@pytest.mark.parametrize("country", ["zz", "ZZ", "BR"])
def test_a_country_the_shop_does_not_ship_to_is_refused(shopper_client, book, country):
    add_to_cart(shopper_client, book)

    details = {**ORDER_DETAILS, "shipping": {**ORDER_DETAILS["shipping"], "country": country}}
    error = assert_error(place_order(shopper_client, details), 400, "invalid", ["shipping.country"])

    assert error["message"] == "We do not ship to that country."
    assert not Order.objects.exists()
