"""Orders paid with a chosen test card, for the refund tests."""

import pytest

from orders.models import Order
from payments.paying.services import payment_start
from tests.factories import UserFactory
from tests.stripe_fixtures import confirm_with


@pytest.fixture
def pay_with(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    """`pay_with("pm_card_refundFail")`: an order paid as `paid_order` is, with that card."""

    def pay(card: str = "pm_card_visa", **order_options) -> Order:
        order = place_order(**order_options)
        payment = payment_start(order_id=order.pk)
        confirm_with(shopper_stripe, payment.stripe_payment_intent_id, card)
        assert emulated_stripe.wait_idle(timeout=15)
        order.refresh_from_db()
        assert order.status == Order.Status.PAID, order.events.values_list("kind", "message")
        return order

    return pay


@pytest.fixture
def refunder(db):
    """A member of staff allowed to refund (the permission, not a superuser)."""
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="refund_order", content_type__app_label="orders"),
        Permission.objects.get(codename="view_order", content_type__app_label="orders"),
        Permission.objects.get(codename="view_refund", content_type__app_label="payments"),
    )
    return user


@pytest.fixture(autouse=True)
def _webhooks_settled(transactional_db, emulated_stripe):
    """After each test, and before its database is flushed, let the emulator finish delivering:
    a webhook reaching the live server later would fail there, in the next test's output."""
    yield
    emulated_stripe.wait_idle(timeout=15)
