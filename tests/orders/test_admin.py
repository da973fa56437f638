import pytest
from django.urls import reverse

from orders.models import Order
from orders.services import order_place
from payments.models import Receipt
from tests.factories import CartLineFactory, shipping_address

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    cart = CartLineFactory(book__title="Frankenstein", book__price_amount=1350, quantity=2).cart
    return order_place(cart=cart, email="mary@example.com", shipping=shipping_address())


def test_order_changelist_filters_and_searches(admin_client, order):
    page = admin_client.get("/admin/orders/order/", {"status__exact": "pending_payment"}).content.decode()
    assert order.number in page and "€27.00" in page

    assert order.number in admin_client.get("/admin/orders/order/", {"q": order.number}).content.decode()
    assert order.number in admin_client.get("/admin/orders/order/", {"q": "mary@example"}).content.decode()
    assert order.number not in admin_client.get("/admin/orders/order/", {"q": "nobody"}).content.decode()
    assert order.number not in admin_client.get("/admin/orders/order/", {"status__exact": "paid"}).content.decode()
    assert admin_client.get("/admin/orders/order/", {"needs_attention__exact": "1"}).status_code == 200


def test_order_change_page_shows_lines_and_history_read_only(admin_client, order):
    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Frankenstein" in page and "€13.50" in page
    assert "Order placed; stock reserved until" in page
    assert 'name="email"' not in page and 'name="_save"' not in page


def test_a_posted_change_form_changes_nothing(admin_client, order):
    admin_client.post(f"/admin/orders/order/{order.pk}/change/", {"email": "evil@example.com", "status": "paid"})

    order.refresh_from_db()
    assert order.email == "mary@example.com" and order.status == Order.Status.PENDING_PAYMENT


def test_orders_cannot_be_added_or_deleted_in_the_admin(admin_client, order):
    assert admin_client.get("/admin/orders/order/add/").status_code == 403
    assert admin_client.get(f"/admin/orders/order/{order.pk}/delete/").status_code == 403


def test_the_reservation_shows_only_while_it_matters(admin_client, order):
    url = f"/admin/orders/order/{order.pk}/change/"
    assert "Reserved until" in admin_client.get(url).content.decode()

    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=order.created_at)
    page = admin_client.get(url).content.decode()

    assert "Reserved until" not in page and "Stock released" not in page


def test_the_order_page_names_the_shipping_country(admin_client, order):
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert "United Kingdom" in page


def test_the_order_page_links_to_its_receipt(admin_client, order):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=order.created_at)
    Receipt.objects.create(order=order, number=41, pdf="receipts/r.pdf", rendered_at=order.created_at)

    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    receipt_url = reverse("payments:receipt_download", args=[order.number])
    assert f'<a href="{receipt_url}">Receipt R-000041 (PDF)</a>' in page
