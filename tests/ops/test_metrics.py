"""/metrics: who may read it, and its figures moving when an order is paid."""

import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orders.models import Order
from payments.documents.services import receipt_render
from payments.paying.services import payment_start
from tests.celery_fixtures import ROOT, subprocess_database_url
from tests.factories import UserFactory
from tests.payments.receipt_support import make_paid_order
from tests.stripe_fixtures import confirm_with

TOKEN = "scraper-token-" + "x" * 32


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample of one scrape, by name and sorted labels."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name: str, **labels) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    return sum(v for (n, sample_labels), v in samples.items() if n == name and set(labels.items()) <= set(sample_labels))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer "}],
    ids=["nothing", "a wrong token", "not a bearer", "an empty token"],
)
def test_metrics_are_not_found_without_staff_or_the_token(db, client, settings, headers):
    settings.METRICS_TOKEN = TOKEN

    assert client.get("/metrics", headers=headers).status_code == 404


def test_no_token_set_lets_no_token_in(db, client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_shopper_signed_in_gets_not_found(db, client):
    client.force_login(UserFactory())

    assert client.get("/metrics").status_code == 404


def test_staff_signed_in_and_the_token_read_metrics(db, client, settings, staff_user):
    settings.METRICS_TOKEN = TOKEN
    assert "bookstore_orders" in client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()

    client.force_login(staff_user)
    assert "bookstore_webhook_inbox_lag_seconds" in client.get("/metrics").content.decode()


def test_metrics_move_when_an_order_is_paid(client, staff_user, pay_with):
    client.force_login(staff_user)
    before = scrape(client)

    order = pay_with("pm_card_visa")
    after = scrape(client)

    assert order.status == Order.Status.PAID
    assert value(after, "bookstore_orders", state="paid") == value(before, "bookstore_orders", state="paid") + 1
    assert value(after, "bookstore_payments", outcome="succeeded", decline_code="") == (
        value(before, "bookstore_payments", outcome="succeeded", decline_code="") + 1
    )
    # Its payment_intent.succeeded at least, processed by the worker.
    assert value(after, "bookstore_webhook_events", state="processed") > value(before, "bookstore_webhook_events", state="processed")
    assert value(after, "bookstore_webhook_inbox_lag_seconds") == 0
    # payment_start created its PaymentIntent from this process, through the gateway's client.
    create = {"method": "POST", "endpoint": "/v1/payment_intents"}
    assert value(after, "bookstore_stripe_requests_total", status="200", **create) == (
        value(before, "bookstore_stripe_requests_total", status="200", **create) + 1
    )
    assert value(after, "bookstore_stripe_request_seconds_count", **create) == (
        value(before, "bookstore_stripe_request_seconds_count", **create) + 1
    )
    assert ("bookstore_celery_queue_length", (("queue", "celery"),)) in after
    assert ("bookstore_celery_queue_length", (("queue", "stripe"),)) in after


def test_a_declined_payment_counts_under_its_decline_code(
    client, staff_user, place_order, webhook_endpoint, shopper_stripe, emulated_stripe
):
    client.force_login(staff_user)
    order = place_order()
    payment = payment_start(order_id=order.pk)
    confirm_with(shopper_stripe, payment.stripe_payment_intent_id, "pm_card_chargeDeclinedInsufficientFunds")
    assert emulated_stripe.wait_idle(timeout=15)

    samples = scrape(client)

    assert value(samples, "bookstore_payments", outcome="requires_payment_method", decline_code="insufficient_funds") == 1


# Counters of several processes, added up: what gunicorn's workers and Celery's pool need.
COUNT_ONE_REFUSAL = "from bookstore import metrics; metrics.STRIPE_LIMITER_REFUSED.inc()"
PRINT_METRICS = "from ops.metrics import metrics_page; print(metrics_page().decode())"


def test_multiprocess_mode_adds_up_every_process(transactional_db, tmp_path):
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def manage_shell(command: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage_shell(COUNT_ONE_REFUSAL)
    manage_shell(COUNT_ONE_REFUSAL)
    output = manage_shell(PRINT_METRICS)
    page = output[output.index("# HELP") :]

    samples = {sample.name: sample.value for family in text_string_to_metric_families(page) for sample in family.samples}
    assert samples["bookstore_stripe_limiter_refused_total"] == 2
    assert "bookstore_orders" in page


def test_a_receipt_render_is_counted_with_its_time(db, client, staff_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = make_paid_order()
    client.force_login(staff_user)
    before = scrape(client)

    receipt_render(order_id=order.pk)
    after = scrape(client)

    rendered = {"document": "receipt", "outcome": "rendered"}
    assert value(after, "bookstore_documents_rendered_total", **rendered) == value(before, "bookstore_documents_rendered_total", **rendered) + 1
    assert value(after, "bookstore_document_render_seconds_count", document="receipt") == (
        value(before, "bookstore_document_render_seconds_count", document="receipt") + 1
    )
    assert value(after, "bookstore_documents_unrendered", document="receipt") == 0
