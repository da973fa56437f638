"""A real Celery worker for the tests: a subprocess on the test Redis db and the test database.

`celery_worker` starts a worker (prefork, one pool process, consuming every queue the
settings route tasks to) for the test that asks for it, after purging those queues, and stops
it when the test ends. The worker is another process, so:

- tests that use it must be `django_db(transaction=True)`: it sees committed rows only;
- it writes receipts to its own MEDIA_ROOT, which the fixture hands to the test's settings;
- it sends email with Django's file backend into a folder the test reads (`sent_emails`);
- it talks to the session's Stripe emulator (it processes the webhook inbox).
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).with_name("celery")
# Generous: the machine's two cores are shared with other test runs.
STARTUP_TIMEOUT = 90
TASK_TIMEOUT = 90


def wait_for(predicate: Callable[[], object], *, what: str, timeout: float = TASK_TIMEOUT):
    """Poll until `predicate()` is truthy and return it; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up waiting for {what} after {timeout} s.")
        time.sleep(0.1)


def subprocess_database_url() -> str:
    """The URL of pytest-django's test database, for other processes."""
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def all_queues() -> list[str]:
    """Celery's default queue and every queue CELERY_TASK_ROUTES sends a task to."""
    return list(dict.fromkeys(["celery", *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())]))


def purge_queues(queues: list[str]) -> None:
    """Drop the messages waiting in `queues` (`app.control.purge` empties only the default queue)."""
    from bookstore.celery import app

    with app.connection_for_write() as connection:
        for queue in queues:
            connection.default_channel.queue_purge(queue)


@dataclass
class CeleryWorker:
    media_root: Path
    mail_dir: Path
    log_path: Path
    stripe_url: str
    name: str = field(default_factory=lambda: f"tests-{uuid.uuid4().hex[:8]}@localhost")
    max_tasks_per_child: int = 20
    concurrency: int = 1
    # The shop runs two workers (Procfile): prefork on "celery", threads on "stripe"; the
    # tests' one worker takes both queues.
    pool: str = "prefork"
    queues: list[str] = field(default_factory=all_queues)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            # pytest-django's test database, not the one DATABASE_URL names.
            "DATABASE_URL": subprocess_database_url(),
            # No connection kept between tasks: the test run may drop the database at the end.
            "DATABASE_CONN_MAX_AGE": "0",
            "DJANGO_MEDIA_ROOT": str(self.media_root),
            # Four slashes: an absolute path for django-environ's filemail URL.
            "EMAIL_URL": f"filemail:///{self.mail_dir}",
            "STRIPE_EMULATOR_URL": self.stripe_url,
            "STRIPE_MAX_NETWORK_RETRIES": "0",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "tests-only-secret-key"),
        }
        command = [
            str(CELERY), "-A", "bookstore", "worker", "--pool", self.pool, "--concurrency", str(self.concurrency),
            "--queues", ",".join(self.queues),
            "--max-tasks-per-child", str(self.max_tasks_per_child), "--prefetch-multiplier", "1", "--loglevel", "INFO",
            "--hostname", self.name, "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        from bookstore.celery import app

        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"The Celery worker exited with {self.process.returncode}:\n{self.log_tail()}")
            return bool(app.control.ping(destination=[self.name], timeout=0.5))

        wait_for(answers, what="the Celery worker to answer a ping", timeout=STARTUP_TIMEOUT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def pool_pids(self) -> list[int]:
        """The pids of the worker's pool processes (the ones that run tasks)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def sent_emails(self, to: str, subject: str = "") -> list[EmailMessage]:
        """Every message the worker has sent to `to` (Django's file backend, one file per send),
        only those whose subject starts with `subject` if given (an order's confirmation comes too)."""
        separator = b"\n" + b"-" * 79 + b"\n"
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(separator):
                if chunk.strip():
                    message = email.message_from_bytes(chunk, policy=email.policy.default)
                    if to in message.get("To", "") and message.get("Subject", "").startswith(subject):
                        messages.append(message)
        return messages


@pytest.fixture
def _celery_worker_process(django_db_setup, tmp_path_factory, stripe_emulator):
    # One worker per test, stopped before the test's database is flushed: a worker that
    # outlived its test would pick up tasks other tests queue (a paid order's receipt) and
    # work on rows while the flush truncates them (a deadlock), or write rows mid-test.
    base = tmp_path_factory.mktemp("celery-worker")
    worker = CeleryWorker(
        media_root=base / "media", mail_dir=base / "mail", log_path=base / "worker.log", stripe_url=stripe_emulator.url
    )
    worker.media_root.mkdir()
    worker.mail_dir.mkdir()
    # Messages left in the test Redis db by an earlier run name rows of another database.
    purge_queues(worker.queues)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_celery_worker_process, settings) -> CeleryWorker:
    """The session's worker, running; this test reads the files it writes."""
    worker = _celery_worker_process
    if worker.process.poll() is not None:  # a test killed it: start another
        worker.start()
    settings.MEDIA_ROOT = worker.media_root
    return worker
