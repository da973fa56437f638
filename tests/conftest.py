import os

import pytest
from django.conf import settings

from tests.factories import BookFactory, UserFactory

# Fixture modules shared by several test folders.
pytest_plugins = ["tests.browser_fixtures", "tests.celery_fixtures", "tests.stripe_fixtures"]


# A test that needs one of these is a contract or journey test (the emulator over HTTP, a
# live server, a real worker, Chromium); the rest need only the database: the fast layer,
# run alone with `make test-fast` (`pytest -m "not contract"`).
CONTRACT_FIXTURES = frozenset({"live_server", "stripe_emulator", "emulated_stripe", "emulator", "celery_worker", "chromium"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if CONTRACT_FIXTURES.intersection(item.fixturenames) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.contract)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail at once, and say why, when the test database server cannot be reached."""
    import psycopg

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(f"The tests need PostgreSQL; DATABASE_URL points at {db['ENGINE']}.", returncode=3)
    try:
        psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        pytest.exit(
            f"PostgreSQL is not reachable at {db['HOST']}:{db['PORT']} ({exc}). "
            "Start it, or set DATABASE_URL to a server the tests may create a database on.",
            returncode=3,
        )


@pytest.fixture
def book(db):
    return BookFactory(stock=10)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Production's manifest storage needs `collectstatic`; tests serve from the finders.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Files written by a test (receipts) go to a throwaway folder.
    settings.MEDIA_ROOT = tmp_path / "media"
    os.makedirs(settings.MEDIA_ROOT, exist_ok=True)
