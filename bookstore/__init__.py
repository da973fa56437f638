# Loads the Celery app with Django, so `shared_task` tasks bind to it and
# `transaction.on_commit(task.delay)` publishes through its configured broker.
from bookstore.celery import app as celery_app

__all__ = ("celery_app",)
