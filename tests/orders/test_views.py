"""Checkout and order pages: placing once, and nobody seeing anybody else's order."""

import re
from datetime import UTC, datetime

import pytest

from bookstore.models import Book
from orders.models import Order
from orders.services import order_place
from orders.views import ORDERS_PER_PAGE
from tests.bookstore.helpers import messages_of, queries_for
from tests.factories import BookFactory, CartFactory, CartLineFactory, UserFactory, shipping_address

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE"}


def checkout_form(client) -> dict:
    """The fields of a freshly rendered checkout form: its one-time token and the prefilled email."""
    page = client.get("/orders/checkout/").content.decode()
    token = re.search(r'name="checkout_token" value="([^"]+)"', page).group(1)
    email = re.search(r'name="email"(?: [^>]*)? value="([^"]*)"', page)
    return {"checkout_token": token, "email": email.group(1) if email else ""}


def fill_cart(client, *books, quantity=1):
    for book in books:
        client.post("/cart/add/", {"book": book.pk, "quantity": quantity})


def place_for(user, **line) -> Order:
    # A cart of its own for each order: the shopper's own cart would keep the earlier lines.
    cart = CartLineFactory(**line).cart
    return order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)


def test_guest_places_an_order_and_lands_on_the_guest_page(client):
    book = BookFactory(title="Dracula", price_amount=1400, stock=5)
    fill_cart(client, book, quantity=2)

    form = checkout_form(client)
    response = client.post("/orders/checkout/", {**form, **ADDRESS, "email": "guest@example.com"}, follow=True)

    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == order.get_guest_url()
    page = response.content.decode()
    assert "Awaiting payment" in page and "Dracula" in page and "€28.00" in page and "Analytical Row" in page
    assert response.context["guest_access_key"] == order.access_key
    assert order.email == "guest@example.com" and order.user is None
    assert order.shipping_country == "IE" and order.total_amount == 2800
    assert Book.objects.get(pk=book.pk).stock == 3


def test_a_guest_finds_recent_orders_from_the_session(client):
    book = BookFactory(stock=5)
    fill_cart(client, book)
    client.post("/orders/checkout/", {**checkout_form(client), **ADDRESS, "email": "guest@example.com"})
    order = Order.objects.get()

    response = client.get("/orders/")

    assert response.context["guest_orders"] == [order]
    assert order.get_guest_url() in response.content.decode()


def test_a_signed_in_shopper_gets_the_email_prefilled_and_the_owner_page(client):
    user = UserFactory(email="ada@example.com")
    client.force_login(user)
    fill_cart(client, BookFactory(stock=5))

    form = checkout_form(client)
    assert form["email"] == "ada@example.com"
    response = client.post("/orders/checkout/", {**form, **ADDRESS})

    order = Order.objects.get()
    assert order.user == user
    assert response.url == order.get_absolute_url()
    assert client.get(response.url).context["guest_access_key"] == ""


def test_a_double_submitted_form_places_one_order(client):
    book = BookFactory(stock=5)
    fill_cart(client, book, quantity=2)
    data = {**checkout_form(client), **ADDRESS, "email": "guest@example.com"}

    first = client.post("/orders/checkout/", data)
    second = client.post("/orders/checkout/", data)

    assert Order.objects.count() == 1
    assert first.url == second.url == Order.objects.get().get_guest_url()
    assert Book.objects.get(pk=book.pk).stock == 3


def test_a_token_from_another_cart_never_returns_that_cart_s_order(client, django_user_model):
    fill_cart(client, BookFactory(stock=5))
    data = {**checkout_form(client), **ADDRESS, "email": "first@example.com"}
    client.post("/orders/checkout/", data)
    first = Order.objects.get()

    other = client.__class__()
    fill_cart(other, BookFactory(stock=5))
    response = other.post("/orders/checkout/", {**data, "email": "second@example.com"})

    assert Order.objects.count() == 2
    assert response.url != first.get_guest_url()


