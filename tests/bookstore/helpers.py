"""Helpers for the page tests (catalogue, cart, orders)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parents[2]


def queries_for(client, url: str) -> int:
    """SQL queries of one GET, which must answer 200."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    # Counted at once: the next request empties the connection's query log, and the capture with it.
    return len(captured)


def messages_of(response) -> list[str]:
    """The flash messages a (followed) response shows."""
    return [str(message) for message in response.context["messages"]]


def manage_in_production(*args: str) -> subprocess.CompletedProcess:
    """`manage.py <args>` in a clean environment with only what production sets: none of the test
    run's own overrides (DJANGO_HTTPS=false, DEBUG), and Stripe keys (without them the shop
    points at the local emulator, which dj-stripe rightly warns about: djstripe.W002)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(16),
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + secrets.token_hex(16),
        # Production has a broker (ops.E006); nothing here connects to it.
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
