"""The order confirmation email: sent once per order through the worker, saying what is
reserved and until when, where to pay and, for a guest, the secret link back to the order."""

import re
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from bookstore.templatetags.shop import shop_time
from orders.confirmation import CONFIRMATION_SWEEP_GRACE, order_confirmation_send, order_confirmations_sweep
from orders.models import Order, OrderEvent
from orders.services import Actor, order_cancel, order_place
from payments.tasks import order_confirmation_send_task
from tests.celery_fixtures import TASK_TIMEOUT, wait_for
from tests.factories import BookFactory, CartLineFactory, shipping_address

pytestmark = pytest.mark.django_db

SUBJECT = re.compile(r"^Order [0-9A-Z]{7} received: your books are reserved$")


def guest_order(email: str = "guest@example.com") -> Order:
    cart = CartLineFactory(book=BookFactory(title="The Glass Archive", author="Mira Holt", price_amount=1250), quantity=2).cart
    return order_place(cart=cart, email=email, shipping=shipping_address(name="Ada Guest"))


def text_of(message) -> str:
    return message.body if hasattr(message, "body") else message.get_body(("plain",)).get_content()


def test_a_guest_reads_what_is_reserved_until_when_where_to_pay_and_the_link_back():
    order = guest_order()

    assert order_confirmation_send(order_id=order.pk) is True

    [message] = mail.outbox
    assert message.to == ["guest@example.com"] and SUBJECT.match(message.subject)
    text = message.body
    assert "Hello Ada Guest" in text and order.number in text
    assert f"We are holding these books for you until {shop_time(order.reserved_until)}" in text
    assert "2 × The Glass Archive, Mira Holt: €25.00" in text and "Total: €25.00" in text
    assert f"Pay here before then: {settings.SHOP_URL}/pay/orders/{order.number}/{order.access_key}/" in text
    assert f"{settings.SHOP_URL}/orders/{order.number}/{order.access_key}/" in text
    assert "your way back to your order" in text
    html = message.alternatives[0][0]
    assert f'href="{settings.SHOP_URL}/pay/orders/{order.number}/{order.access_key}/"' in html
    assert shop_time(order.reserved_until) in html


def test_a_signed_in_shopper_gets_their_account_links_without_a_key(user):
    cart = CartLineFactory().cart
    order = order_place(cart=cart, email=user.email, shipping=shipping_address(), user=user)

    order_confirmation_send(order_id=order.pk)

    [message] = mail.outbox
    assert f"Pay here before then: {settings.SHOP_URL}/pay/orders/{order.number}/\n" in message.body
    assert f"Your order: {settings.SHOP_URL}/orders/{order.number}/\n" in message.body
    assert order.access_key not in message.body and order.access_key not in message.alternatives[0][0]


def test_sending_twice_sends_once_and_the_history_says_so():
    order = guest_order()

    assert [order_confirmation_send(order_id=order.pk) for _ in range(2)] == [True, False]

    assert len(mail.outbox) == 1
    [event] = order.events.filter(kind=OrderEvent.Kind.CONFIRMATION_SENT)
    assert event.message == "Order confirmation emailed to guest@example.com."


def test_an_order_canceled_before_the_worker_got_to_it_gets_no_confirmation():
    order = guest_order()
    order_cancel(order_id=order.pk, actor=Actor.system(), reason="Replaced by a new checkout of its cart.")

    assert order_confirmation_send(order_id=order.pk) is False
    assert mail.outbox == []


def test_the_sweep_queues_the_confirmations_a_lost_broker_left_unsent(django_capture_on_commit_callbacks):
    lost, sent, young, canceled = (guest_order() for _ in range(4))
    order_confirmation_send(order_id=sent.pk)
    order_cancel(order_id=canceled.pk, actor=Actor.system(), reason="Unpaid when its reservation expired.")
    placed_before = timezone.now() - CONFIRMATION_SWEEP_GRACE - timedelta(seconds=1)
    Order.objects.exclude(pk=young.pk).update(created_at=placed_before)

    with django_capture_on_commit_callbacks() as queued:
        assert order_confirmations_sweep() == [lost.pk]
    assert [callback.__qualname__ for callback in queued] == ["queue_after_commit(payments.order_confirmation_send)"]


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_email():
    order = guest_order()
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(order_confirmation_send(order_id=order.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True]
    assert len(mail.outbox) == 1
    assert order.events.filter(kind=OrderEvent.Kind.CONFIRMATION_SENT).count() == 1


@pytest.mark.django_db(transaction=True)
def test_placing_an_order_emails_its_confirmation_through_the_worker_once_even_when_the_task_runs_again(
    client, celery_worker
):
    book = BookFactory(title="Salt and Ember", price_amount=900, stock=3)
    client.post("/cart/add/", {"book": book.pk, "quantity": 1})
    page = client.get("/orders/checkout/").content.decode()
    token = re.search(r'name="checkout_token" value="([^"]+)"', page).group(1)
    address = {"name": "Ada Guest", "line1": "1 Quay Street", "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE"}
    client.post("/orders/checkout/", {**address, "email": "worker-once@example.com", "checkout_token": token})
    order = Order.objects.get()

    [message] = wait_for(lambda: celery_worker.sent_emails(to="worker-once@example.com"), what="the confirmation email")
    assert SUBJECT.match(message["Subject"]) and order.number in message["Subject"]
    text = text_of(message)
    assert f"until {shop_time(order.reserved_until)}" in text
    assert f"{settings.SHOP_URL}/pay/orders/{order.number}/{order.access_key}/" in text

    # A redelivered task, twice: it finds the confirmation sent.
    for _ in range(2):
        order_confirmation_send_task.apply_async(kwargs={"order_id": order.pk}, ignore_result=False).get(timeout=TASK_TIMEOUT)
    assert len(celery_worker.sent_emails(to="worker-once@example.com")) == 1
    assert order.events.filter(kind=OrderEvent.Kind.CONFIRMATION_SENT).count() == 1
