"""`make run` under concurrent use: 500s counted with shoppers paying while staff refunds.

    .venv/bin/python bench/sqlite_concurrency.py [--shoppers 5] [--purchases 3] [--django-defaults] [--postgres]

Runs the processes of Procfile.dev (web server, emulator, Celery worker and beat) on a fresh
SQLite file in a temporary folder, as `make run` does, and drives them over HTTP: each shopper
buys --purchases books as a guest (book page, add to cart, checkout, pay page, confirm at the
emulator, wait until paid) while one staff member fully refunds every other paid order in the
admin. See tests/shop_processes.py. Prints the answers by status code, the 500s, purchases
paid and refunds made, and how long it took.

--django-defaults runs SQLite with Django's own connection options (deferred transactions,
5 s timeout, rollback journal) instead of the shop's, to show what they change. --postgres
runs on a throwaway PostgreSQL database (BENCH_DATABASE_URL, default
.../bookstore_sqlite_concurrency_bench, dropped and created again) instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.shop_processes import running_shop, shop_under_load  # noqa: E402

# Django's defaults, as DATABASE_URL query options (they win over the settings' own).
DJANGO_DEFAULTS = "?transaction_mode=DEFERRED&timeout=5&init_command=PRAGMA%20journal_mode%3DDELETE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5)
    parser.add_argument("--purchases", type=int, default=3)
    parser.add_argument("--django-defaults", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sqlite-concurrency-bench-"))
    if args.postgres:
        from bench.common import bench_environment, recreate_database

        database_url = bench_environment(database="bookstore_sqlite_concurrency_bench")["DATABASE_URL"]
        recreate_database()
        label = "PostgreSQL"
    else:
        database_url = f"sqlite:///{workdir / 'db.sqlite3'}" + (DJANGO_DEFAULTS if args.django_defaults else "")
        label = "SQLite, Django's default options" if args.django_defaults else "SQLite, the shop's options"
    print(f"{label}: {args.shoppers} shoppers x {args.purchases} purchases, 1 staff member refunding (in {workdir})")
    with running_shop(database_url=database_url, workdir=workdir) as shop:
        started = time.perf_counter()
        tally = shop_under_load(shop, shoppers=args.shoppers, purchases=args.purchases)
        seconds = time.perf_counter() - started
    answers = sum(tally.codes.values())
    print(f"  answers by status: {dict(sorted(tally.codes.items()))}")
    print(f"  500s: {tally.server_errors} of {answers} ({100 * tally.server_errors / max(answers, 1):.0f}%)")
    for error in tally.errors:
        print(f"    {error}")
    for crash in tally.crashes:
        print(f"  stopped early: {crash}")
    print(f"  purchases paid: {tally.paid} of {args.shoppers * args.purchases}")
    print(f"  refunds made: {tally.refunded} of {tally.handed_to_staff} paid orders handed to staff")
    print(f"  {seconds:.1f} s under load")
    print(f"  the processes' log: {shop.log_path}")


if __name__ == "__main__":
    main()
