"""Staff refunding from the Django admin, driven through the test client as a browser would."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderEvent
from payments import gateway
from payments.models import Refund
from payments.refunds import services as refund_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def order_page(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def refund_page(order):
    return reverse("admin:payments_refund_order", args=[order.pk])


def form_fields(html: str) -> dict[str, str]:
    """The form's inputs as a browser would send them back (name -> value)."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def messages_on(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def staff_client(client, refunder):
    client.force_login(refunder)
    return client


def test_refund_from_the_order_page_form_confirmation_result(staff_client, paid_order):
    page = staff_client.get(order_page(paid_order)).content.decode()
    assert f'href="{refund_page(paid_order)}">Refund</a>' in page
    assert "No refunds." in page

    form = staff_client.get(refund_page(paid_order))
    html = form.content.decode()
    assert "Amount (EUR)" in html and "At most €31.99 is left to refund." in html
    fields = form_fields(html)
    assert fields["amount"] == "31.99"
    piranesi = paid_order.lines.get(title="Piranesi")

    fields.update(amount="12.99", reason="requested_by_customer", note="Arrived damaged", **{f"restock_{piranesi.pk}": "1"})
    confirm = staff_client.post(refund_page(paid_order), {**fields, "review": "Review refund"})
    text = re.sub(r"\s+", " ", confirm.content.decode())
    assert "Refund €12.99 of order" in text
    assert "The order becomes <strong>partially refunded</strong>; €19.00 stays paid" in text
    assert "Back to stock: 1 × Piranesi." in text and "Reason sent to Stripe: Requested by customer." in text
    assert not Refund.objects.exists()

    done = staff_client.post(refund_page(paid_order), {**form_fields(confirm.content.decode()), "confirm": "yes"}, follow=True)
    assert done.redirect_chain[-1][0] == order_page(paid_order)
    assert messages_on(done) == ["Refunded €12.99. The shopper will get an email and an updated receipt."]
    result = re.sub(r"\s+", " ", done.content.decode())
    assert "<td>€12.99</td> <td><strong>Succeeded</strong></td>" in result
    assert "Arrived damaged" in result and "Partially refunded" in result
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PARTIALLY_REFUNDED, 1299)
    piranesi.refresh_from_db()
    assert piranesi.restocked_quantity == 1
    # The rest is what the next form offers.
    assert form_fields(staff_client.get(refund_page(paid_order)).content.decode())["amount"] == "19.00"


def test_double_submitted_confirmation_refunds_once(staff_client, paid_order, emulated_stripe):
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())
    confirm = form_fields(staff_client.post(refund_page(paid_order), {**form, "amount": "5.00"}).content.decode())

    first = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)
    again = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)

    assert messages_on(first) == ["Refunded €5.00. The shopper will get an email and an updated receipt."]
    refund = Refund.objects.get()
    assert messages_on(again) == [
        STALE.format(number=paid_order.number),
        f"Since this form was opened, by {refund.created_by}: €5.00 refunded (Stripe id {refund.stripe_refund_id}).",
    ]
    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 500


STALE = (
    "Order {number} has changed since this form was opened (a refund was made or settled meanwhile). "
    "This submission refunded nothing more."
)


def open_and_confirm(staff_client, order, amount: str) -> dict[str, str]:
    """The confirmation page's fields for a refund of `amount`, as its 'Yes, refund' sends them."""
    form = form_fields(staff_client.get(refund_page(order)).content.decode())
    return form_fields(staff_client.post(refund_page(order), {**form, "amount": amount}).content.decode())


def test_double_submit_reads_back_the_first_refund_stripe_settled_without_a_webhook(staff_client, paid_order, emulated_stripe):
    emulated_stripe.configure(refunds="pending_succeeded")
    emulated_stripe.set_faults(drop_webhooks=1)
    confirm = open_and_confirm(staff_client, paid_order, "5.00")

    first = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)
    assert messages_on(first) == ["Stripe is processing the refund of €5.00; the order changes once Stripe confirms it."]
    assert emulated_stripe.wait_idle(timeout=15)  # settled at Stripe; its webhook is lost
    again = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)

    refund = Refund.objects.get()
    assert refund.status == Refund.Status.SUCCEEDED
    assert messages_on(again)[1] == (
        f"Since this form was opened, by {refund.created_by}: €5.00 refunded (Stripe id {refund.stripe_refund_id})."
    )
    assert "<td>€5.00</td> <td><strong>Succeeded</strong></td>" in re.sub(r"\s+", " ", again.content.decode())
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_amount) == (Order.Status.PARTIALLY_REFUNDED, 500)


