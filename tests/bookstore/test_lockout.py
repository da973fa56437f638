"""Password guessing: django-axes pauses sign-in per account and per client address, on the shop's
sign-in and the admin's; time or staff lift the pause. The API's token endpoint keeps its throttle
(tests/api/test_throttling.py)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOCKED = "Sign-in paused"


def sign_in(client, username: str, password: str, *, address: str = "203.0.113.7", url: str = "/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def guess(client, username: str, *, times: int = 30, **kwargs) -> None:
    for attempt in range(times):
        sign_in(client, username, f"guess-{attempt}", **kwargs)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(client):
    shopper = UserFactory()
    guess(client, shopper.username)
    response = sign_in(client, shopper.username, TEST_PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page
    assert f"for “{shopper.username}”" in page
    assert f"paused for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    assert not signed_in(client)


def test_below_the_limit_the_right_password_still_signs_in(client):
    shopper = UserFactory()
    guess(client, shopper.username, times=settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, shopper.username, TEST_PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_guessing_address_is_paused_for_every_account_and_the_account_from_every_address(client):
    guessed, other = UserFactory(), UserFactory()
    guess(client, guessed.username, address="203.0.113.7")
    # Another account, from the address that guessed.
    assert LOCKED in sign_in(client, other.username, TEST_PASSWORD, address="203.0.113.7").content.decode()
    # The guessed account, from anywhere.
    assert LOCKED in sign_in(client, guessed.username, TEST_PASSWORD, address="198.51.100.9").content.decode()
    assert not signed_in(client)
    # Anyone else, from anywhere else.
    assert sign_in(client, other.username, TEST_PASSWORD, address="198.51.100.9").status_code == 302
    assert signed_in(client)


def test_after_the_cool_off_the_account_signs_in_again(client):
    shopper = UserFactory()
    guess(client, shopper.username)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert sign_in(client, shopper.username, TEST_PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_admin_sign_in_is_paused_too_and_staff_lift_a_pause_in_the_admin(client, staff_user):
    colleague = UserFactory(is_staff=True)
    guess(client, colleague.username, url="/admin/login/", address="203.0.113.7")
    response = sign_in(client, colleague.username, TEST_PASSWORD, url="/admin/login/", address="203.0.113.7")
    assert LOCKED in response.content.decode()

    admin = client.__class__()
    admin.force_login(staff_user)
    attempts = admin.get("/admin/axes/accessattempt/").content.decode()
    assert colleague.username in attempts
    attempt = AccessAttempt.objects.get(username=colleague.username)
    admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.exists()

    assert sign_in(client, colleague.username, TEST_PASSWORD, url="/admin/login/", address="203.0.113.7").status_code == 302
    assert signed_in(client)


def test_password_reset_answers_the_same_for_an_unknown_address(client):
    shopper = UserFactory()
    known = client.post("/accounts/password_reset/", {"email": shopper.email})
    unknown = client.post("/accounts/password_reset/", {"email": "nobody-here@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert [message.to for message in mail.outbox] == [[shopper.email]]
