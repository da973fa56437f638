"""Content-Security-Policy (django-csp): scripts only from the shop and Stripe.js, Stripe's frames and
API, nothing inline but styles. The checkout's Stripe.js loading under it is proved by the browser
journeys (tests/e2e), which run with the policy on."""

import pytest

from tests.bookstore.helpers import manage_in_production


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

print(CSPMiddleware(lambda request: HttpResponse())(RequestFactory().get("/", HTTP_HOST="shop.example.com"))["Content-Security-Policy"])
"""


def test_with_stripe_keys_the_policy_names_stripe_s_documented_sources():
    result = manage_in_production("shell", "-c", PRODUCTION_HEADER)
    assert result.returncode == 0, result.stderr
    policy = directives(result.stdout.strip().splitlines()[-1])
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert policy["frame-src"] == ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert "'unsafe-inline'" not in policy["script-src"]
