"""Buy a book end to end through the JSON API of a running shop, and time each step.

    .venv/bin/python bench/api_buy_book.py [http://127.0.0.1:8000] [--guest | --username reader --password ...]

Signs in for a token (the demo shopper of `load_demo_data` by default) or shops as a guest
through the session cookie, lists books, adds one to the cart, places the order, starts the
payment, then confirms the PaymentIntent at Stripe (the emulator) exactly as the Payment
Element does from a browser: the publishable key, the client secret and a test card, never
the secret key. It polls the payment until Stripe's webhook has marked the order paid, then
waits for the receipt, which a Celery worker renders (`make run` starts one), and downloads
it. Standard library only, so it runs from any Python 3.11.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import sys
import time
import uuid
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

SHIPPING = {"name": "Ada Lovelace", "line1": "1 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "GB"}
RETURN_URL = "http://127.0.0.1:9/return"  # never visited: a card without 3-D Secure does not redirect


class Failed(Exception):
    pass


class Shop:
    """The API over HTTP, as an app would call it: JSON in and out, a token or the session cookie."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies))
        self.headers: dict[str, str] = {}

    def request(self, method: str, url: str, body: dict | None = None, *, form: bool = False, headers=None):
        """(status, parsed JSON or raw bytes, response headers); error statuses are returned, not raised."""
        url = url if url.startswith("http") else self.base_url + url
        data = None
        all_headers = {"Accept": "application/json, application/pdf", **self.headers, **(headers or {})}
        if body is not None and form:
            data = urlencode(body).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if method != "GET" and url.startswith(self.base_url):
            csrf = next((cookie.value for cookie in self.cookies if cookie.name == "csrftoken"), None)
            if csrf:
                all_headers["X-CSRFToken"] = csrf
        try:
            with self.opener.open(Request(url, data=data, method=method, headers=all_headers), timeout=30) as response:
                return response.status, self._parse(response.read(), response.headers), response.headers
        except HTTPError as error:
            return error.code, self._parse(error.read(), error.headers), error.headers

    @staticmethod
    def _parse(raw: bytes, headers):
        return json.loads(raw) if headers.get_content_type() == "application/json" else raw

    def expect(self, status: int, method: str, url: str, body: dict | None = None, **kwargs):
        got, data, headers = self.request(method, url, body, **kwargs)
        if got != status:
            message = data.get("error", data) if isinstance(data, dict) else data[:200]
            message = message.get("message", message) if isinstance(message, dict) else message
            raise Failed(f"{method} {url} answered {got}, expected {status}: {message}")
        return data, headers


def step(name: str, timings: list[tuple[str, float]]):
    """Times one step and prints it as soon as it is done."""

    class Timer:
        def __enter__(self):
            self.started = time.perf_counter()
            return self

        def __exit__(self, exc_type, exc, tb):
            elapsed = time.perf_counter() - self.started
            timings.append((name, elapsed))
            print(f"{name:<34}{elapsed * 1000:>9.1f} ms{'  FAILED' if exc_type else ''}", flush=True)

    return Timer()


def poll(shop: Shop, url: str, until, *, timeout: float, interval: float = 0.2) -> dict | None:
    deadline = time.monotonic() + timeout
    while True:
        status, _ = shop.expect(200, "GET", url)
        if until(status):
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def buy(args) -> int:
    shop = Shop(args.base_url)
    timings: list[tuple[str, float]] = []
    with step("sign in", timings):
        if args.guest:
            # A guest's cart lives in the session: the first answer sets its cookie and the CSRF token.
            shop.expect(200, "GET", "/api/v1/cart/")
        else:
            token, _ = shop.expect(200, "POST", "/api/v1/auth/token/", {"username": args.username, "password": args.password})
            shop.headers["Authorization"] = f"Token {token['token']}"
    with step("list books", timings):
        books, _ = shop.expect(200, "GET", "/api/v1/books/?page_size=100")
        book = next((book for book in books["results"] if book["stock"] > 0), None)
        if book is None:
            raise Failed("No book in stock: run `manage.py load_demo_data`.")
    with step("add to cart", timings):
        shop.expect(201, "POST", "/api/v1/cart/lines/", {"book": book["id"], "quantity": 1})
    with step("place order", timings):
        order, _ = shop.expect(
            201, "POST", "/api/v1/orders/", {"email": args.email, "shipping": SHIPPING}, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
    if args.guest:
        shop.headers["X-Order-Access-Key"] = order["access_key"]
    payment_url = f"/api/v1/orders/{order['number']}/payment/"
    with step("create payment", timings):
        started, _ = shop.expect(200, "POST", payment_url)
    stripe_api = args.stripe_api_base or started["stripe_js_url"].removesuffix("/v3/").replace("js.stripe.com", "api.stripe.com")
    with step("confirm at Stripe (as Stripe.js)", timings):
        confirm_status, confirmed, _ = shop.request(
            "POST",
            f"{stripe_api}/v1/payment_intents/{started['payment_intent']}/confirm",
            {"key": started["publishable_key"], "client_secret": started["client_secret"], "payment_method": args.card, "return_url": RETURN_URL},
            form=True,
        )
    if confirm_status not in (200, 402):
        raise Failed(f"Stripe answered the confirm with {confirm_status}: {confirmed.get('error', confirmed)}")
    if confirm_status == 402:
        # A declined card: Stripe.js shows error.message; the webhook tells the shop too.
        print(f"Stripe declined the card: {confirmed['error']['message']}")
    with step("poll until paid", timings):
        paid = poll(shop, payment_url, lambda status: status["paid"] or status["last_error_message"], timeout=args.timeout)
    if paid is None or not paid["paid"]:
        reason = paid["last_error_message"] if paid else f"not paid after {args.timeout:g} s: is the webhook endpoint registered?"
        raise Failed(f"Order {order['number']} is not paid; the shop says: {reason}")
    with step("poll until receipt rendered", timings):
        ready = poll(shop, payment_url, lambda status: status["receipt_url"], timeout=args.timeout)
    receipt_note = "receipt: none"
    if ready is None:
        print(f"No receipt after {args.timeout:g} s: is a Celery worker running? (`make run` starts one.)")
    else:
        with step("download receipt", timings):
            pdf, headers = shop.expect(200, "GET", ready["receipt_url"], headers={"Accept": "application/pdf"})
        receipt_note = f"receipt: {headers.get_filename()}, {len(pdf)} bytes"
    print(f"{'total':<34}{sum(t for _, t in timings) * 1000:>9.1f} ms")
    print(f"Bought “{book['title']}” for {order['total']['formatted']}: order {order['number']}, {receipt_note}")
    return 0 if ready else 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--guest", action="store_true", help="shop as a guest (session cookie, order access key)")
    parser.add_argument("--username", default="reader", help="default: the demo shopper from load_demo_data")
    parser.add_argument("--password", default="lantern-reader-2026")
    parser.add_argument("--email", default="ada@example.com")
    parser.add_argument("--card", default="pm_card_visa", help="a Stripe test PaymentMethod, e.g. pm_card_chargeDeclined")
    parser.add_argument("--stripe-api-base", help="where Stripe.js talks to; default: derived from the shop's stripe_js_url")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for the webhook and for the receipt")
    args = parser.parse_args()
    try:
        return buy(args)
    except (Failed, OSError) as exc:
        print(f"Stopped: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
