"""The account page: saved cards, addresses (edit, delete, default) and order history, for its
owner only; another shopper's address is a 404."""

import pytest

from orders.addresses.services import saved_address_remember
from orders.models import SavedAddress
from orders.services import order_place
from tests.factories import CartLineFactory, UserFactory, shipping_address

pytestmark = pytest.mark.django_db

HOME = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE"}
WORK = {**HOME, "line1": "12 Quay Street", "postal_code": "D02 AB12"}


def test_guests_are_sent_to_sign_in(client):
    response = client.get("/accounts/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/accounts/")


def test_the_page_shows_cards_addresses_and_order_history(client, user):
    order = order_place(cart=CartLineFactory(book__title="Middlemarch").cart, email=user.email, shipping=shipping_address(**HOME), user=user)
    saved_address_remember(user=user, **WORK)
    client.force_login(user)

    page = client.get("/accounts/").content.decode()

    assert "Your account" in page and user.email in page
    assert 'data-testid="saved-cards"' in page and 'data-testid="no-saved-cards"' in page
    assert "1 Analytical Row" in page and "12 Quay Street" in page and "Ireland" in page
    assert order.number in page and order.get_absolute_url() in page
    assert 'data-testid="account-link"' in page and 'href="/accounts/"' in page


def test_the_header_links_signed_in_shoppers_to_their_account_and_nobody_else(client, user):
    assert 'data-testid="account-link"' not in client.get("/").content.decode()
    client.force_login(user)
    assert 'data-testid="account-link"' in client.get("/").content.decode()


def test_editing_an_address_changes_it_and_a_duplicate_is_refused_on_the_form(client, user):
    home = saved_address_remember(user=user, **HOME)
    saved_address_remember(user=user, **WORK)
    client.force_login(user)

    page = client.get(f"/accounts/addresses/{home.pk}/").content.decode()
    assert 'value="1 Analytical Row"' in page
    response = client.post(f"/accounts/addresses/{home.pk}/", {**HOME, "line2": "Flat 3"}, follow=True)
    assert "Address changed." in response.content.decode()
    assert SavedAddress.objects.get(pk=home.pk).line2 == "Flat 3"

    response = client.post(f"/accounts/addresses/{home.pk}/", WORK)
    assert response.status_code == 200 and "You have already saved this address." in response.content.decode()


def test_adding_deleting_and_choosing_the_default(client, user):
    client.force_login(user)
    client.post("/accounts/addresses/new/", HOME)
    client.post("/accounts/addresses/new/", {**WORK, "make_default": "1"})
    home, work = SavedAddress.objects.get(line1=HOME["line1"]), SavedAddress.objects.get(line1=WORK["line1"])
    assert work.is_default and not home.is_default

    client.post(f"/accounts/addresses/{home.pk}/default/")
    assert SavedAddress.objects.get(is_default=True) == home

    response = client.post(f"/accounts/addresses/{home.pk}/delete/", follow=True)
    assert "Address deleted." in response.content.decode()
    assert list(SavedAddress.objects.all()) == [SavedAddress.objects.get(pk=work.pk)]
    assert SavedAddress.objects.get(pk=work.pk).is_default


def test_another_shoppers_address_is_not_found_and_stays_as_it_is(client, user):
    theirs = saved_address_remember(user=user, **HOME)
    client.force_login(UserFactory())

    assert "Analytical Row" not in client.get("/accounts/").content.decode()
    assert client.get(f"/accounts/addresses/{theirs.pk}/").status_code == 404
    assert client.post(f"/accounts/addresses/{theirs.pk}/", WORK).status_code == 404
    assert client.post(f"/accounts/addresses/{theirs.pk}/default/").status_code == 404
    assert client.post(f"/accounts/addresses/{theirs.pk}/delete/").status_code == 404
    assert SavedAddress.objects.get(pk=theirs.pk).line1 == "1 Analytical Row"
