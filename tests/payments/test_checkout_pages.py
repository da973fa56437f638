"""The shopper's checkout pages: the Payment Element page, the order page as return page, polling."""

import pytest
from django.urls import reverse

from orders.models import Order
from orders.services import Actor
from payments.models import Payment
from payments.documents.services import receipt_issue, receipt_render
from payments.paying.services import payment_apply_intent
from tests.celery_fixtures import wait_for
from tests.factories import UserFactory
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db(transaction=True)


def test_checkout_page_mounts_the_payment_element_for_one_payment_intent(client, place_order, emulated_stripe, shopper_stripe):
    order = place_order()
    client.force_login(order.user)
    url = reverse("payments:checkout", args=[order.number])

    first = client.get(url)
    second = client.get(url)

    payment = Payment.objects.get(order=order)
    for response in (first, second):
        assert response.status_code == 200
        page = response.content.decode()
        assert f'data-client-secret="{payment.client_secret}"' in page
        assert f'src="{emulated_stripe.url}/v3/"' in page
        assert "Pay €31.99" in page
    assert len(shopper_stripe.v1.payment_intents.list().data) == 1


def test_nobody_else_reaches_the_checkout(client, place_order, emulated_stripe):
    order = place_order()
    client.force_login(UserFactory())
    assert client.get(reverse("payments:checkout", args=[order.number])).status_code == 404
    assert client.get(reverse("payments:status", args=[order.number])).status_code == 404
    client.logout()
    assert client.get(reverse("payments:checkout", args=[order.number])).status_code == 404
    assert client.get(reverse("payments:guest_checkout", args=[order.number, "x" * 43])).status_code == 404
    assert not Payment.objects.exists()


def test_guest_pays_through_the_secret_link(client, place_order, emulated_stripe):
    order = place_order(guest=True)
    response = client.get(reverse("payments:guest_checkout", args=[order.number, order.access_key]))
    assert response.status_code == 200
    assert f'data-return-url="http://testserver{order.get_guest_url()}"' in response.content.decode()


def test_order_page_offers_pay_then_shows_the_decline_then_the_payment(
    client, place_order, webhook_endpoint, shopper_stripe, emulated_stripe
):
    order = place_order()
    client.force_login(order.user)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Pay €31.99" in page and reverse("payments:checkout", args=[order.number]) in page

    client.get(reverse("payments:checkout", args=[order.number]))
    payment = Payment.objects.get(order=order)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_chargeDeclinedExpiredCard")
    assert emulated_stripe.wait_idle(timeout=15)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Your payment did not go through." in page
    assert "Your card has expired. Check the date or try another card." in page
    assert "Try another card" in page

    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)
    status = client.get(reverse("payments:status", args=[order.number])).json()
    assert status == {
        "order_status": "paid", "order_status_display": "Paid", "paid": True, "payment_status": "succeeded", "message": "",
        "notice": "",
    }
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Paid €31.99 by Visa ending in 4242" in page
    assert "Your receipt is being prepared" in page

    receipt_issue(order_id=order.pk)
    receipt = receipt_render(order_id=order.pk)
    page = client.get(order.get_absolute_url()).content.decode()
    assert f"Download receipt {receipt.display_number} (PDF)" in page
    # A paid order has nothing left to pay: the checkout sends the shopper back.
    response = client.get(reverse("payments:checkout", args=[order.number]))
    assert response.status_code == 302 and response.url == order.get_absolute_url()


def test_return_page_says_confirming_until_the_webhook_arrives(client, place_order, emulated_stripe):
    order = place_order()
    client.force_login(order.user)
    client.get(reverse("payments:checkout", args=[order.number]))
    page = client.get(order.get_absolute_url() + "?payment_intent=pi_x&redirect_status=succeeded").content.decode()
    assert "Confirming your payment" in page
    assert 'data-payment-poll="' + reverse("payments:status", args=[order.number]) in page
    # The browser's word is not proof of payment.
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_late_failure_snapshot_does_not_undo_a_payment(paid_order):
    payment = Payment.objects.get(order=paid_order)
    stale = {
        "id": payment.stripe_payment_intent_id,
        "object": "payment_intent",
        "amount": payment.amount,
        "currency": payment.currency.lower(),
        "status": "requires_payment_method",
        "metadata": {"order_number": paid_order.number},
        "last_payment_error": {"code": "card_declined", "decline_code": "generic_decline", "message": "Declined"},
    }
    payment_apply_intent(intent=stale, actor=Actor.system())
    paid_order.refresh_from_db()
    payment.refresh_from_db()
    assert paid_order.status == Order.Status.PAID
    assert payment.status == Payment.Status.SUCCEEDED and payment.last_error_message == ""


def test_every_page_says_sandbox_on_the_emulator(client, db):
    page = client.get(reverse("catalogue:book_list")).content.decode()
    assert "Sandbox: no real money." in page


def test_processing_payment_shows_confirming_until_it_succeeds(client, place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    emulated_stripe.configure(processing_for=1.5)
    order = place_order()
    client.force_login(order.user)
    client.get(reverse("payments:checkout", args=[order.number]))
    payment = Payment.objects.get(order=order)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")

    wait_for(lambda: Payment.objects.filter(pk=payment.pk, status=Payment.Status.PROCESSING).exists(),
             what="the payment_intent.processing webhook", timeout=15)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Confirming your payment" in page and "data-testid=\"pay-button\"" not in page

    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert "Paid €31.99 by Visa ending in 4242" in client.get(order.get_absolute_url()).content.decode()
