"""The Celery app, as in Celery's "First steps with Django" guide.

Settings come from Django's settings under the CELERY_ namespace (the CELERY_ block in
settings.py); tasks are found in each installed app's tasks.py.
"""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from bookstore import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

app = Celery("bookstore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _carry_log_context(headers: dict | None = None, **_) -> None:
    # The queuing request's or task's correlation id and order go with the task, so the
    # worker's lines for it carry them too (bookstore/logs.py).
    # Our own header names: Celery's request already has a `correlation_id` (the task's id).
    if headers is not None:
        headers.setdefault("shop_correlation_id", logs.correlation_id.get())
        headers.setdefault("shop_order_number", logs.order_number.get())


@task_prerun.connect
def _bind_log_context(task=None, **_) -> None:
    request = task.request
    # An eager task runs inside its caller, whose context it keeps.
    if not request.is_eager:
        # Queued with no context (beat, a shell): the task's own id names its chain.
        logs.correlation_id.set(request.get("shop_correlation_id") or request.id or "")
        logs.order_number.set(request.get("shop_order_number") or "")


@task_postrun.connect
def _unbind_log_context(task=None, **_) -> None:
    # Pool processes and threads run task after task: nothing carries over to the next.
    if not task.request.is_eager:
        logs.correlation_id.set("")
        logs.order_number.set("")


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
