from uuid import uuid4

import pytest
from rest_framework.test import APIClient

from tests.factories import TEST_PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _own_throttle_counters(settings):
    # Throttle counters live in the cache (Redis when REDIS_URL is set), which outlives a
    # test: a prefix of its own keeps one test's requests from counting against another's.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid4().hex}"}}


@pytest.fixture
def guest():
    """A guest client that keeps cookies and enforces CSRF, as a browser's server would."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def shopper_client(shopper):
    """A signed-in API client using the shopper's token."""
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/auth/token/", {"username": shopper.username, "password": TEST_PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


@pytest.fixture
def other_client(db):
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client
