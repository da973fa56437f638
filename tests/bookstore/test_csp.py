"""Content-Security-Policy (django-csp): scripts only from the shop and Stripe.js, Stripe's frames and
API, nothing inline but styles. The checkout's Stripe.js loading under it is proved by the browser
journeys (tests/e2e), which run with the policy on."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def directives(header: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.django_db
def test_pages_carry_the_policy_with_the_emulator_as_stripe(client, book):
    for url in ["/", f"/books/{book.pk}/", "/accounts/login/", "/admin/login/"]:
        policy = directives(client.get(url)["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'", "http://127.0.0.1:*"], url
        assert policy["frame-src"] == ["http://127.0.0.1:*"]
        assert policy["connect-src"] == ["'self'", "http://127.0.0.1:*"]
        assert policy["default-src"] == policy["form-action"] == ["'self'"]
        assert policy["frame-ancestors"] == policy["object-src"] == policy["base-uri"] == ["'none'"]


PRODUCTION_HEADER = """
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

print(CSPMiddleware(lambda request: HttpResponse())(RequestFactory().get("/"))["Content-Security-Policy"])
"""


def test_with_stripe_keys_the_policy_names_stripe_s_documented_sources():
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(16),
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + secrets.token_hex(16),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRODUCTION_HEADER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    policy = directives(result.stdout.strip().splitlines()[-1])
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert policy["frame-src"] == ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert "'unsafe-inline'" not in policy["script-src"]
