"""The shop as `make run` runs it, in real processes, and shoppers and staff using it over HTTP at once.

`running_shop` prepares a database the way the Makefile does (migrate, demo data) and starts
the processes of Procfile.dev under honcho (emulator, web server, Celery worker and beat),
with their port and `var/` folder moved to a throwaway place. `shop_under_load` then runs
shoppers (each: add a book to the cart, check out as a guest, open the pay page, confirm at
the emulator as Stripe.js would, wait on the status endpoint until paid) while one staff
member refunds paid orders in the admin, and counts the answers by status code.

Used by tests/test_concurrency.py (no answer may be a 500) and bench/sqlite_concurrency.py
(prints the counts). Needs no Django settings in the calling process.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
DEMO_STAFF = ("staff", "lantern-staff-2026")  # bookstore/management/commands/load_demo_data.py
PUBLISHABLE_KEY = "pk_test_" + "emulator" * 4  # the settings' key when no Stripe key is set
STARTUP_TIMEOUT = 90
# A request waits this long at most: a stuck server fails the run instead of hanging it.
REQUEST_TIMEOUT = 60
PAID_TIMEOUT = 60
# Every demo book gets this much stock, so shoppers compete for rows, never run out.
STOCK = 1000


# The tables straight from the models, as Django's test runner does without migrations:
# replaying every migration on SQLite (which rebuilds a table for most changes) takes minutes.
SCHEMA_FROM_MODELS = """
import django
from django.conf import settings
from django.core.management import call_command

class NoMigrations(dict):
    def __contains__(self, app_label):
        return True

    def __getitem__(self, app_label):
        return None

settings.MIGRATION_MODULES = NoMigrations()
django.setup()
call_command("migrate", run_syncdb=True, verbosity=0)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Shop:
    url: str
    emulator_url: str
    log_path: Path
    book_ids: list[int]

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=STARTUP_TIMEOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _procfile(workdir: Path, emulator_port: int) -> Path:
    """Procfile.dev with its state folder and emulator port moved, so it runs beside a real `make run`."""
    text = (ROOT / "Procfile.dev").read_text()
    text = text.replace("var/", f"{workdir}/").replace("--port 12111", f"--port {emulator_port}")
    path = workdir / "Procfile"
    path.write_text(text)
    return path


