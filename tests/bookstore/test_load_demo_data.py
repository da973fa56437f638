import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookstore.management.commands.load_demo_data import (
    BOOK_COUNT,
    SHOPPER_PASSWORD,
    SHOPPER_USERNAME,
    STAFF_GROUP,
    STAFF_PASSWORD,
    STAFF_USERNAME,
)
from bookstore.models import Book

pytestmark = pytest.mark.django_db


def test_running_it_twice_keeps_fifty_books_and_the_same_catalogue(capsys):
    call_command("load_demo_data")
    first = list(Book.objects.order_by("isbn").values_list("isbn", "title", "price_amount"))
    call_command("load_demo_data")

    assert Book.objects.count() == BOOK_COUNT == 50
    assert list(Book.objects.order_by("isbn").values_list("isbn", "title", "price_amount")) == first
    assert STAFF_PASSWORD in capsys.readouterr().out


def test_a_sold_copy_stays_sold_when_it_runs_again():
    call_command("load_demo_data")
    book = Book.objects.filter(stock__gt=0).first()
    Book.objects.filter(pk=book.pk).update(stock=book.stock - 1)

    call_command("load_demo_data")

    assert Book.objects.get(pk=book.pk).stock == book.stock - 1


def test_demo_staff_can_use_the_admin_and_the_shopper_can_sign_in(client):
    call_command("load_demo_data")
    staff = get_user_model().objects.get(username=STAFF_USERNAME)

    assert staff.is_staff and not staff.is_superuser
    assert staff.groups.filter(name=STAFF_GROUP).exists()
    assert staff.has_perms(["bookstore.change_book", "orders.view_order", "orders.refund_order"])
    # Through the sign-in form: django-axes' backend needs the request `client.login` does not give.
    assert client.post("/admin/login/", {"username": STAFF_USERNAME, "password": STAFF_PASSWORD}).status_code == 302
    assert client.get("/admin/bookstore/book/").status_code == 200
    assert client.get("/admin/orders/order/").status_code == 200
    client.logout()
    assert client.post("/accounts/login/", {"username": SHOPPER_USERNAME, "password": SHOPPER_PASSWORD}).status_code == 302
