"""The shop as `make run` runs it, in real processes, and shoppers and staff using it over HTTP at once.

`running_shop` prepares a database the way the Makefile does (migrate, demo data) and starts
the processes of Procfile.dev under honcho (emulator, web server, Celery worker and beat),
with their port and `var/` folder moved to a throwaway place. `shop_under_load` then runs
shoppers (each: add a book to the cart, check out as a guest, open the pay page, confirm at
the emulator as Stripe.js would, wait on the status endpoint until paid) while one staff
member refunds paid orders in the admin, and counts the answers by status code.

Used by tests/test_concurrency.py (no answer may be a 500) and bench/sqlite_concurrency.py
(prints the counts). Needs no Django settings in the calling process.

`running_machines` runs the shop as production does on several machines (docs/production.md):
the production Procfile's web, worker and worker-stripe once per "machine", beat once, all on
one PostgreSQL database and one Redis, with a round-robin `Balancer` in front of the web
servers. Used by tests/test_two_machines.py and bench/two_machines.py.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import email
import email.policy
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
from collections import Counter
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


def _demo_books(env: dict[str, str]) -> list[int]:
    """Load the demo data with STOCK copies of every book; the books' ids."""
    _manage(env, "load_demo_data")
    return json.loads(
        _manage(
            env, "shell", "-c",
            "import json; from bookstore.models import Book; Book.objects.update(stock=%d); "
            "print(json.dumps(list(Book.objects.order_by('pk').values_list('pk', flat=True))))" % STOCK,
        ).strip().splitlines()[-1]
    )  # fmt: skip


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
    book_ids = _demo_books(env)
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


def shopper_buys(shop: Shop, tally: Tally, *, book_id: int, shopper: int, extra_copy: bool = False) -> str | None:
    """One guest purchase, start to paid; returns the order number, or None where the shop said no.

    With `extra_copy` the shopper puts another copy of the book in the cart once the order is
    placed: the payment must take out the copy ordered and leave that one.
    """
    session = requests.Session()
    placed = shopper_places_order(shop, tally, session, book_id=book_id, shopper=shopper)
    if placed is None:
        return None
    number, key = placed
    if extra_copy:
        _csrf_post(session, tally, f"{shop.url}/cart/add/", {"book": book_id, "quantity": 1}, referer=f"{shop.url}/cart/")
    return shopper_pays(shop, tally, session, number=number, key=key)


def shopper_places_order(
    shop: Shop, tally: Tally, session: requests.Session, *, book_id: int, shopper: int
) -> tuple[str, str] | None:
    """A guest puts the book in the cart and checks out; the order's number and access key."""
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
    return match.group(1), match.group(2)


def shopper_pays(shop: Shop, tally: Tally, session: requests.Session, *, number: str, key: str) -> str | None:
    """The guest opens the pay page, confirms at Stripe as Stripe.js would and waits until the order is paid."""
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


# --- What payments did, counted from the database ----------------------------------------

# Every event delivered twice, overlapping, shuffled, each delivery failing its first attempt:
# the emulator's faults of bench/webhook_chaos.py and tests/test_two_machines.py.
CHAOS_FAULTS = {"duplicate": True, "shuffle": True, "fail_first": 1}
# receipt_email's subject.
RECEIPT_SUBJECT = re.compile(r"^Your receipt \S+ for order (?P<order>\S+)$")


def receipt_emails_per_order(mail_dir: Path) -> Counter:
    """How many receipt emails the worker sent for each order number (Django's file backend)."""
    separator = b"\n" + b"-" * 79 + b"\n"
    sent: Counter = Counter()
    for path in mail_dir.glob("*.log"):
        for chunk in path.read_bytes().split(separator):
            if not chunk.strip():
                continue
            subject = email.message_from_bytes(chunk, policy=email.policy.default).get("Subject", "")
            if match := RECEIPT_SUBJECT.match(subject):
                sent[match["order"]] += 1
    return sent


