"""Receipts through real Redis and a real Celery worker process (tests/celery_fixtures.py).

Transactional tests: the worker is another process and sees committed rows only.
"""

import hashlib
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookstore.money import format_money
from orders.models import Order
from payments.models import Receipt
from payments.documents.services import receipt_request
from payments.tasks import receipt_deliver_task, receipts_sweep_task
from tests.celery_fixtures import ROOT, TASK_TIMEOUT, subprocess_database_url, wait_for
from tests.payments.receipt_support import make_paid_order, pdf_text

pytestmark = pytest.mark.django_db(transaction=True)


def _emailed_receipt(order: Order) -> Receipt | None:
    return Receipt.objects.filter(order=order, emailed_at__isnull=False).first()


def test_paying_produces_one_receipt_pdf_and_one_email_with_it(celery_worker):
    order = make_paid_order(
        email="paid-once@example.com", books=[("The Master and Margarita", 1450, 1), ("Bleak House", 1099, 3)]
    )
    with transaction.atomic():  # as the payment-success handler does, inside its transaction
        receipt_request(order_id=order.pk)

    receipt = wait_for(lambda: _emailed_receipt(order), what="the receipt to be emailed")

    assert Receipt.objects.filter(order=order).count() == 1
    data = receipt.pdf.read()
    assert hashlib.sha256(data).hexdigest() == receipt.sha256
    text = pdf_text(data)
    for expected in [order.number, "The Master and Margarita", "Bleak House", format_money(4747, "EUR")]:
        assert expected in text
    [message] = celery_worker.sent_emails(to="paid-once@example.com", subject="Your receipt")
    assert message["Subject"] == f"Your receipt {receipt.display_number} for order {order.number}"
    [attachment] = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"receipt-{receipt.display_number}.pdf"
    assert attachment.get_content() == data


def test_a_pool_process_starts_with_weasyprint_the_worker_imported_before_forking_it(celery_worker):
    # Not imported for its first document, nor again after each --max-tasks-per-child recycling.
    [pool_process] = celery_worker.pool_pids()
    for pid in (celery_worker.process.pid, pool_process):
        assert "libpango" in Path(f"/proc/{pid}/maps").read_text()


def test_delivering_twice_keeps_one_receipt_one_number_and_one_email(celery_worker):
    order = make_paid_order(email="twice@example.com")

    results = [receipt_deliver_task.apply_async(kwargs={"order_id": order.pk}, ignore_result=False) for _ in range(2)]
    for result in results:
        result.get(timeout=TASK_TIMEOUT)

    [receipt] = Receipt.objects.filter(order=order)
    assert receipt.emailed_at is not None
    assert Receipt.objects.filter(number__gt=receipt.number).count() == 0
    assert len(celery_worker.sent_emails(to="twice@example.com", subject="Your receipt")) == 1


def _test_db_connection(**kwargs) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"] or None, dbname=db["NAME"], **kwargs
    )


def test_a_worker_killed_mid_task_leads_to_one_receipt_once_a_worker_runs_again(celery_worker):
    order = make_paid_order(email="killed@example.com")
    # Holding the order's row lock parks the task inside receipt_issue, mid-task, where the
    # worker can be killed deterministically.
    with _test_db_connection() as holder, _test_db_connection(autocommit=True) as watcher:
        holder.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [order.pk])
        receipt_deliver_task.delay(order_id=order.pk)

        def task_waits_for_the_lock() -> bool:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s",
                [holder.info.backend_pid],
            ).fetchone()
            return row[0] > 0

        wait_for(task_waits_for_the_lock, what="the task to wait for the order's lock")
        [killed] = celery_worker.pool_pids()
        os.kill(killed, signal.SIGKILL)
        # acks_late + reject_on_worker_lost: the message goes back to the queue and the
        # worker's next pool process takes it.
        wait_for(lambda: celery_worker.pool_pids() not in ([], [killed]), what="a new pool process")
        holder.rollback()

    receipt = wait_for(lambda: _emailed_receipt(order), what="the receipt to be emailed after the kill")
    assert Receipt.objects.filter(order=order).count() == 1
    assert Receipt.objects.count() == 1 and receipt.number == 1
    assert len(celery_worker.sent_emails(to="killed@example.com", subject="Your receipt")) == 1
    assert "WorkerLostError" in celery_worker.log_tail(200)


def test_a_payment_recorded_while_the_broker_is_down_gets_its_receipt_from_the_beat_sweep(celery_worker):
    order = make_paid_order(email="swept@example.com")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PENDING_PAYMENT, paid_at=None)
    # Another process pays the order as the payment webhook would, with nothing listening
    # where its broker should be.
    pay = (
        "from django.db import transaction\n"
        "from orders.services import Actor, order_mark_paid\n"
        "from payments.documents.services import receipt_request\n"
        "with transaction.atomic():\n"
        f"    order_mark_paid(order_id={order.pk}, actor=Actor.system())\n"
        f"    receipt_request(order_id={order.pk})\n"
    )
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "REDIS_URL": "redis://127.0.0.1:1/0"}
    paying = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", pay], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert paying.returncode == 0, paying.stderr
    assert "Error calling" in paying.stderr and "Connection refused" in paying.stderr
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert not Receipt.objects.filter(order=order).exists()

    # Beat runs the sweep every few minutes; past the grace period the order is picked up.
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(minutes=10))
    receipts_sweep_task.apply_async(ignore_result=False).get(timeout=TASK_TIMEOUT)

    wait_for(lambda: _emailed_receipt(order), what="the swept receipt to be emailed")
    assert len(celery_worker.sent_emails(to="swept@example.com", subject="Your receipt")) == 1
