"""Django system checks that stop a misconfigured shop before its first sale.

Registered by ops/apps.py. Each message says what is wrong and its hint how to fix it.

- Always (every manage.py command, runserver, tests): ops.E001 secret and publishable keys
  of different modes; ops.E002 a live key with DEBUG on; ops.E005 no pinned Stripe API version.
- With `--deploy`: ops.E006 no broker (REDIS_URL) outside DEBUG.
- With `--deploy --database default` (they read the database, which Django runs only when
  asked): ops.E003 no enabled webhook endpoint with its signing secret for the keys' mode,
  ops.E004 an endpoint missing events the shop handles, ops.W001 the database could not be
  read. Not checked against the emulator, whose endpoint the tests and `make run` register.

`check_at_start` runs them all when a web process starts in production (bookstore/wsgi.py)
and refuses to serve on an error.
"""

import logging
import re

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

logger = logging.getLogger(__name__)

_KEY = re.compile(r"^(sk|rk|pk)_(test|live)_")
# Stripe's API versions are dates, with a release name since 2024 (2026-08-26.dahlia).
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


def _mode(key: str) -> str:
    match = _KEY.match(key or "")
    return match.group(2) if match else ""


@checks.register("stripe")
def stripe_keys_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    secret, publishable = _mode(settings.STRIPE_SECRET_KEY), _mode(settings.STRIPE_PUBLISHABLE_KEY)
    if secret != publishable:
        errors.append(
            checks.Error(
                f"STRIPE_SECRET_KEY is a {secret or 'malformed'} key but STRIPE_PUBLISHABLE_KEY is a "
                f"{publishable or 'malformed'} key: the payment form would create payments the server cannot see.",
                hint="Copy both keys from the same mode of the Stripe dashboard (Developers > API keys): "
                "sk_test_ with pk_test_, or sk_live_ with pk_live_.",
                id="ops.E001",
            )
        )
    if "live" in (secret, publishable) and settings.DEBUG:
        errors.append(
            checks.Error(
                "A live Stripe key is set while DJANGO_DEBUG is on: error pages would show real payment data.",
                hint="Set DJANGO_DEBUG=false in production, or use test keys (sk_test_/pk_test_) for development.",
                id="ops.E002",
            )
        )
    if not _API_VERSION.match(settings.STRIPE_API_VERSION or ""):
        errors.append(
            checks.Error(
                f"STRIPE_API_VERSION is {settings.STRIPE_API_VERSION!r}, not a pinned Stripe API version: "
                "Stripe would answer in the account's default version, which changes when someone upgrades it.",
                hint="Set STRIPE_API_VERSION to a version such as 2026-08-26.dahlia (the one stripe-python "
                "pins; see .env.example), and register the webhook endpoint again so its events use it.",
                id="ops.E005",
            )
        )
    return errors


@checks.register("stripe", deploy=True)
def broker_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG or settings.REDIS_URL:
        return []
    return [
        checks.Error(
            "No REDIS_URL in production: Celery would queue receipts and webhooks in a folder on this "
            "machine, out of reach of workers on other machines, and throttles would count per process.",
            hint="Set REDIS_URL (redis://host:6379/0) for the web, worker and beat processes alike.",
            id="ops.E006",
        )
    ]


@checks.register("stripe", checks.Tags.database, deploy=True)
def webhook_endpoint_check(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases or settings.STRIPE_EMULATED:
        return []
    from djstripe.models import WebhookEndpoint

    from payments.paying.webhooks import HANDLERS

    live = settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
    register = "python manage.py register_webhook_endpoint --url https://<your shop's address>"
    try:
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(livemode=live)
            if endpoint.secret and endpoint.status != "disabled"
        ]
    except DatabaseError as exc:
        return [
            checks.Warning(
                f"Could not read the webhook endpoints from the database ({type(exc).__name__}), so could not check them.",
                hint="Make the database reachable and migrated (manage.py migrate), then check again.",
                id="ops.W001",
            )
        ]
    if not endpoints:
        return [
            checks.Error(
                f"No enabled Stripe webhook endpoint with its signing secret for the {'live' if live else 'test'} "
                "keys: Stripe's events would never reach the shop, and payments would stay unconfirmed.",
                hint=f"Register it, which stores its secret: {register}",
                id="ops.E003",
            )
        ]
    errors: list[checks.CheckMessage] = []
    for endpoint in endpoints:
        missing = sorted(set(HANDLERS) - set(endpoint.enabled_events or []))
        if missing and "*" not in (endpoint.enabled_events or []):
            errors.append(
                checks.Error(
                    f"The Stripe webhook endpoint {endpoint.id} ({endpoint.url}) is not sent these events the "
                    f"shop handles: {', '.join(missing)}.",
                    hint=f"Register it again, which subscribes it to every handled event: {register}",
                    id="ops.E004",
                )
            )
    return errors


def check_at_start() -> None:
    """Refuse to start serving with an error that a check finds; log the warnings."""
    found = checks.run_checks(include_deployment_checks=True, databases=list(settings.DATABASES))
    found = [message for message in found if not message.is_silenced()]
    for message in found:
        if not message.is_serious():
            logger.warning("System check: %s", message)
    serious = [message for message in found if message.is_serious()]
    if serious:
        raise ImproperlyConfigured(
            "The shop refuses to start; `manage.py check --deploy --database default` shows:\n"
            + "\n".join(str(message) for message in serious)
        )