def payment_outcome(order_ids: list[int], mail_dir: Path) -> list[tuple[str, int]]:
    """What the database and the workers' mail folder say the payments of these orders did, and each
    kind of double effect (which must be 0). Each shopper added one more copy of the book ordered
    fewest times after ordering (`place_orders(extra_copy=True)` in bench/payments_bench.py,
    `shopper_buys(extra_copy=True)`): a cart cleared once holds exactly that copy.

    Needs Django set up in the calling process (bench/webhook_chaos.py, the tests).
    """
    from django.db.models import Count

    from cart.models import CartLine
    from orders.models import Order, OrderEvent
    from payments.models import Payment, Receipt

    orders = Order.objects.filter(pk__in=order_ids)
    lines = {
        order.pk: (order.cart_id, {line.book_id: line.quantity for line in order.lines.all()})
        for order in orders.prefetch_related("lines")
    }
    in_cart: dict[int, dict[int, int]] = {}
    for cart_id, book_id, quantity in CartLine.objects.filter(cart_id__in=[c for c, _ in lines.values()]).values_list(
        "cart_id", "book_id", "quantity"
    ):
        in_cart.setdefault(cart_id, {})[book_id] = quantity
    cleared = removed_twice = 0
    for cart_id, ordered in lines.values():
        first = min(ordered, key=lambda book: ordered[book])  # the book a copy was added of
        left = in_cart.get(cart_id, {})
        if left == {first: 1}:
            cleared += 1
        elif left.get(first, 0) < 1:
            removed_twice += 1
    paid_events = (
        OrderEvent.objects.filter(order__in=order_ids, kind=OrderEvent.Kind.PAID)
        .values("order").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    emails = receipt_emails_per_order(mail_dir)
    numbers = dict(orders.values_list("pk", "number"))
    emailed = Receipt.objects.filter(order__in=order_ids, emailed_at__isnull=False).count()
    stock_given_back = orders.filter(status=Order.Status.PAID, stock_released=True).count()
    return [
        ("orders paid", orders.filter(status=Order.Status.PAID).count()),
        ("carts cleared (ordered copies gone, the copy added later kept)", cleared),
        ("receipts emailed (receipt rows with emailed_at)", emailed),
        ("receipt emails sent (worker's mail folder)", sum(emails[numbers[pk]] for pk in order_ids)),
        ("double: orders with more than one 'paid' OrderEvent", paid_events),
        ("double: orders with more than one receipt row", orders.annotate(n=Count("receipt")).filter(n__gt=1).count()),
        ("double: orders whose receipt was emailed more than once", sum(emails[numbers[pk]] > 1 for pk in order_ids)),
        ("double: carts that lost the copy added after ordering (a line removed twice)", removed_twice),
        ("double: paid orders whose reserved stock was given back", stock_given_back),
        ("payments not 'succeeded' in our rows", orders.exclude(payment__status=Payment.Status.SUCCEEDED).count()),
    ]


# --- Several machines: one database, one Redis, a load balancer -------------------------


class Balancer:
    """A round-robin TCP proxy on loopback: the load balancer in front of the web servers.

    Each new connection goes to the next web server in turn (HTTP keep-alive keeps a
    connection on the server it reached, as an L4 balancer does). The shop's one webhook
    endpoint is registered at the balancer's address, as it would be at the public URL of a
    real load balancer: each delivery reaches one web server, whichever is next. Registering an
    endpoint per web server instead would have Stripe send every event to each of them.
    """

    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.connections = collections.Counter()  # backend port: connections handed to it
        self._next = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._closed = threading.Event()

    def __enter__(self) -> Balancer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closed.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                backend = self.backends[self._next % len(self.backends)]
                self._next += 1
                self.connections[backend[1]] += 1
            threading.Thread(target=self._serve, args=(client, backend), daemon=True).start()

    @staticmethod
    def _serve(client: socket.socket, backend: tuple[str, int]) -> None:
        try:
            upstream = socket.create_connection(backend, timeout=REQUEST_TIMEOUT)
        except OSError:
            client.close()
            return

        def pipe(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                # Half-close: the other direction may still be answering.
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
        back.start()
        pipe(client, upstream)
        back.join()
        client.close()
        upstream.close()


@dataclass
class Machines:
    shop: Shop  # `url` is the balancer's: shoppers and Stripe's webhooks go through it
    web_urls: list[str]  # each web server directly, bypassing the balancer
    workers: list[str]  # the Celery node names, `celery@machine-a`, `stripe@machine-a`, ...
    balancer: Balancer
    log_path: Path

    @property
    def names(self) -> list[str]:
        return [chr(ord("a") + n) for n in range(len(self.web_urls))]

    def log_lines(self, process: str) -> list[str]:
        """Lines that honcho prefixed with this process's name (`web-a`, `worker-stripe-b`, ...)."""
        prefix = re.compile(rf"^\S+ {re.escape(process)}\.1\s+\| ")
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if prefix.match(line)]

    def webhook_posts(self) -> dict[str, int]:
        """Deliveries each machine's web server answered (gunicorn's access log)."""
        return {name: sum('"POST /stripe/webhook/' in line for line in self.log_lines(f"web-{name}")) for name in self.names}

    def webhook_tasks(self) -> dict[str, int]:
        """`payments.webhook_process` tasks each machine's worker-stripe finished."""
        return {
            name: sum("payments.webhook_process" in line and "succeeded" in line for line in self.log_lines(f"worker-stripe-{name}"))
            for name in self.names
        }

    def deadlocks(self) -> int:
        return len(re.findall(r"deadlock detected", self.log_path.read_text(errors="replace"), re.IGNORECASE))


def shoppers_pay(shop: Shop, tally: Tally, *, shoppers: int, purchases: int) -> list[str | None]:
    """`shoppers` guests at once buy `purchases` books each, each adding a copy after ordering
    (`shopper_buys(extra_copy=True)`); the order numbers, None where a purchase did not end paid."""

    def buy(n: int) -> str | None:
        return shopper_buys(shop, tally, book_id=shop.book_ids[n % 3], shopper=n, extra_copy=True)

    with concurrent.futures.ThreadPoolExecutor(shoppers) as pool:
        return list(pool.map(buy, range(shoppers * purchases)))


def _machines_procfile(workdir: Path, *, machines: list[str], web_ports: list[int], emulator: str) -> Path:
    """The production Procfile's processes, once per machine (beat once), on loopback ports.

    Each machine's Celery workers get the machine's name in their node name, as `%h` would give
    them on their own hosts.
    """
    commands = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip() and not line.startswith("#")
    )
    lines = [f"emulator: {emulator}"]
    for machine, port in zip(machines, web_ports, strict=True):
        web = commands["web"].replace("0.0.0.0:${PORT:-8000}", f"127.0.0.1:{port}")
        lines += [
            f"web-{machine}: {web}",
            f"worker-{machine}: {commands['worker']} --hostname celery@machine-{machine}",
            f"worker-stripe-{machine}: {commands['worker-stripe'].replace('@%h', f'@machine-{machine}')}",
        ]
    lines.append(f"beat: {commands['beat'].replace('/tmp/celerybeat-schedule', str(workdir / 'celerybeat-schedule'))}")
    path = workdir / "Procfile"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def running_machines(
    *,
    database_url: str,
    redis_url: str,
    workdir: Path,
    machines: int = 2,
    emulator_options: tuple[str, ...] = (),
    environment: dict[str, str] | None = None,
) -> Iterator[Machines]:
    """`machines` machines of the shop (web, worker, worker-stripe each), beat once, the emulator,
    and a balancer, on one migrated PostgreSQL database and one Redis; stopped on exit.

    Plain HTTP on loopback. `environment` adds or overrides variables
    for every process (WEB_CONCURRENCY, CELERY_STRIPE_CONCURRENCY, throttles, ...).
    """
    names = [chr(ord("a") + n) for n in range(machines)]
    web_ports, emulator_port = [free_port() for _ in names], free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    # The machines talk to the emulator, and the browser tests' async escape hatch (set in the
    # test process) is refused by the production start-up checks.
    dropped = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="bookstore.settings",
        # Only for the static files: without DEBUG every page needs collectstatic's manifest, a
        # minute's work per run here. The database, Redis, Celery and locks are the same either way.
        DJANGO_DEBUG="true",
        DJANGO_HTTPS="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        # No connection kept between requests and tasks: the test drops its database at the end.
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL=redis_url,
        STRIPE_EMULATOR_URL=emulator_url,
        # Receipts rendered on one machine are downloaded from another: shared storage, as in production.
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        EMAIL_URL=f"filemail:///{workdir / 'mail'}",
        LOG_LEVEL="WARNING",
        WEB_CONCURRENCY="2",
        CELERY_CONCURRENCY="1",
        CELERY_STRIPE_CONCURRENCY="4",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    env.update(environment or {})
    emulator = f"python -m stripe_emulator --host 127.0.0.1 --port {emulator_port} --log-level WARNING {' '.join(emulator_options)}"
    procfile = _machines_procfile(workdir, machines=names, web_ports=web_ports, emulator=emulator)
    book_ids = _demo_books(env)
    log_path = workdir / "processes.log"
    with log_path.open("ab") as log:
        honcho = subprocess.Popen(
            [str(Path(sys.executable).with_name("honcho")), "-f", str(procfile), "-d", str(ROOT), "start"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    workers = [f"{queue}@machine-{name}" for name in names for queue in ("celery", "stripe")]
    web_urls = [f"http://127.0.0.1:{port}" for port in web_ports]
    try:
        with Balancer([("127.0.0.1", port) for port in web_ports]) as balancer:
            shop = Shop(url=balancer.url, emulator_url=emulator_url, log_path=log_path, book_ids=book_ids)
            _wait_until_machines_serve(shop, honcho, web_urls=web_urls, workers=workers)
            # Once for all machines, at the address Stripe is given: the balancer's.
            _manage(env, "register_webhook_endpoint", "--url", balancer.url)
            yield Machines(shop=shop, web_urls=web_urls, workers=workers, balancer=balancer, log_path=log_path)
    finally:
        _stop(honcho)


def _wait_until_machines_serve(shop: Shop, honcho: subprocess.Popen, *, web_urls: list[str], workers: list[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if honcho.poll() is not None:
            raise RuntimeError(f"The shop's processes exited:\n{shop.log_tail()}")
        log = shop.log_path.read_text(errors="replace")
        with contextlib.suppress(requests.RequestException):
            if (
                all(requests.get(f"{url}/", timeout=5).status_code == 200 for url in web_urls)
                and requests.get(f"{shop.emulator_url}/_emulator", timeout=5).ok
                and all(f"{worker} ready." in log for worker in workers)
            ):
                return
        time.sleep(0.5)
    raise RuntimeError(f"The machines did not start within {STARTUP_TIMEOUT} s:\n{shop.log_tail()}")
