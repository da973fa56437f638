"""Log lines that tie together: one correlation id and the order number across web, webhook and worker."""

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from bookstore.logs import ContextFilter
from tests.celery_fixtures import ROOT, wait_for


class Lines(logging.Handler):
    """The records this process logs, with the context the shop's handler adds (bookstore/logs.py)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.addFilter(ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def web_lines():
    # Asked for first by a test, so it hears the deliveries its other fixtures cause.
    lines = Lines()
    root = logging.getLogger()
    root.addHandler(lines)
    yield lines.records
    root.removeHandler(lines)


def worker_lines(worker) -> list[dict]:
    """The worker's log, one JSON object a line (its banner and other plain lines left out)."""
    lines = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            lines.append(record)
    return lines


def test_a_sane_request_id_is_kept_and_returned(db, client, web_lines):
    response = client.get("/", headers={"X-Request-ID": "lb-7f3a9c2e-0001"})

    assert response["X-Request-ID"] == "lb-7f3a9c2e-0001"
    (line,) = [record for record in web_lines if record.name == "ops.requests"]
    assert line.correlation_id == "lb-7f3a9c2e-0001"
    assert line.getMessage().startswith("GET / 200")


@pytest.mark.parametrize("offered", ["", "short", "has spaces in it", "x" * 200, "evil\r\nInjected: yes"])
def test_any_other_request_id_is_replaced_by_a_new_one(db, client, offered):
    response = client.get("/", headers={"X-Request-ID": offered} if offered else {})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_one_orders_lines_share_its_ids_across_web_webhook_and_worker(web_lines, client, paid_order, celery_worker):
    number = paid_order.number

    # The shopper's page: the request's id and the order from its URL, on its line and its answer.
    client.force_login(paid_order.user)
    response = client.get(f"/pay/orders/{number}/status/", headers={"X-Request-ID": "shopper-page-0001"})
    assert response.status_code == 200 and response["X-Request-ID"] == "shopper-page-0001"
    page_line = next(record for record in web_lines if record.name == "ops.requests" and number in record.getMessage())
    assert (page_line.correlation_id, page_line.order) == ("shopper-page-0001", number)

    # The worker processed the payment's webhook with the delivery's correlation id, and named the order.
    def processed_line():
        return next(
            (
                line
                for line in worker_lines(celery_worker)
                if "(payment_intent.succeeded) processed" in line["message"] and line["order"] == number
            ),
            None,
        )

    processed = wait_for(processed_line, what="the worker's line for the processed payment_intent.succeeded")
    correlation = processed["correlation_id"]
    assert correlation

    # The delivery itself, on the web side (the live server), under that same id.
    assert wait_for(
        lambda: [
            record
            for record in web_lines
            if record.correlation_id == correlation and record.getMessage().startswith("POST /stripe/webhook/")
        ],
        what="the webhook delivery's request line",
        timeout=5,
    )

    # The receipt the payment queued: another task, the same id and order.
    receipt = wait_for(
        lambda: [
            line
            for line in worker_lines(celery_worker)
            if "payments.receipt_deliver" in line["message"] and "succeeded" in line["message"]
        ],
        what="the receipt task's line",
    )
    assert [(line["correlation_id"], line["order"]) for line in receipt] == [(correlation, number)]


LOG_ONE_LINE = "import logging; logging.getLogger('shop.test').warning('hello %s', 'there')"


def log_in_a_process(**environment: str) -> str:
    env = {**os.environ, **environment}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", LOG_ONE_LINE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stderr.splitlines() if "hello there" in line)


def test_production_logs_one_json_object_a_line():
    line = json.loads(log_in_a_process(DJANGO_DEBUG="false"))

    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "shop.test", "hello there")
    assert {"time", "correlation_id", "order"} <= line.keys()


def test_development_logs_readable_lines():
    line = log_in_a_process(DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")

    assert re.fullmatch(r"\S+ \S+ WARNING shop\.test \[ \] hello there", line)


SENTRY_ACTIVE = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"


@pytest.mark.parametrize("dsn, active", [("", "False"), ("https://public@127.0.0.1:9/1", "True")])
def test_sentry_reports_only_with_a_dsn(dsn, active):
    env = {**os.environ, "SENTRY_DSN": dsn}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SENTRY_ACTIVE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == active
