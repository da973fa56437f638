"""`make run` holds real use: shoppers paying while staff refunds and the worker writes receipts.

The shop runs as Procfile.dev runs it (web server, emulator, Celery worker and beat; see
tests/shop_processes.py), on a SQLite file as `make run` does and on PostgreSQL as production
does. No answer may be a 500, every purchase ends paid and every refund handed to staff is made.
"""

import pytest

from tests.celery_fixtures import subprocess_database_url
from tests.shop_processes import Tally, running_shop, shop_under_load

SHOPPERS = 5
PURCHASES = 2


def assert_held(tally: Tally) -> None:
    assert tally.crashes == []
    assert tally.server_errors == 0, tally.errors
    assert tally.paid == SHOPPERS * PURCHASES
    assert tally.handed_to_staff > 0
    assert tally.refunded == tally.handed_to_staff


def test_make_run_on_sqlite_answers_concurrent_shoppers_and_staff_without_a_500(tmp_path):
    with running_shop(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", workdir=tmp_path) as shop:
        tally = shop_under_load(shop, shoppers=SHOPPERS, purchases=PURCHASES)
    assert_held(tally)


@pytest.mark.django_db(transaction=True)
def test_the_shop_on_postgresql_answers_concurrent_shoppers_and_staff_without_a_500(tmp_path):
    # The test database, migrated by pytest-django; the processes stop before it is flushed.
    with running_shop(database_url=subprocess_database_url(), workdir=tmp_path, create_schema=False) as shop:
        tally = shop_under_load(shop, shoppers=SHOPPERS, purchases=PURCHASES)
    assert_held(tally)
