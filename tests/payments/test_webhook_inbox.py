"""The webhook inbox: Stripe's events stored once by the endpoint, processed by the Celery worker.

Transactional tests: the live server stores deliveries, a real worker process handles them
(tests/celery_fixtures.py), and the emulator's `wait_idle` waits for both (tests/stripe_fixtures.py).
"""

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from cart.models import CartLine
from orders.models import Order
from payments.models import Receipt, WebhookMessage
from payments.paying.services import payment_start
from payments.paying.webhooks import HANDLERS, webhook_process
from payments.setup.services import webhook_endpoint_register
from payments.tasks import webhook_inbox_sweep_task
from tests.celery_fixtures import ROOT, TASK_TIMEOUT, subprocess_database_url, wait_for
from tests.factories import UserFactory
from tests.payments.test_webhooks import sign, success_event  # noqa: F401 - fixture
from tests.stripe_fixtures import confirm_with

pytestmark = pytest.mark.django_db(transaction=True)

State = WebhookMessage.State


def shop_calls_for_one_paid_order(place_order, shopper_stripe, emulated_stripe) -> int:
    before = emulated_stripe.stats()["api_requests"]
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=15)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    # The confirmation is the shopper's browser talking to Stripe, not the shop.
    return emulated_stripe.stats()["api_requests"] - before - 1


