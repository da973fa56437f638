"""`manage.py check --deploy` with production settings, in a clean environment of its own."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_reports_nothing_with_production_settings():
    # Only what production sets: none of the test run's own overrides (DJANGO_HTTPS=false, DEBUG).
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        # Production talks to Stripe itself; without keys the shop points at the local emulator,
        # which dj-stripe rightly warns about (djstripe.W002).
        "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(16),
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + secrets.token_hex(16),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output, output
