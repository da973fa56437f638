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
