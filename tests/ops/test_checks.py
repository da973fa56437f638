"""The system checks that stop a misconfigured shop before its first sale (ops/checks.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from djstripe.models import WebhookEndpoint

from ops.checks import broker_check, check_at_start, stripe_keys_check, webhook_endpoint_check
from payments.paying.webhooks import HANDLERS

TEST_SECRET = "sk_test_" + "a" * 24
TEST_PUBLISHABLE = "pk_test_" + "a" * 24
LIVE_SECRET = "sk_live_" + "b" * 24
LIVE_PUBLISHABLE = "pk_live_" + "b" * 24


def ids(messages) -> list[str]:
    return [message.id for message in messages]


@pytest.mark.parametrize(
    "secret, publishable",
    [(TEST_SECRET, LIVE_PUBLISHABLE), (LIVE_SECRET, TEST_PUBLISHABLE), (TEST_SECRET, "pk_" + "a" * 30)],
)
def test_keys_of_different_modes_are_refused(settings, secret, publishable):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = secret, publishable

    (error,) = stripe_keys_check()

    assert error.id == "ops.E001"
    assert "same mode" in error.hint


@pytest.mark.parametrize("secret, publishable", [(TEST_SECRET, TEST_PUBLISHABLE), (LIVE_SECRET, LIVE_PUBLISHABLE)])
def test_keys_of_one_mode_pass(settings, secret, publishable):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = secret, publishable
    settings.DEBUG = False

    assert stripe_keys_check() == []


def test_a_live_key_with_debug_is_refused(settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = LIVE_SECRET, LIVE_PUBLISHABLE
    settings.DEBUG = True

    assert ids(stripe_keys_check()) == ["ops.E002"]

    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = TEST_SECRET, TEST_PUBLISHABLE
    assert stripe_keys_check() == []


@pytest.mark.parametrize("version", ["", "latest", "2026-08-26 dahlia"])
def test_an_unpinned_api_version_is_refused(settings, version):
    settings.STRIPE_API_VERSION = version

    (error,) = stripe_keys_check()

    assert error.id == "ops.E005"
    assert "STRIPE_API_VERSION" in error.hint


@pytest.mark.parametrize("version", ["2026-08-26.dahlia", "2024-06-20"])
def test_a_pinned_api_version_passes(settings, version):
    settings.STRIPE_API_VERSION = version

    assert stripe_keys_check() == []


def test_production_without_a_broker_is_refused_by_check_deploy(db, settings):
    settings.DEBUG = False
    settings.REDIS_URL = ""

    assert ids(broker_check()) == ["ops.E006"]
    with pytest.raises(SystemCheckError, match="ops.E006"):
        call_command("check", "--deploy")


def test_production_with_a_broker_or_development_without_passes(settings):
    settings.DEBUG, settings.REDIS_URL = False, "redis://127.0.0.1:6379/0"
    assert broker_check() == []

    settings.DEBUG, settings.REDIS_URL = True, ""
    assert broker_check() == []


@pytest.fixture
def real_stripe_keys(settings):
    """Settings as with keys from Stripe's dashboard (the emulator's endpoint is not checked)."""
    settings.STRIPE_EMULATED = False
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = TEST_SECRET, TEST_PUBLISHABLE


def endpoint(**fields) -> WebhookEndpoint:
    defaults = {
        "id": "we_" + "c" * 24,
        "livemode": False,
        "url": "https://shop.example.com/stripe/webhook/6f1c0c36-64c4-4b52-9df1-31a3b1e3b7a5/",
        "enabled_events": sorted(HANDLERS),
        "secret": "whsec_" + "d" * 32,
        "status": "enabled",
        "api_version": "2026-08-26.dahlia",
    }
    return WebhookEndpoint.objects.create(**{**defaults, **fields})


def test_no_webhook_endpoint_is_refused(db, real_stripe_keys):
    (error,) = webhook_endpoint_check(databases=["default"])

    assert error.id == "ops.E003"
    assert "register_webhook_endpoint" in error.hint


@pytest.mark.parametrize(
    "fields",
    [{"secret": ""}, {"status": "disabled"}, {"livemode": True}],
    ids=["without its secret", "disabled", "of the other mode"],
)
def test_an_endpoint_that_cannot_serve_these_keys_is_refused(db, real_stripe_keys, fields):
    endpoint(**fields)

    assert ids(webhook_endpoint_check(databases=["default"])) == ["ops.E003"]


def test_an_endpoint_missing_handled_events_is_refused(db, real_stripe_keys):
    endpoint(enabled_events=["payment_intent.succeeded"])

    (error,) = webhook_endpoint_check(databases=["default"])

    assert error.id == "ops.E004"
    assert "charge.refunded" in error.msg and "payment_intent.payment_failed" in error.msg
    assert "register_webhook_endpoint" in error.hint


@pytest.mark.parametrize("events", [sorted(HANDLERS), ["*"]])
def test_an_endpoint_with_every_handled_event_passes(db, real_stripe_keys, events):
    endpoint(enabled_events=events)

    assert webhook_endpoint_check(databases=["default"]) == []


def test_the_endpoint_check_reads_the_database_only_when_asked(real_stripe_keys):
    # `check --deploy` without `--database` (and so the deploy test's clean environment) skips it.
    assert webhook_endpoint_check(databases=None) == []


def test_check_deploy_with_the_database_shows_the_endpoint_error(db, real_stripe_keys):
    with pytest.raises(SystemCheckError, match="ops.E003"):
        call_command("check", "--deploy", "--database", "default")


def test_a_web_process_refuses_to_start_on_an_error(db, settings, monkeypatch):
    # The browser tests' fixtures set it in this process; Django refuses it in deployment (async.E001).
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    settings.STRIPE_PUBLISHABLE_KEY = LIVE_PUBLISHABLE

    with pytest.raises(ImproperlyConfigured, match="ops.E001"):
        check_at_start()

    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_" + "emulator" * 4
    check_at_start()
