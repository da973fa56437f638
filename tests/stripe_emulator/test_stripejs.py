"""The emulator's Stripe.js in Chromium: a bare shop page on another origin pays a PaymentIntent."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import PUBLISHABLE_KEY

pytestmark = pytest.mark.browser

# The shop's checkout page, reduced to what Stripe's own guide shows.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout</title>
<script src="{emulator}/v3/"></script></head>
<body>
<form id="payment-form">
  <div id="payment-element"></div>
  <button id="pay" type="submit">Pay</button>
  <p id="message" role="alert"></p>
  <p id="state"></p>
</form>
<script>
  const stripe = Stripe("{key}");
  const elements = stripe.elements({{clientSecret: "{secret}", appearance: {{theme: "stripe"}}}});
  const paymentElement = elements.create("payment");
  paymentElement.mount("#payment-element");
  paymentElement.on("change", (event) => {{ document.getElementById("state").textContent =
    JSON.stringify({{complete: event.complete, empty: event.empty, error: event.error && event.error.code}}); }});
  document.getElementById("payment-form").addEventListener("submit", async (event) => {{
    event.preventDefault();
    const {{error: submitError}} = await elements.submit();
    if (submitError) return;
    const result = await stripe.confirmPayment({{
      elements, confirmParams: {{return_url: location.origin + "/complete"}}, redirect: "{redirect}"}});
    document.getElementById("message").textContent = result.error ? result.error.message
      : "Paid: " + result.paymentIntent.status;
  }});
</script>
</body></html>"""


class ShopPages:
    """Serves the checkout page and the return page from a port of its own (another origin)."""

    def __init__(self, emulator_url: str) -> None:
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/checkout":
                    body = PAGE.format(emulator=emulator_url, key=PUBLISHABLE_KEY, secret=query["secret"],
                                       redirect=query.get("redirect", "always"))
                else:
                    body = "<h1>Thanks</h1>" + "".join(
                        f'<p id="{html.escape(k)}">{html.escape(v)}</p>' for k, v in sorted(query.items()))
                payload = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        pages.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def shop(emulator):
    pages = ShopPages(emulator.url)
    yield pages
    pages.close()


def checkout(page, shop, client, number: str, redirect: str = "always"):
    pi = client.v1.payment_intents.create(params={"amount": 1500, "currency": "eur"})
    page.goto(f"{shop.url}/checkout?secret={pi.client_secret}&redirect={redirect}")
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration date (MM / YY)").fill("12 / 34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay").click()
    return pi


def test_success_redirects_to_return_url(page, shop, client):
    pi = checkout(page, shop, client, "4242 4242 4242 4242")
    page.wait_for_url(f"{shop.url}/complete?**")
    assert page.locator("#redirect_status").text_content() == "succeeded"
    assert page.locator("#payment_intent").text_content() == pi.id
    assert page.locator("#payment_intent_client_secret").text_content() == pi.client_secret
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_decline_shows_the_message(page, shop, client):
    pi = checkout(page, shop, client, "4000000000000002")
    page.locator("#message").get_by_text("Your card was declined.").wait_for()
    assert page.url.startswith(f"{shop.url}/checkout")
    assert client.v1.payment_intents.retrieve(pi.id).last_payment_error.decline_code == "generic_decline"


def test_validation_before_any_request(page, shop, client):
    pi = client.v1.payment_intents.create(params={"amount": 1500, "currency": "eur"})
    page.goto(f"{shop.url}/checkout?secret={pi.client_secret}")
    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    assert '"error":"invalid_number"' in page.locator("#state").text_content()
    page.get_by_role("button", name="Pay").click()
    page.get_by_text("Your card number is invalid.").wait_for()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiration date (MM / YY)").fill("1234")
    assert page.get_by_label("Expiration date (MM / YY)").input_value() == "12 / 34"
    page.get_by_label("Security code (CVC)").fill("123")
    assert '"complete":true' in page.locator("#state").text_content()
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


@pytest.mark.parametrize(("button", "status", "pi_status"), [
    ("Complete", "succeeded", "succeeded"), ("Fail", "failed", "requires_payment_method")])
def test_three_d_secure_redirect(page, shop, client, button, status, pi_status):
    pi = checkout(page, shop, client, "4000 0025 0000 3155")
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{shop.url}/complete?**")
    assert page.locator("#redirect_status").text_content() == status
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.status == pi_status
    if status == "failed":
        assert pi.last_payment_error.code == "payment_intent_authentication_failure"


def test_three_d_secure_in_a_modal_without_redirect(page, shop, client):
    checkout(page, shop, client, "4000002500003155", redirect="if_required")
    page.frame_locator("iframe[title='3D Secure authentication']").get_by_role("button", name="Complete").click()
    page.get_by_text("Paid: succeeded").wait_for()
    assert page.locator("iframe").count() == 0