def test_a_break_after_stripe_refunded_is_reported_as_refunded_never_as_nothing(staff_client, paid_order, emulated_stripe, monkeypatch):
    apply_answer = refund_services.refund_apply
    broke = []

    def break_once_for_staff(*, stripe_refund, actor):
        # The admin's own application of Stripe's answer breaks (the webhook's, in the worker, does not).
        if actor.kind == OrderEvent.Actor.STAFF and not broke:
            broke.append(stripe_refund["id"])
            raise RuntimeError("database is locked")
        return apply_answer(stripe_refund=stripe_refund, actor=actor)

    monkeypatch.setattr(refund_services, "refund_apply", break_once_for_staff)
    confirm = open_and_confirm(staff_client, paid_order, "5.00")

    first = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)
    assert first.status_code == 200 and broke
    assert messages_on(first)[0] == f"Something went wrong in the shop while refunding order {paid_order.number}."
    assert emulated_stripe.wait_idle(timeout=15)  # Stripe's notification arrives
    reload = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)

    refund = Refund.objects.get()
    assert refund.stripe_refund_id == broke[0]
    assert messages_on(reload) == [
        STALE.format(number=paid_order.number),
        f"Since this form was opened, by {refund.created_by}: €5.00 refunded (Stripe id {broke[0]}).",
    ]
    assert not any("nothing was refunded" in message for message in messages_on(first) + messages_on(reload))
    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 500


def test_a_break_before_the_refund_was_written_says_nothing_was_refunded(staff_client, paid_order, emulated_stripe, monkeypatch):
    def locked(order_id):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(refund_services, "lock_order", locked)
    confirm = open_and_confirm(staff_client, paid_order, "5.00")

    done = staff_client.post(refund_page(paid_order), {**confirm, "confirm": "yes"}, follow=True)

    assert messages_on(done) == [
        f"Something went wrong in the shop while refunding order {paid_order.number}.",
        "Nothing was sent to Stripe: nothing was refunded.",
    ]
    assert not Refund.objects.exists()


def test_a_refund_answered_pending_and_left_so_is_read_back_on_the_order_page_one_per_view(
    staff_client, refunder, paid_order, emulated_stripe
):
    emulated_stripe.configure(refunds="pending_succeeded")
    emulated_stripe.set_faults(drop_webhooks=1)
    for amount in (200, 300):
        refund_services.refund_create(
            order_id=paid_order.pk, amount=amount, reason="", note="", restock={}, staff_user=refunder
        )
    assert emulated_stripe.wait_idle(timeout=15)  # both settled at Stripe; their webhooks are lost
    assert set(Refund.objects.values_list("status", flat=True)) == {Refund.Status.PENDING}
    # Quiet for longer than a webhook takes.
    Refund.objects.update(updated_at=timezone.now() - timedelta(minutes=5))

    page = re.sub(r"\s+", " ", staff_client.get(order_page(paid_order)).content.decode())

    assert sorted(Refund.objects.values_list("amount", "status")) == [(200, "succeeded"), (300, "pending")]
    assert "<td>€2.00</td> <td><strong>Succeeded</strong></td>" in page
    assert "<td>€3.00</td> <td><strong>Pending</strong></td>" in page
    paid_order.refresh_from_db()
    assert paid_order.refunded_amount == 200
    staff_client.get(order_page(paid_order))
    assert set(Refund.objects.values_list("status", flat=True)) == {Refund.Status.SUCCEEDED}


def test_form_refuses_bad_amounts(staff_client, paid_order):
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())

    bad = staff_client.post(refund_page(paid_order), {**form, "amount": "12.345"}).content.decode()
    assert "Enter an amount in EUR, such as 12.50." in bad
    too_much = staff_client.post(refund_page(paid_order), {**form, "amount": "40", "confirm": "yes"}).content.decode()
    assert "A refund of €40.00 is more than the €31.99 left to refund" in too_much
    restock = staff_client.post(refund_page(paid_order), {**form, f"restock_{paid_order.lines.first().pk}": "5"})
    assert "Ensure this value is less than or equal to 1." in restock.content.decode()
    assert not Refund.objects.exists()


