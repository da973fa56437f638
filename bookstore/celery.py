"""The Celery app, as in Celery's "First steps with Django" guide.

Settings come from Django's settings under the CELERY_ namespace (the CELERY_ block in
settings.py); tasks are found in each installed app's tasks.py.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

app = Celery("bookstore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_after_commit(task_name: str, **kwargs) -> None:
    """Queue the task registered as `task_name` with `kwargs` once the caller's transaction commits.

    By name, so that services never import task modules: tasks are leaves that import
    services, and an import the other way would close a circle. Like `delay_on_commit`,
    but robust: if the broker is down, the publish error is logged instead of breaking
    the caller (a webhook that has already recorded a payment) or the on-commit callbacks
    queued after this one. The beat sweeps queue the work later.
    """
    from django.db import transaction

    def publish() -> None:
        # A signature resolves the registered task (its options, eager mode in a test) and
        # falls back to sending by name when this process has not registered it.
        app.signature(task_name, kwargs=kwargs).apply_async()

    # robust on_commit names the failed callback by its __qualname__ in the log.
    publish.__qualname__ = f"queue_after_commit({task_name})"
    transaction.on_commit(publish, robust=True)
