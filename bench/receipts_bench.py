"""Receipt and credit note rendering (PDF/A-3b): time and size of one PDF, and a Celery worker's memory over many renders.

    .venv/bin/python bench/receipts_bench.py [--renders 200] [--warm-up 5] [--worker-renders 500] [--max-tasks-per-child 50 0]

Uses its own database (BENCH_DATABASE_URL, default .../bookstore_rcpt_bench), which it drops
and recreates, and the broker REDIS_URL names (without it, kombu's filesystem transport
under var/celery/, as `make run` does). Prints this machine's speed first (the pure-Python
yardstick of bench/common.py: figures from two machines compare through it), then the first
render in this fresh process (WeasyPrint imported, fonts found and loaded, the stylesheet
parsed: what a new pool process pays once), then, for a one-page receipt (8 lines) and a
40-line one, the steady state: the median and 95th percentile of `receipt_pdf_bytes` after
--warm-up renders, the median CPU time of this process per render (less swayed by others'
load on a shared machine than the elapsed time), and the PDF's size. Then, for each
--max-tasks-per-child value (0: never recycle), starts a real worker (prefork, one pool
process), issues --worker-renders credit notes (a receipt renders once and never again, so
each render is a new document) and queues their renders through the
`payments.credit_note_render` task, and prints the pool process's and the whole worker's
peak memory (RSS of the pool process, PSS of the worker's processes together), sampled from
/proc every 20 ms, and the pool process's RSS after the first and the last tenth of the
renders (flat means no growth per render).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bookstore_rcpt_bench")
os.environ.update(
    {
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop"),
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_MEDIA_ROOT": tempfile.mkdtemp(prefix="receipts-bench-media-"),
    }
)
warnings.filterwarnings("ignore", message="No directory at")
sys.path.insert(0, str(ROOT))

from bench.common import percentile, python_yardstick_ms, recreate_database  # noqa: E402


def paid_order(lines: int):
    from tests.payments.receipt_support import make_paid_order

    books = [(f"Collected Essays, Volume {n + 1}: A Rather Long Title", 1250 + 10 * n, 1 + n % 3) for n in range(lines)]
    return make_paid_order(books=books)


def time_renders(order, renders: int, warm_up: int) -> tuple[float, list[float], list[float], int, int]:
    """The first render's time; elapsed and CPU times of `renders` more after `warm_up` untimed ones; the PDF's size and pages."""
    from payments.documents import services as receipts
    from tests.payments.receipt_support import pdf_text

    receipt = receipts.receipt_issue(order_id=order.pk)
    started = time.perf_counter()
    receipts.receipt_pdf_bytes(receipt=receipt)
    first = time.perf_counter() - started
    for _ in range(warm_up):
        receipts.receipt_pdf_bytes(receipt=receipt)
    timings, cpu = [], []
    for _ in range(renders):
        started, cpu_started = time.perf_counter(), time.process_time()
        pdf = receipts.receipt_pdf_bytes(receipt=receipt)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    assert order.number in pdf_text(pdf)
    return first, timings, cpu, len(pdf), len(PdfReader(io.BytesIO(pdf)).pages)


def memory_kib(pid: int, field: str, source: str) -> int:
    """A field of /proc/<pid>/status (VmRSS) or smaps_rollup (Pss), in KiB; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def credit_notes(order, count: int) -> list[int]:
    """`count` one-cent refunds of the order, each with its credit note, as a refund's success issues them."""
    from django.db import transaction
    from django.utils import timezone

    from payments.documents.services import credit_note_issue
    from payments.models import Payment, Refund

    payment = Payment.objects.get(order=order)
    ids = []
    for _ in range(count):
        with transaction.atomic():
            refund = Refund.objects.create(
                order=order, payment=payment, amount=1, currency=order.currency,
                status=Refund.Status.SUCCEEDED, succeeded_at=timezone.now(),
            )
            ids.append(credit_note_issue(refund=refund).pk)
    return ids


