import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings")

application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after setup)

if settings.CHECK_AT_START:
    from ops.checks import check_at_start  # noqa: E402

    check_at_start()
