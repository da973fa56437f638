"""Saved addresses: remembered from a signed-in shopper's orders, prefilled at checkout, one
click from the cart; a guest never sees one, and nobody sees another shopper's."""

import re
import threading

import pytest
from django.db import connection

from orders.addresses.selectors import saved_address_default
from orders.addresses.services import (
    SAVED_ADDRESSES_KEPT,
    AddressError,
    saved_address_delete,
    saved_address_remember,
    saved_address_set_default,
    saved_address_update,
)
from orders.models import Order, SavedAddress
from orders.services import order_place
from tests.factories import BookFactory, CartLineFactory, UserFactory, shipping_address

pytestmark = pytest.mark.django_db

HOME = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE"}
WORK = {**HOME, "line1": "12 Quay Street", "postal_code": "D02 AB12"}


def place(user, **address) -> Order:
    # A cart of its own for each order: a shopper has one cart, which would keep the earlier lines.
    cart = CartLineFactory().cart
    return order_place(cart=cart, email=user.email, shipping=shipping_address(**address), user=user)


def field_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else ""


def test_an_order_saves_its_address_once_most_recent_first_and_the_first_is_the_default(user):
    place(user, **HOME)
    place(user, **WORK)
    place(user, **{**HOME, "line1": "  1 Analytical Row "})  # the same address, typed with spaces

    addresses = list(SavedAddress.objects.filter(user=user))
    assert [(a.line1, a.is_default) for a in addresses] == [("1 Analytical Row", True), ("12 Quay Street", False)]
    assert SavedAddress.objects.get(user=user, line1="1 Analytical Row").last_used_at > addresses[1].last_used_at


def test_a_guest_order_saves_nothing(book):
    order_place(cart=CartLineFactory(book=book).cart, email="guest@example.com", shipping=shipping_address(), user=None)
    assert not SavedAddress.objects.exists()


def test_only_the_most_recent_addresses_are_kept(user):
    for n in range(SAVED_ADDRESSES_KEPT + 3):
        saved_address_remember(user=user, **{**HOME, "line1": f"{n} Analytical Row"})
    kept = SavedAddress.objects.filter(user=user)
    assert kept.count() == SAVED_ADDRESSES_KEPT + 1  # the default and the most recent others
    assert kept.filter(is_default=True, line1="0 Analytical Row").exists()
    assert not kept.filter(line1="1 Analytical Row").exists()


def test_setting_the_default_and_deleting_it_leaves_exactly_one_default(user):
    home = saved_address_remember(user=user, **HOME)
    work = saved_address_remember(user=user, **WORK)
    saved_address_set_default(user=user, address_id=work.pk)
    assert saved_address_default(user) == work and not SavedAddress.objects.get(pk=home.pk).is_default

    saved_address_delete(user=user, address_id=work.pk)
    assert list(SavedAddress.objects.filter(user=user, is_default=True)) == [home]


def test_editing_into_a_duplicate_is_refused_and_another_users_address_is_not_found(user):
    home = saved_address_remember(user=user, **HOME)
    work = saved_address_remember(user=user, **WORK)
    with pytest.raises(AddressError) as refused:
        saved_address_update(user=user, address_id=work.pk, line1=HOME["line1"], postal_code=HOME["postal_code"])
    assert refused.value.code == "duplicate_address"

    other = UserFactory()
    for service in (saved_address_delete, saved_address_set_default):
        with pytest.raises(AddressError) as missing:
            service(user=other, address_id=home.pk)
        assert missing.value.code == "address_not_found"
    assert SavedAddress.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_orders_of_one_shopper_leave_one_default():
    user = UserFactory()
    carts = [CartLineFactory(book=BookFactory(stock=5)).cart for _ in range(2)]
    addresses = [HOME, WORK]
    barrier = threading.Barrier(2)
    errors = []

    def buy(i: int) -> None:
        try:
            barrier.wait()
            order_place(cart=carts[i], email=user.email, shipping=shipping_address(**addresses[i]), user=user)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert SavedAddress.objects.filter(user=user).count() == 2
    assert SavedAddress.objects.filter(user=user, is_default=True).count() == 1


# --- Pages ---------------------------------------------------------------------------


def test_checkout_is_prefilled_with_the_default_address_and_another_can_be_chosen(client, user, book):
    home = saved_address_remember(user=user, **HOME)
    work = saved_address_remember(user=user, **WORK)
    client.force_login(user)
    client.post("/cart/add/", {"book": book.pk, "quantity": 1})

    page = client.get("/orders/checkout/").content.decode()
    assert field_value(page, "line1") == "1 Analytical Row" and field_value(page, "postal_code") == "D02 XY45"
    assert field_value(page, "email") == user.email
    assert "Filled in from your saved address" in page

    page = client.get(f"/orders/checkout/?address={work.pk}").content.decode()
    assert field_value(page, "line1") == "12 Quay Street"
    assert home.pk != work.pk


def test_a_guest_sees_no_saved_address_and_nobody_anothers(client, user, book):
    address = saved_address_remember(user=user, **HOME)
    client.post("/cart/add/", {"book": book.pk, "quantity": 1})

    page = client.get("/orders/checkout/").content.decode()
    assert "Analytical Row" not in page and field_value(page, "line1") == ""
    assert client.get(f"/orders/checkout/?address={address.pk}").status_code == 404
    cart_page = client.get("/cart/").content.decode()
    assert "Analytical Row" not in cart_page and "Place order and pay" not in cart_page

    client.force_login(UserFactory())
    client.post("/cart/add/", {"book": book.pk, "quantity": 1})
    assert client.get(f"/orders/checkout/?address={address.pk}").status_code == 404
    assert "Analytical Row" not in client.get("/orders/checkout/").content.decode()
    token = "t" * 32
    assert client.post("/orders/checkout/saved-address/", {"address": address.pk, "checkout_token": token}).status_code == 404
    assert not Order.objects.exists()


def test_the_carts_one_click_places_the_order_to_the_default_address_and_opens_the_payment_page(client, user, book):
    saved_address_remember(user=user, **HOME)
    client.force_login(user)
    client.post("/cart/add/", {"book": book.pk, "quantity": 2})

    cart_page = client.get("/cart/").content.decode()
    assert "Ship to" in cart_page and "1 Analytical Row" in cart_page and "Place order and pay" in cart_page
    form = {name: field_value(cart_page, name) for name in ("address", "checkout_token")}
    response = client.post("/orders/checkout/saved-address/", form)
    again = client.post("/orders/checkout/saved-address/", form)  # a double click

    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/pay/orders/{order.number}/"
    assert again["Location"] == response["Location"]
    assert (order.user, order.email, order.shipping_line1, order.shipping_country) == (user, user.email, "1 Analytical Row", "IE")
    assert order.lines.get().quantity == 2
