"""Staff see an order's payment in the admin, with dj-stripe's mirrored PaymentIntent and charge."""

import pytest
from django.urls import reverse

from payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def test_paid_order_shows_its_payment_and_the_mirrors(client, staff_user, paid_order):
    payment = Payment.objects.get(order=paid_order)
    client.force_login(staff_user)

    order_page = client.get(reverse("admin:orders_order_change", args=[paid_order.pk])).content.decode()
    assert payment.stripe_payment_intent_id in order_page
    assert "Visa ending in 4242" in order_page and payment.charge_id in order_page

    payment_page = client.get(reverse("admin:payments_payment_change", args=[payment.pk])).content.decode()
    intent_url = reverse("admin:djstripe_paymentintent_change", args=[payment.payment_intent.djstripe_id])
    charge_url = reverse("admin:djstripe_charge_change", args=[payment.charge.djstripe_id])
    assert f'href="{intent_url}"' in payment_page and f'href="{charge_url}"' in payment_page
    assert client.get(intent_url).status_code == 200
    assert client.get(charge_url).status_code == 200


def test_payments_cannot_be_edited_in_the_admin(client, staff_user, paid_order):
    payment = Payment.objects.get(order=paid_order)
    client.force_login(staff_user)
    client.post(reverse("admin:payments_payment_change", args=[payment.pk]), {"status": "canceled"})
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert client.get(reverse("admin:payments_payment_add")).status_code == 403