def test_invalid_fields_show_errors_beside_them_and_place_nothing(client):
    fill_cart(client, BookFactory(stock=5))

    response = client.post(
        "/orders/checkout/", {**checkout_form(client), **ADDRESS, "email": "nope", "city": "", "country": "XX"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in page and 'id="id_city_error"' in page and 'id="id_country_error"' in page
    assert not Order.objects.exists()


def test_a_tampered_token_places_nothing_and_offers_a_fresh_form(client):
    fill_cart(client, BookFactory(stock=5))
    form = checkout_form(client)

    response = client.post("/orders/checkout/", {**form, **ADDRESS, "email": "g@example.com", "checkout_token": "x' or 1=1"})

    assert not Order.objects.exists()
    assert messages_of(response) == ["Your order was not placed. Please check your details and place it again."]
    assert re.search(r'name="checkout_token" value="[A-Za-z0-9_-]{43}"', response.content.decode())


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client):
    response = client.get("/orders/checkout/", follow=True)
    assert response.redirect_chain[-1][0] == "/cart/"
    assert messages_of(response) == ["Your cart is empty: add a book or two before checking out."]

    response = client.post("/orders/checkout/", {"checkout_token": "a" * 43, **ADDRESS, "email": "g@example.com"}, follow=True)
    assert messages_of(response) == ["Your cart is empty, so there is nothing to order."]
    assert not Order.objects.exists()


def test_stock_gone_since_the_cart_was_filled_is_refused_and_changes_nothing(client):
    book = BookFactory(title="Rebecca", stock=5)
    fill_cart(client, book, quantity=3)
    form = checkout_form(client)
    Book.objects.filter(pk=book.pk).update(stock=1)

    response = client.post("/orders/checkout/", {**form, **ADDRESS, "email": "g@example.com"}, follow=True)

    assert response.redirect_chain[-1][0] == "/cart/"
    assert messages_of(response) == ["Only 1 copies of “Rebecca” are left; please change the quantity in your cart."]
    assert not Order.objects.exists()
    assert Book.objects.get(pk=book.pk).stock == 1


def test_the_order_page_says_awaiting_payment_with_the_reservation_time(client):
    user = UserFactory()
    order = place_for(user, book__title="Walden", book__price_amount=1100, quantity=2)
    client.force_login(user)

    page = client.get(order.get_absolute_url()).content.decode()

    assert "Awaiting payment" in page and "Walden" in page and "€22.00" in page
    assert f'datetime="{order.reserved_until.isoformat()}"' in page
    assert "Ada Lovelace" in page


def test_nobody_sees_another_person_s_order(client):
    owner, stranger = UserFactory(), UserFactory()
    order = place_for(owner)
    client.force_login(stranger)

    assert client.get(order.get_absolute_url()).status_code == 404
    assert client.get("/orders/NOSUCH1/").status_code == 404
    assert order.number not in client.get("/orders/").content.decode()


def test_the_owner_page_asks_a_guest_to_sign_in(client):
    order = place_for(UserFactory())

    response = client.get(order.get_absolute_url())

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_the_guest_link_needs_the_right_key(client):
    order = place_for(UserFactory())

    assert client.get(order.get_guest_url()).status_code == 200
    for key in ["wrong", order.access_key[:-1], order.access_key.upper(), "é" * 43]:
        assert client.get(f"/orders/{order.number}/{key}/").status_code == 404
    other = place_for(UserFactory())
    assert client.get(f"/orders/{order.number}/{other.access_key}/").status_code == 404


def test_order_pages_are_not_cached(client):
    order = place_for(UserFactory())

    response = client.get(order.get_guest_url())

    assert "no-store" in response["Cache-Control"]


def test_order_list_is_paginated_and_shows_only_one_s_own(client):
    user = UserFactory()
    for _ in range(ORDERS_PER_PAGE + 2):
        place_for(user)
    stranger_order = place_for(UserFactory())
    client.force_login(user)

    first = client.get("/orders/")
    second = client.get("/orders/", {"page": 2})

    assert len(first.context["page"].object_list) == ORDERS_PER_PAGE
    assert len(second.context["page"].object_list) == 2
    assert stranger_order.number not in first.content.decode() + second.content.decode()


def test_order_list_asks_a_guest_without_orders_to_sign_in(client):
    page = client.get("/orders/").content.decode()

    assert "to see your orders" in page


def test_order_list_queries_do_not_grow_with_orders(client):
    user = UserFactory()
    client.force_login(user)
    place_for(user)
    few = queries_for(client, "/orders/")
    for _ in range(6):
        place_for(user)
    assert queries_for(client, "/orders/") == few > 0


def test_order_page_queries_do_not_grow_with_lines(client):
    user = UserFactory()
    client.force_login(user)
    cart = CartFactory(user=user)
    CartLineFactory(cart=cart)
    one_line = order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)
    CartLineFactory.create_batch(8, cart=cart)
    nine_lines = order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)

    assert queries_for(client, nine_lines.get_absolute_url()) == queries_for(client, one_line.get_absolute_url()) > 0