def worker_memory(order, renders: int, max_tasks_per_child: int) -> dict[str, float]:
    from payments.tasks import credit_note_render_task
    from tests.celery_fixtures import CeleryWorker

    note_ids = credit_notes(order, renders)

    base = Path(tempfile.mkdtemp(prefix="receipts-bench-worker-"))
    (base / "mail").mkdir()
    worker = CeleryWorker(
        media_root=Path(os.environ["DJANGO_MEDIA_ROOT"]),
        mail_dir=base / "mail",
        log_path=base / "worker.log",
        # Renders never call Stripe: nothing needs to listen there.
        stripe_url="http://127.0.0.1:9",
        # Celery refuses 0; a limit above the number of renders never recycles.
        max_tasks_per_child=max_tasks_per_child or renders + 1,
    )
    worker.start()
    peaks = {"pool": 0, "total": 0}
    pool_rss_after: dict[str, float] = {}
    done = threading.Event()

    def sample() -> None:
        # RSS counts the pages the pool process shares with its parent (forked) in both;
        # the worker's total is PSS, which splits shared pages between them.
        while not done.is_set():
            pids = worker.pool_pids()
            peaks["pool"] = max([peaks["pool"], *(memory_kib(pid, "VmRSS", "status") for pid in pids)])
            total = sum(memory_kib(pid, "Pss", "smaps_rollup") for pid in [worker.process.pid, *pids])
            peaks["total"] = max(peaks["total"], total)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        results = [credit_note_render_task.apply_async(kwargs={"credit_note_id": pk}, ignore_result=False) for pk in note_ids]
        for index, result in enumerate(results, start=1):
            result.get(timeout=120)
            if index in (max(1, renders // 10), renders):
                pool_rss_after["first" if index < renders else "last"] = max(
                    memory_kib(pid, "VmRSS", "status") for pid in worker.pool_pids() or [0]
                ) / 1024
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        worker.stop()
    return {
        "pool_mib": peaks["pool"] / 1024,
        "total_mib": peaks["total"] / 1024,
        "per_task_ms": 1000 * elapsed / renders,
        "first_tenth_mib": pool_rss_after.get("first", 0.0),
        "last_mib": pool_rss_after.get("last", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=200, help="in-process renders per receipt size")
    parser.add_argument("--warm-up", type=int, default=5, help="untimed renders before the timed ones")
    parser.add_argument("--worker-renders", type=int, default=500, help="renders through the worker, per setting")
    parser.add_argument("--max-tasks-per-child", type=int, nargs="+", default=[50, 0])
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bookstore.celery import app

    app.control.purge()
    from payments.documents import services as receipts

    print(f"This machine: the pure-Python yardstick (bench/common.py) takes {python_yardstick_ms():.0f} ms")
    print(
        f"Receipt render in this process (WeasyPrint PDF/A-3b, A4, DejaVu Sans); steady state:"
        f" {args.renders} renders each after {args.warm_up} untimed ones:"
    )
    orders = {}
    for label, lines in (("one page, 8 lines", 8), ("40 lines", 40)):
        orders[lines] = paid_order(lines)
        first, timings, cpu, size, pages = time_renders(orders[lines], args.renders, args.warm_up)
        if lines == 8:
            print(f"  first render in this fresh process (imports, fonts, stylesheet): {1000 * first:.0f} ms")
        print(
            f"  {label:18} median {1000 * statistics.median(timings):6.1f} ms   p95 {1000 * percentile(timings, 0.95):6.1f} ms"
            f"   CPU median {1000 * statistics.median(cpu):6.1f} ms   PDF {size / 1024:5.1f} KiB, {pages} page(s)"
        )
    print(f"Worker, prefork with one pool process, {args.worker_renders} credit notes of the 8-line order rendered:")
    for limit in args.max_tasks_per_child:
        order = paid_order(8)
        receipts.receipt_issue(order_id=order.pk)
        figures = worker_memory(order, args.worker_renders, limit)
        label = f"--max-tasks-per-child {limit}" if limit else "no --max-tasks-per-child"
        print(
            f"  {label:28} peak: pool process RSS {figures['pool_mib']:6.1f} MiB, worker total PSS {figures['total_mib']:6.1f} MiB"
            f"   ({figures['per_task_ms']:.0f} ms per task end to end)\n"
            f"  {'':28} pool process RSS after the first tenth {figures['first_tenth_mib']:6.1f} MiB, after the last {figures['last_mib']:6.1f} MiB"
        )


if __name__ == "__main__":
    main()