@contextlib.contextmanager
def running_shop(*, database_url: str, workdir: Path, create_schema: bool = True) -> Iterator[Shop]:
    """The shop on `database_url` as `make run` serves it; stopped on exit.

    The database is empty (its tables are created) or, without `create_schema`, migrated already.
    """
    web_port, emulator_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = {
        key: value
        for key, value in os.environ.items()
        # `make run` has neither: the filesystem broker and the emulator are what it uses.
        if key not in ("REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bookstore.settings",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="",
        DJANGO_HTTPS="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        STRIPE_EMULATOR_URL=emulator_url,
        SHOP_PORT=str(web_port),
        CELERY_DATA_DIR=str(workdir / "celery"),
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        EMAIL_URL=f"filemail:///{workdir / 'mail'}",
        LOG_LEVEL="WARNING",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    if create_schema:
        subprocess.run([sys.executable, "-c", SCHEMA_FROM_MODELS], cwd=ROOT, env=env, check=True, capture_output=True, timeout=STARTUP_TIMEOUT)
    _manage(env, "load_demo_data")
    book_ids = json.loads(
        _manage(
            env, "shell", "-c",
            "import json; from bookstore.models import Book; Book.objects.update(stock=%d); "
            "print(json.dumps(list(Book.objects.order_by('pk').values_list('pk', flat=True))))" % STOCK,
        ).strip().splitlines()[-1]
    )  # fmt: skip
    log_path = workdir / "processes.log"
    with log_path.open("ab") as log:
        honcho = subprocess.Popen(
            [str(Path(sys.executable).with_name("honcho")), "-f", str(_procfile(workdir, emulator_port)), "-d", str(ROOT), "start"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    shop = Shop(url=f"http://127.0.0.1:{web_port}", emulator_url=emulator_url, log_path=log_path, book_ids=book_ids)
    try:
        _wait_until_serving(shop, honcho)
        yield shop
    finally:
        _stop(honcho)


def _wait_until_serving(shop: Shop, honcho: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if honcho.poll() is not None:
            raise RuntimeError(f"The shop's processes exited:\n{shop.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            # The web process registers its webhook endpoint before it serves, so a page means both.
            if requests.get(f"{shop.url}/", timeout=5).status_code == 200 and "celery@" in shop.log_path.read_text(errors="replace"):
                return
        time.sleep(0.5)
    raise RuntimeError(f"The shop did not start within {STARTUP_TIMEOUT} s:\n{shop.log_tail()}")


def _stop(honcho: subprocess.Popen) -> None:
    # honcho passes SIGTERM on to the processes it started, and waits for them.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(honcho.pid, signal.SIGTERM)
    try:
        honcho.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(honcho.pid, signal.SIGKILL)
        honcho.wait()


@dataclass
class Tally:
    """Answers by status code, and for the 500s which request got them."""

    codes: collections.Counter = field(default_factory=collections.Counter)
    errors: list[str] = field(default_factory=list)
    # A shopper or the staff member that could not go on (an exception, not an answer).
    crashes: list[str] = field(default_factory=list)
    paid: int = 0
    handed_to_staff: int = 0
    refunded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: requests.Response) -> requests.Response:
        with self.lock:
            for answer in [*response.history, response]:
                self.codes[answer.status_code] += 1
                if answer.status_code >= 500:
                    self.errors.append(f"{answer.request.method} {urlsplit(answer.url).path} -> {answer.status_code}")
        return response

    @property
    def server_errors(self) -> int:
        return sum(count for code, count in self.codes.items() if code >= 500)


def _csrf_post(session: requests.Session, tally: Tally, url: str, data: dict, *, referer: str) -> requests.Response:
    data = {**data, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")}
    return tally.record(session.post(url, data=data, headers={"Referer": referer}, timeout=REQUEST_TIMEOUT))


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    return match.group(1) if match else ""


def shopper_buys(shop: Shop, tally: Tally, *, book_id: int, shopper: int) -> str | None:
    """One guest purchase, start to paid; returns the order number, or None where the shop said no."""
    session = requests.Session()
    book_page = f"{shop.url}/books/{book_id}/"
    tally.record(session.get(book_page, timeout=REQUEST_TIMEOUT))
    _csrf_post(session, tally, f"{shop.url}/cart/add/", {"book": book_id, "quantity": 1}, referer=book_page)
    page = tally.record(session.get(f"{shop.url}/orders/checkout/", timeout=REQUEST_TIMEOUT))
    placed = _csrf_post(
        session, tally, f"{shop.url}/orders/checkout/",
        {
            "email": f"shopper{shopper}@example.com", "name": f"Shopper {shopper}", "line1": "1 Quay Street",
            "line2": "", "city": "Dublin", "postal_code": "D02 XY45", "country": "IE",
            "checkout_token": _hidden(page.text, "checkout_token"),
        },
        referer=f"{shop.url}/orders/checkout/",
    )  # fmt: skip
    match = re.search(r"/orders/([^/]+)/([^/]+)/$", urlsplit(placed.url).path)
    if placed.status_code != 200 or match is None:
        return None
    number, key = match.groups()
    pay_page = tally.record(session.get(f"{shop.url}/pay/orders/{number}/{key}/", timeout=REQUEST_TIMEOUT))
    secret = re.search(r'data-client-secret="([^"]+)"', pay_page.text)
    if pay_page.status_code != 200 or secret is None:
        return None
    client_secret = secret.group(1)
    # What Stripe.js sends from the shopper's browser: the publishable key and the client secret.
    confirmed = requests.post(
        f"{shop.emulator_url}/v1/payment_intents/{client_secret.split('_secret_')[0]}/confirm",
        data={
            "key": PUBLISHABLE_KEY, "client_secret": client_secret, "payment_method": "pm_card_visa",
            "return_url": f"{shop.url}/orders/{number}/{key}/",
        },
        timeout=REQUEST_TIMEOUT,
    )  # fmt: skip
    confirmed.raise_for_status()
    # The order page asks this until the webhook has marked the order paid.
    deadline = time.monotonic() + PAID_TIMEOUT
    while time.monotonic() < deadline:
        status = tally.record(session.get(f"{shop.url}/pay/orders/{number}/{key}/status/", timeout=REQUEST_TIMEOUT))
        if status.status_code == 200 and status.json()["paid"]:
            with tally.lock:
                tally.paid += 1
            return number
        time.sleep(0.3)
    return None


def staff_refunds(shop: Shop, tally: Tally, orders: queue.Queue, *, done: threading.Event) -> None:
    """The staff member signs in to the admin and fully refunds each paid order handed over, until `done`."""
    session = requests.Session()
    login_url = f"{shop.url}/admin/login/"
    tally.record(session.get(login_url, timeout=REQUEST_TIMEOUT))
    username, password = DEMO_STAFF
    _csrf_post(session, tally, login_url, {"username": username, "password": password, "next": "/admin/"}, referer=login_url)
    while not (done.is_set() and orders.empty()):
        try:
            number = orders.get(timeout=0.5)
        except queue.Empty:
            continue
        found = tally.record(session.get(f"{shop.url}/admin/orders/order/", params={"q": number}, timeout=REQUEST_TIMEOUT))
        order_id = re.search(r'href="/admin/orders/order/(\d+)/change/', found.text)
        if order_id is None:
            continue
        url = f"{shop.url}/admin/payments/refund/order/{order_id.group(1)}/"
        form = tally.record(session.get(url, timeout=REQUEST_TIMEOUT))
        data = {"amount": _hidden(form.text, "amount"), "reason": "requested_by_customer", "note": "", "state": _hidden(form.text, "state")}
        _csrf_post(session, tally, url, data, referer=url)  # the review step
        result = _csrf_post(session, tally, url, {**data, "confirm": "Yes, refund"}, referer=url)
        if result.status_code == 200 and ("Refunded" in result.text or "Stripe is processing the refund" in result.text):
            with tally.lock:
                tally.refunded += 1


def shop_under_load(shop: Shop, *, shoppers: int = 5, purchases: int = 3) -> Tally:
    """`shoppers` guests buy `purchases` books each, all at once, while staff refunds every other paid order."""
    tally = Tally()
    paid_orders: queue.Queue = queue.Queue()
    done = threading.Event()

    def shop_for(shopper: int) -> None:
        for purchase in range(purchases):
            # Everyone wants the same few books: the stock rows are where writers meet.
            number = shopper_buys(shop, tally, book_id=shop.book_ids[purchase % 2], shopper=shopper)
            if number is not None and (shopper + purchase) % 2 == 0:
                with tally.lock:
                    tally.handed_to_staff += 1
                paid_orders.put(number)

    def noting_crashes(target, *args, **kwargs):
        def run() -> None:
            try:
                target(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - reported with the tally, not lost in a thread
                with tally.lock:
                    tally.crashes.append(f"{target.__name__}: {exc!r}")

        return threading.Thread(target=run)

    staff = noting_crashes(staff_refunds, shop, tally, paid_orders, done=done)
    staff.start()
    buyers = [noting_crashes(shop_for, n) for n in range(shoppers)]
    for buyer in buyers:
        buyer.start()
    for buyer in buyers:
        buyer.join()
    done.set()
    staff.join()
    return tally