def test_address_line_2_is_marked_optional(client):
    fill_cart(client, BookFactory(stock=5))

    page = client.get("/orders/checkout/").content.decode()

    assert "Address line 2 (optional)" in page


def test_the_order_page_names_the_country_and_the_shop_s_time_zone(client, settings):
    settings.TIME_ZONE = "Europe/Dublin"
    user = UserFactory()
    order = order_place(cart=CartLineFactory().cart, email=user.email, shipping=shipping_address(country="IE"), user=user)
    # Summer in Dublin: one hour ahead of UTC.
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 7, 1, 13, 5, tzinfo=UTC))
    client.force_login(user)

    page = client.get(order.get_absolute_url()).content.decode()

    assert "Ireland" in page and ">IE<" not in page.replace("\n", "").replace(" ", "")
    assert "Placed 1 July 2026, 14:05 (Europe/Dublin)" in page
    assert "UTC" not in page


def test_a_paid_order_says_what_happens_next_and_leads_back_to_the_books(client):
    user = UserFactory()
    order = place_for(user)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=order.created_at)
    client.force_login(user)

    page = client.get(order.get_absolute_url()).content.decode()

    assert "What happens next" in page
    assert f"Your receipt is emailed to <strong>{user.email}</strong>" in page
    assert "We pack your books and post them within two working days" in page
    assert '<a class="button button-quiet" href="/">Continue shopping</a>' in page


def test_checking_out_an_unchanged_cart_again_returns_to_its_order(client):
    shopper = UserFactory()
    client.force_login(shopper)
    book = BookFactory(title="Dracula", stock=5)
    fill_cart(client, book)
    first = client.post("/orders/checkout/", {**checkout_form(client), **ADDRESS})
    order = Order.objects.get()

    # Back to the cart, and through the checkout again with a freshly rendered form.
    again = client.post("/orders/checkout/", {**checkout_form(client), **ADDRESS}, follow=True)

    assert first.url == again.redirect_chain[0][0] == order.get_absolute_url()
    assert messages_of(again) == [f"Your order {order.number} for these books is waiting for your payment."]
    assert Order.objects.get() == order and Book.objects.get().stock == 4


def test_checking_out_a_changed_cart_replaces_its_order(client):
    shopper = UserFactory()
    client.force_login(shopper)
    book = BookFactory(stock=5)
    fill_cart(client, book)
    client.post("/orders/checkout/", {**checkout_form(client), **ADDRESS})
    fill_cart(client, book)

    client.post("/orders/checkout/", {**checkout_form(client), **ADDRESS})

    first, second = Order.objects.order_by("id")
    assert first.status == Order.Status.CANCELED and second.status == Order.Status.PENDING_PAYMENT
    assert second.lines.get().quantity == 2 and Book.objects.get().stock == 3


@pytest.mark.parametrize("country", ["ZZ", "zz", "BR"])
def test_the_checkout_form_refuses_a_country_the_shop_does_not_ship_to(client, country):
    fill_cart(client, BookFactory(stock=5))

    response = client.post("/orders/checkout/", {**checkout_form(client), **ADDRESS, "email": "a@example.com", "country": country})

    assert response.status_code == 200
    assert response.context["form"].errors["country"] == ["We do not ship to that country."]
    assert not Order.objects.exists()


@pytest.mark.parametrize("order_id", ["9999999999999999999999999", str(2**63)])
def test_the_admin_refund_page_of_an_out_of_range_order_is_404(client, staff_user, order_id):
    client.force_login(staff_user)
    assert client.get(f"/admin/payments/refund/order/{order_id}/").status_code == 404
