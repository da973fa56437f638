"""/healthz and /readyz: what a load balancer sees when all is up, and when a part is down."""

import json
import logging
import os
import subprocess
import sys

import pytest

from bookstore.celery import app as celery_app
from ops import health
from tests.celery_fixtures import ROOT, subprocess_database_url

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"

# /readyz asked in a process of its own, whose settings come from the environment given.
ASK_READYZ = """
import json
from django.test import Client
answer = Client().get("/readyz")
print(json.dumps({"code": answer.status_code, "body": answer.json()}))
"""


@pytest.fixture(autouse=True)
def fresh_stripe_answer(monkeypatch):
    # The Stripe check's answer is kept for a while in the process: each test asks afresh.
    monkeypatch.setattr(health, "_stripe_answer", None)


def readyz_in_a_process(**environment: str) -> tuple[int, dict]:
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), **environment}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ASK_READYZ], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["code"], answer["body"]


def test_healthz_answers_without_asking_anything(client):
    # No `db` fixture: a query would fail the test.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "sessionid" not in response.cookies


def test_ready_when_every_part_is_up(db, client, emulated_stripe):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            name: {"status": "ok"} for name in ("database", "migrations", "cache", "broker", "stripe")
        },
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_stripe_down_is_reported_but_keeps_the_shop_in_the_load_balancer(db, client, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["stripe"] == {"status": "failed", "reason": "unreachable"}
    assert body["checks"]["database"] == {"status": "ok"}


def test_the_stripe_answer_is_kept_between_probes(db, client, settings, emulated_stripe):
    assert client.get("/readyz").json()["checks"]["stripe"] == {"status": "ok"}
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"

    # Probes every few seconds spend no Stripe calls: the answer is the one kept.
    assert client.get("/readyz").json()["checks"]["stripe"] == {"status": "ok"}


def test_not_ready_when_the_broker_is_down(db, client, monkeypatch, caplog):
    monkeypatch.setitem(celery_app.conf, "broker_url", CLOSED_PORT_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_read_url", CLOSED_PORT_REDIS)

    response = client.get("/readyz")

    # The failure is logged once, as a warning with its cause; a 503 probe is no error report.
    assert [record.levelname for record in caplog.records if "broker failed" in record.getMessage()] == ["WARNING"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"status": "failed", "reason": "unreachable"}
    assert body["checks"]["database"] == body["checks"]["cache"] == {"status": "ok"}


def test_not_ready_when_redis_is_down(transactional_db):
    code, body = readyz_in_a_process(REDIS_URL=CLOSED_PORT_REDIS)

    assert code == 503
    assert body["checks"]["cache"] == {"status": "failed", "reason": "unreachable"}
    assert body["checks"]["broker"] == {"status": "failed", "reason": "unreachable"}
    assert body["checks"]["database"] == body["checks"]["migrations"] == {"status": "ok"}


def test_not_ready_when_the_database_is_down(transactional_db):
    code, body = readyz_in_a_process(DATABASE_URL="postgres://postgres@127.0.0.1:1/bookstore")

    assert code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "failed", "reason": "unreachable"}
    assert body["checks"]["cache"] == body["checks"]["broker"] == {"status": "ok"}


def test_the_answer_names_no_host_port_or_version(db, client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", CLOSED_PORT_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_read_url", CLOSED_PORT_REDIS)

    text = client.get("/readyz").content.decode()

    assert "127.0.0.1" not in text and "redis" not in text.lower() and "Error" not in text
