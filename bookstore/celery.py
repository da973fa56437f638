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


def queue_after_commit(task, **kwargs) -> None:
    """Queue `task` with `kwargs` once the caller's transaction commits.

    Like `task.delay_on_commit`, but robust: if the broker is down, the publish error is
    logged instead of breaking the caller (a webhook that has already recorded a payment)
    or the on-commit callbacks queued after this one. The beat sweeps queue the work later.
    """
    from django.db import transaction

    def publish() -> None:
        task.delay(**kwargs)

    # robust on_commit names the failed callback by its __qualname__ in the log.
    publish.__qualname__ = f"queue_after_commit({task.name})"
    transaction.on_commit(publish, robust=True)