def test_review_refuses_more_than_is_left_at_the_first_step_and_stripe_is_not_asked(staff_client, paid_order, monkeypatch):
    asked = []
    monkeypatch.setattr(gateway, "refund_create", lambda **kwargs: asked.append(kwargs))
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())

    review = staff_client.post(refund_page(paid_order), {**form, "amount": "999,999", "review": "Review refund"})

    html = review.content.decode()
    assert review.templates[0].name == "admin/payments/refund_form.html"
    assert review.context["form"].errors["amount"] == [
        f"A refund of €999,999.00 is more than the €31.99 left to refund on order {paid_order.number}."
    ]
    assert "Review refund" in html and "stays paid" not in html and "Yes, refund" not in html
    assert asked == [] and not Refund.objects.exists()


def test_copies_promised_by_a_refund_in_flight_are_refused_beside_their_line(staff_client, paid_order):
    piranesi = paid_order.lines.get(title="Piranesi")
    Refund.objects.create(
        order=paid_order, payment=paid_order.payment, amount=500, currency="EUR", restock={str(piranesi.pk): 1}
    )
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())

    review = staff_client.post(refund_page(paid_order), {**form, "amount": "1.00", f"restock_{piranesi.pk}": "1"})

    assert review.context["form"].errors == {
        f"restock_{piranesi.pk}": ["“Piranesi”: at most 0 of the 1 copies bought can go back to stock."]
    }
    assert "stays paid" not in review.content.decode()


def test_stripe_failure_is_shown_on_the_order_page(staff_client, paid_order, emulated_stripe):
    emulated_stripe.set_faults(api=[{"path": "/v1/refunds", "method": "POST", "status": 500}])
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())
    done = staff_client.post(refund_page(paid_order), {**form, "confirm": "yes"}, follow=True)

    assert messages_on(done)[0].startswith("The refund of €31.99 failed: We could not reach our payment provider.")
    assert "<strong>Failed</strong>: We could not reach our payment provider." in done.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PAID


def test_staff_without_the_permission_see_no_button_and_get_403(client, paid_order):
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    client.force_login(clerk)

    page = client.get(order_page(paid_order))
    assert page.status_code == 200 and refund_page(paid_order) not in page.content.decode()
    assert client.get(refund_page(paid_order)).status_code == 403
    assert client.post(refund_page(paid_order), {"amount": "1.00", "confirm": "yes"}).status_code == 403
    assert not Refund.objects.exists()


def test_shoppers_are_sent_to_the_admin_login(client, paid_order):
    client.force_login(UserFactory())
    response = client.get(refund_page(paid_order))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_no_button_on_unpaid_or_fully_refunded_orders(staff_client, place_order, paid_order, emulated_stripe):
    unpaid = place_order()
    assert refund_page(unpaid) not in staff_client.get(order_page(unpaid)).content.decode()
    redirected = staff_client.get(refund_page(unpaid), follow=True)
    assert "there is nothing left to refund" in messages_on(redirected)[0]

    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())
    staff_client.post(refund_page(paid_order), {**form, "confirm": "yes"})
    assert refund_page(paid_order) not in staff_client.get(order_page(paid_order)).content.decode()


def test_refund_list_shows_state_reason_and_order(staff_client, paid_order, emulated_stripe):
    emulated_stripe.configure(refunds="pending_failed")
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())
    staff_client.post(refund_page(paid_order), {**form, "amount": "3.00", "confirm": "yes"})
    assert emulated_stripe.wait_idle(timeout=15)

    listing = staff_client.get(reverse("admin:payments_refund_changelist")).content.decode()
    assert "The card has expired or was canceled" in listing and "€3.00" in listing
    assert f'href="{order_page(paid_order)}">{paid_order.number}</a>' in listing
    failed_filter = staff_client.get(reverse("admin:payments_refund_changelist"), {"status__exact": "failed"})
    assert failed_filter.context["cl"].result_count == 1


def test_order_list_filters_by_refund_state(staff_client, paid_order, place_order, emulated_stripe):
    place_order()
    form = form_fields(staff_client.get(refund_page(paid_order)).content.decode())
    staff_client.post(refund_page(paid_order), {**form, "amount": "1.00", "confirm": "yes"})

    changelist = reverse("admin:orders_order_changelist")
    refunded = staff_client.get(changelist, {"refund_state": "succeeded"})
    assert [order.number for order in refunded.context["cl"].result_list] == [paid_order.number]
    assert "By refund state" in refunded.content.decode()
    assert staff_client.get(changelist, {"refund_state": "none"}).context["cl"].result_count == 1
    assert staff_client.get(changelist, {"refund_state": "failed"}).context["cl"].result_count == 0