def test_a_paid_order_costs_the_shop_two_stripe_calls(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    """The create, and one retrieve with everything the success webhook mirrors expanded.

    (dj-stripe fetched the account once already, when the endpoint was registered.)
    """
    assert shop_calls_for_one_paid_order(place_order, shopper_stripe, emulated_stripe) == 2
    assert shop_calls_for_one_paid_order(place_order, shopper_stripe, emulated_stripe) == 2
    # Every event delivered twice: the copy is a lookup in the inbox, not another call.
    emulated_stripe.set_faults(duplicate=True)
    assert shop_calls_for_one_paid_order(place_order, shopper_stripe, emulated_stripe) == 2


def test_overlapping_duplicates_give_one_transition_one_cart_clear_and_one_receipt(
    place_order, webhook_endpoint, shopper_stripe, emulated_stripe, celery_worker
):
    # Several deliveries in flight at once, as Stripe sends them: each copy overlaps its original.
    emulated_stripe.configure(webhook_concurrency=8)
    emulated_stripe.set_faults(duplicate=True)
    order = place_order(email="overlap@example.com")
    line = order.lines.first()
    # The shopper put one more copy in the cart after ordering: it must stay there.
    CartLine.objects.filter(cart_id=order.cart_id, book_id=line.book_id).update(quantity=line.quantity + 1)
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=30)

    [message] = WebhookMessage.objects.filter(type="payment_intent.succeeded")
    assert (message.state, message.attempts) == (State.PROCESSED, 1)
    succeeded = [d for d in emulated_stripe.deliveries() if d["event"] == message.stripe_event_id]
    assert [d["status"] for d in succeeded] == [200, 200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.events.filter(kind="paid").count() == 1
    assert order.events.get(kind="paid").stripe_event_id == message.stripe_event_id
    assert list(CartLine.objects.filter(cart_id=order.cart_id).values_list("book_id", "quantity")) == [(line.book_id, 1)]
    wait_for(lambda: Receipt.objects.filter(order=order, emailed_at__isnull=False).exists(), what="the receipt")
    assert Receipt.objects.filter(order=order).count() == 1
    assert len(celery_worker.sent_emails(to="overlap@example.com", subject="Your receipt")) == 1


def test_one_row_processed_twice_at_once_is_handled_once(success_event):
    order, payload = success_event
    # Stored as the endpoint stores it, but left unqueued: the test runs the two attempts.
    message = WebhookMessage.objects.create(
        stripe_event_id=json.loads(payload)["id"], type="payment_intent.succeeded", payload=json.loads(payload)
    )
    barrier, results = threading.Barrier(2), []

    def attempt():
        barrier.wait()
        results.append(webhook_process(message_id=message.pk))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One took the row; the other found it taken (or done) and left it.
    assert sorted(results, key=str) == sorted([True, None], key=str)
    message.refresh_from_db()
    assert (message.state, message.attempts) == (State.PROCESSED, 1)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.events.filter(kind="paid").count() == 1


def test_payments_refunds_charges_and_disputes_of_strangers_are_acknowledged_and_ignored(
    place_order, webhook_endpoint, shopper_stripe, emulated_stripe
):
    order = place_order()
    calls_before = emulated_stripe.stats()["api_requests"]
    # Another integration on the same Stripe account: a payment and its refund, a disputed one.
    for card in ("pm_card_createDispute", "pm_card_visa"):
        intent = shopper_stripe.v1.payment_intents.create(params={"amount": 500, "currency": "eur"})
        confirm_with(shopper_stripe, intent.id, card)
    shopper_stripe.v1.refunds.create(params={"payment_intent": intent.id, "amount": 100})
    assert emulated_stripe.wait_idle(timeout=15)

    deliveries = emulated_stripe.deliveries()
    assert deliveries and all(d["status"] == 200 for d in deliveries)
    types = set(WebhookMessage.objects.values_list("type", flat=True))
    assert {"payment_intent.succeeded", "refund.created", "charge.refunded", "charge.dispute.created"} <= types
    assert set(WebhookMessage.objects.values_list("state", flat=True)) == {State.IGNORED}
    # Decided from the event alone: the only calls are the other integration's own five.
    assert emulated_stripe.stats()["api_requests"] - calls_before == 5
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not order.needs_attention


def test_the_endpoint_stores_and_answers_without_calling_stripe(client, place_order, emulated_stripe, shopper_stripe):
    # No worker here: what is measured is the request alone.
    endpoint, _created = webhook_endpoint_register(base_url="http://testserver")
    emulated_stripe.set_faults(drop_webhooks=1)
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    event = shopper_stripe.v1.events.list(params={"type": "payment_intent.succeeded"}).data[0]
    payload = json.dumps(json.loads(str(event))).encode()
    path = reverse("stripe_webhook", kwargs={"uuid": endpoint.djstripe_uuid})
    calls_before = emulated_stripe.stats()["api_requests"]

    answers = [
        client.post(path, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload, endpoint.secret))
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    assert emulated_stripe.stats()["api_requests"] == calls_before
    [message] = WebhookMessage.objects.all()
    assert (message.stripe_event_id, message.state, message.attempts) == (event.id, State.RECEIVED, 0)
    assert message.endpoint == endpoint and message.payload["data"]["object"]["id"] == payment.stripe_payment_intent_id


def test_an_event_stored_while_the_broker_is_down_is_processed_by_the_sweep(success_event, webhook_endpoint):
    order, payload = success_event
    # Another process receives the delivery as the endpoint does, with nothing listening
    # where its broker should be.
    receive = (
        "import os\n"
        "from djstripe.models import WebhookEndpoint\n"
        "from payments.paying.inbox import webhook_receive\n"
        f"endpoint = WebhookEndpoint.objects.get(pk={webhook_endpoint.pk})\n"
        "webhook_receive(endpoint=endpoint, payload=os.environb[b'PAYLOAD'], signature=os.environ['SIGNATURE'])\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "PAYLOAD": payload.decode(),
        "SIGNATURE": sign(payload, webhook_endpoint.secret),
    }
    receiving = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", receive], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert receiving.returncode == 0, receiving.stderr
    assert "Error calling" in receiving.stderr and "Connection refused" in receiving.stderr
    message = WebhookMessage.objects.get()
    assert (message.state, message.attempts) == (State.RECEIVED, 0)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT

    assert webhook_inbox_sweep_task.apply_async(ignore_result=False).get(timeout=TASK_TIMEOUT) is None
    message.refresh_from_db()
    assert message.state == State.RECEIVED  # under a minute old: its own task may still come
    WebhookMessage.objects.filter(pk=message.pk).update(received_at=message.received_at - timedelta(minutes=2))
    webhook_inbox_sweep_task.apply_async(ignore_result=False).get(timeout=TASK_TIMEOUT)

    wait_for(lambda: WebhookMessage.objects.filter(pk=message.pk, state=State.PROCESSED).exists(), what="the swept event")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.get(kind="paid").stripe_event_id == message.stripe_event_id


def test_a_failed_attempt_is_retried_by_the_task(place_order, webhook_endpoint, shopper_stripe, emulated_stripe):
    order = place_order()
    payment = payment_start(order_id=order.pk)
    # Stripe fails the handler's retrieve once; the event is already acknowledged.
    emulated_stripe.set_faults(api=[{"path": "/v1/payment_intents/", "method": "GET", "status": 500, "times": 1}])
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_visa")
    assert emulated_stripe.wait_idle(timeout=30)

    message = WebhookMessage.objects.get(type="payment_intent.succeeded")
    assert (message.state, message.attempts, message.last_error) == (State.PROCESSED, 2, "")
    assert [d["status"] for d in emulated_stripe.deliveries() if d["event"] == message.stripe_event_id] == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_every_subscribed_event_has_a_handler():
    assert set(HANDLERS) == set(settings.STRIPE_WEBHOOK_EVENTS)


@pytest.mark.django_db  # not transactional: the queued task is captured, not sent
def test_staff_see_the_inbox_and_process_a_failed_event_again(client, django_capture_on_commit_callbacks):
    message = WebhookMessage.objects.create(
        stripe_event_id="evt_failed",
        type="payment_intent.succeeded",
        payload={"id": "evt_failed", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}}},
        state=State.FAILED,
        attempts=9,
        last_error="PaymentGatewayError: We could not reach our payment provider.",
    )
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookmessage"))
    client.force_login(viewer)
    changelist = reverse("admin:payments_webhookmessage_changelist")
    page = client.get(changelist).content.decode()
    assert "evt_failed" in page and "Failed (retries used up)" in page and "We could not reach" in page
    assert "Process again" not in page  # looking is not processing

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(changelist, {"action": "process_again", "_selected_action": [message.pk]}, follow=True)

    assert "Queued 1 event(s) for processing." in response.content.decode()
    assert len(queued) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (State.RECEIVED, 9)
    assert client.get(reverse("admin:payments_webhookmessage_change", args=[message.pk])).status_code == 200
