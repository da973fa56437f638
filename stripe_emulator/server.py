"""HTTP: the Stripe API under /v1, Stripe.js and the 3D Secure page for browsers, and /_emulator controls."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources as package_files
from string import Template
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from . import bank, payments, resources
from . import checkout
from .backend import DEFAULT_API_VERSION, Backend, Call
from .controls import ControlError
from .errors import StripeError, authentication, invalid_request
from .params import list_param, parse_form

log = logging.getLogger("stripe_emulator")

SECRET_KEY = re.compile(r"^(sk|rk)_test_[a-zA-Z0-9]{24,}$")
PUBLISHABLE_KEY = re.compile(r"^pk_test_[a-zA-Z0-9]{24,}$")
API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
MAX_IDEMPOTENCY_KEY = 255
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Request-Id, Idempotent-Replayed, Stripe-Version",
}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Callable[..., dict[str, Any]]
    publishable: bool = False  # a browser may call it with a publishable key (and a client secret)

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{\w+\}", r"([^/]+)", self.pattern) + "$")


ROUTES = [
    Route("GET", "/v1/account", resources.account_retrieve),
    Route("POST", "/v1/customers", resources.customer_create),
    Route("GET", "/v1/customers", resources.customer_list),
    Route("GET", "/v1/customers/{id}", resources.customer_retrieve),
    Route("POST", "/v1/customers/{id}", resources.customer_update),
    Route("DELETE", "/v1/customers/{id}", resources.customer_delete),
    Route("GET", "/v1/customers/{id}/payment_methods", resources.customer_payment_method_list),
    Route("POST", "/v1/payment_methods", resources.payment_method_create, publishable=True),
    Route("GET", "/v1/payment_methods", resources.payment_method_list),
    Route("GET", "/v1/payment_methods/{id}", resources.payment_method_retrieve),
    Route("POST", "/v1/payment_methods/{id}", resources.payment_method_update),
    Route("POST", "/v1/payment_methods/{id}/attach", resources.payment_method_attach),
    Route("POST", "/v1/payment_methods/{id}/detach", resources.payment_method_detach),
    Route("POST", "/v1/payment_intents", payments.payment_intent_create),
    Route("GET", "/v1/payment_intents", payments.payment_intent_list),
    Route("GET", "/v1/payment_intents/{id}", payments.payment_intent_retrieve, publishable=True),
    Route("POST", "/v1/payment_intents/{id}", payments.payment_intent_update),
    Route("POST", "/v1/payment_intents/{id}/confirm", payments.payment_intent_confirm, publishable=True),
    Route("POST", "/v1/payment_intents/{id}/cancel", checkout.payment_intent_cancel),
    Route("POST", "/v1/checkout/sessions", checkout.session_create),
    Route("GET", "/v1/checkout/sessions", checkout.session_list),
    Route("GET", "/v1/checkout/sessions/{id}", checkout.session_retrieve),
    Route("GET", "/v1/checkout/sessions/{id}/line_items", checkout.session_line_items),
    Route("POST", "/v1/checkout/sessions/{id}/expire", checkout.session_expire),
    Route("GET", "/v1/charges", payments.charge_list),
    Route("GET", "/v1/charges/{id}", payments.charge_retrieve),
    Route("POST", "/v1/refunds", payments.refund_create),
    Route("GET", "/v1/refunds", payments.refund_list),
    Route("GET", "/v1/refunds/{id}", payments.refund_retrieve),
    Route("GET", "/v1/disputes", payments.dispute_list),
    Route("GET", "/v1/disputes/{id}", payments.dispute_retrieve),
    Route("GET", "/v1/mandates/{id}", bank.mandate_retrieve),
    Route("GET", "/v1/balance_transactions", resources.balance_transaction_list),
    Route("GET", "/v1/balance_transactions/{id}", resources.balance_transaction_retrieve),
    Route("GET", "/v1/events", resources.event_list),
    Route("GET", "/v1/events/{id}", resources.event_retrieve),
    Route("POST", "/v1/webhook_endpoints", resources.webhook_endpoint_create),
    Route("GET", "/v1/webhook_endpoints", resources.webhook_endpoint_list),
    Route("GET", "/v1/webhook_endpoints/{id}", resources.webhook_endpoint_retrieve),
    Route("POST", "/v1/webhook_endpoints/{id}", resources.webhook_endpoint_update),
    Route("DELETE", "/v1/webhook_endpoints/{id}", resources.webhook_endpoint_delete),
]
_COMPILED = [(route, route.regex) for route in ROUTES]


def _static(name: str) -> str:
    return package_files.files(__package__).joinpath(name).read_text()


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self.stripe_js = _static("static/stripe.js").encode()
        self.challenge_page = Template(_static("templates/challenge.html"))
        self.challenge_done_page = Template(_static("templates/challenge_done.html"))
        self.bank_page = Template(_static("templates/bank.html"))
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: stripe-python reuses its connections
    # Headers and body leave in one segment (the handler flushes after each request);
    # sent apart, Nagle and delayed ACKs cost some 40 ms per call.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer
    error_content_type = "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        # CORS preflight: the shop's pages (another origin) call the API from Stripe.js.
        self._send(204, b"", "text/plain", {
            "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, Stripe-Version, Idempotency-Key, "
                                            "Stripe-Account",
            "Access-Control-Max-Age": "600",
        })

    # --- plumbing ----------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return self.server.backend

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        try:
            if url.path.startswith("/v1/"):
                self._api(method, url.path, url.query, body)
            elif url.path.startswith("/_emulator"):
                self._control(method, url.path, url.query, body)
            elif url.path in ("/v3", "/v3/"):
                self._send(200, self.server.stripe_js, "application/javascript; charset=utf-8",
                           {"Cache-Control": "no-cache"})
            elif url.path.startswith("/3ds/"):
                self._challenge(method, url.path.removeprefix("/3ds/"), body)
            elif url.path.startswith(checkout.PAGE_PREFIX):
                host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
                self._send(*checkout.hosted_page(self.backend, method, url.path, url.query, body, host))
            elif url.path.startswith("/bank/"):
                self._bank_redirect(method, url.path.removeprefix("/bank/"), body)
            else:
                self._send_json(404, {"error": {"type": "invalid_request_error",
                                                "message": f"Unrecognized request URL ({method}: {url.path})."}})
        except Exception:
            log.error("unexpected error on %s %s\n%s", method, self.path, traceback.format_exc())
            self._send_json(500, {"error": {"type": "api_error", "message": "The emulator failed; see its log."}})

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in {**CORS_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body, indent=2).encode(), "application/json", headers)

    # --- the Stripe API ----------------------------------------------------------

    def _api(self, method: str, path: str, query: str, body: str) -> None:
        backend = self.backend
        raw = parse_form(query) if method != "POST" else {**parse_form(query), **parse_form(body)}
        request_id = "req_" + secrets.token_hex(7)
        headers = {"Request-Id": request_id}
        # Every answer takes this long, as over the internet; only a request that gets to run
        # spends it holding its Idempotency-Key (see _execute).
        latency = backend.controls.api_latency()
        backend.stats.count("api_requests")
        if not backend.limiter.admit(self._api_key(raw) or "", backend.controls.settings.rate_limit):
            backend.stats.count("rate_limited")
            time.sleep(latency)
            self._send_json(429, _fault_body(429), headers)
            return
        fault = backend.controls.take_api_fault(method, path)
        if fault and fault.slow:
            time.sleep(fault.slow)
        if fault and fault.status:
            time.sleep(latency)
            self._send_json(fault.status, _fault_body(fault.status), headers)
            return
        try:
            route, args = _route(method, path)
            call = self._call(route, raw, request_id)
            headers["Stripe-Version"] = call.version
        except StripeError as exc:
            time.sleep(latency)
            self._send_json(exc.status, exc.body(), headers)
            return
        status, payload, answer_headers = self._execute(route, call, raw, args, method, path, latency)
        headers.update(answer_headers)
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        self._send(status, payload.encode(), "application/json", headers)

    def _call(self, route: Route, raw: dict[str, Any], request_id: str) -> Call:
        key = self._api_key(raw)
        if not key:
            raise authentication("You did not provide an API key. You need to provide your API key in the "
                                 "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                                 "YOUR_SECRET_KEY').")
        publishable = bool(PUBLISHABLE_KEY.match(key))
        if not publishable and not SECRET_KEY.match(key):
            raise authentication(f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}")
        if publishable and not route.publishable:
            raise authentication("This API call cannot be made with a publishable API key. Please use a secret API "
                                 "key.")
        version = self.headers.get("Stripe-Version") or DEFAULT_API_VERSION
        if not API_VERSION.match(version):
            raise invalid_request(f"Invalid Stripe API version: {version}")
        idempotency_key = self.headers.get("Idempotency-Key") if route.method != "GET" else None
        if idempotency_key and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise invalid_request(f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters.")
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return Call(api_key=key, version=version, request_id=request_id, idempotency_key=idempotency_key,
                    base_url=f"http://{host}", publishable=publishable)

    def _api_key(self, raw: dict[str, Any]) -> str | None:
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ").strip()
        # Stripe.js sends the publishable key as a form field, the way real Stripe.js does.
        key = raw.get("key")
        return key if isinstance(key, str) else None

    def _execute(self, route: Route, call: Call, raw: dict[str, Any], args: tuple[str, ...], method: str,
                 path: str, latency: float) -> tuple[int, str, dict[str, str]]:
        """Run the handler under the state lock, or answer for the same Idempotency-Key as Stripe would.

        A request with a key holds it while it runs (its latency included): the same key
        meanwhile gets 409 `idempotency_key_in_use`; afterwards, the kept answer.
        """
        backend = self.backend
        store = backend.store
        request = {"method": method, "path": path, "params": raw}
        scope = f"{call.api_key}\n{call.idempotency_key}"
        with store.lock:
            early = self._idempotent_answer(call, scope, request) if call.idempotency_key else None
            holds_key = bool(call.idempotency_key) and early is None
            if holds_key:
                backend.in_progress.add(scope)
        try:
            time.sleep(latency)
            if early:
                return early
            with store.lock:
                saved, answer_headers = True, {}
                if backend.controls.take_server_error():
                    # The handler does not run; Stripe keeps this 500 under the key all the same.
                    backend.stats.count("server_errors")
                    status, body = 500, _fault_body(500)
                    retry = backend.controls.faults.server_error_should_retry
                    answer_headers["Stripe-Should-Retry"] = "true" if retry else "false"
                else:
                    try:
                        result = route.handler(backend, call, raw, *args)
                        expand = list_param(raw, "expand")
                        status, body = 200, backend.expand(result, expand) if expand else result
                    except StripeError as exc:
                        status, body, saved = exc.status, exc.body(), exc.saved
                # Serialized under the lock: the stored objects may change as soon as it is released.
                payload = json.dumps(body, indent=2)
                if method != "GET":
                    if call.idempotency_key and saved:
                        store.remember(scope, request, status, payload, answer_headers)
                    store.save()
            return status, payload, answer_headers
        finally:
            if holds_key:
                with store.lock:
                    backend.in_progress.discard(scope)

    def _idempotent_answer(self, call: Call, scope: str, request: dict[str, Any]
                           ) -> tuple[int, str, dict[str, str]] | None:
        """What a key already used answers (under the state lock); None if the request is to run."""
        backend = self.backend
        previous = backend.store.idempotent_result(scope)
        if previous and previous["request"] != request:
            error = StripeError(
                400, "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with. Try using a key other than '{call.idempotency_key}' if you meant to execute a "
                "different request.",
            )
            return error.status, json.dumps(error.body(), indent=2), {}
        if previous:
            backend.stats.count("idempotent_replays")
            # Keys kept in a state file from before answers had headers have none.
            return previous["status"], previous["body"], {**previous.get("headers", {}), "Idempotent-Replayed": "true"}
        if scope in backend.in_progress:
            backend.stats.count("idempotency_key_in_use")
            # Not kept: once the first request is done, the same key gets its answer.
            error = StripeError(
                409, "idempotency_error",
                "There is currently another in-progress request using this Stripe API key and idempotency key. "
                "Please try again later.",
                code="idempotency_key_in_use",
            )
            return error.status, json.dumps(error.body(), indent=2), {}
        return None

    # --- controls for tests and demos --------------------------------------------

    def _control(self, method: str, path: str, query: str, body: str) -> None:
        backend = self.backend
        controls = backend.controls
        try:
            data = json.loads(body) if body.strip() else {}
            if (method, path) == ("GET", "/_emulator"):
                self._send_json(200, backend.summary())
            elif (method, path) == ("POST", "/_emulator/reset"):
                backend.reset()
                self._send_json(200, {"reset": True})
            elif path == "/_emulator/faults" and method in ("GET", "POST", "DELETE"):
                faults = {"GET": controls.faults_dict, "POST": lambda: controls.update_faults(data),
                          "DELETE": controls.clear_faults}[method]()
                self._send_json(200, faults)
            elif path == "/_emulator/settings" and method in ("GET", "POST"):
                self._send_json(200, controls.update_settings(data) if method == "POST" else controls.settings_dict())
            elif (method, path) == ("GET", "/_emulator/stats"):
                self._send_json(200, backend.stats.snapshot())
            elif (method, path) == ("GET", "/_emulator/deliveries"):
                wait = parse_qs(query).get("wait_idle")
                idle = backend.scheduler.wait_idle(float(wait[0]) if wait else 0)
                self._send_json(200, {"idle": idle, "data": backend.dispatcher.deliveries()})
            else:
                self._send_json(404, {"error": f"no control route {method} {path}"})
        except (ValueError, ControlError, TypeError) as exc:
            self._send_json(400, {"error": str(exc)})

    # --- 3D Secure, as the shopper's bank would show it --------------------------

    def _challenge(self, method: str, token: str, body: str) -> None:
        store = self.backend.store
        with store.lock:
            pi = payments.challenge(self.backend, token)
            if pi is None:
                self._send_html(404, self.server.challenge_done_page.substitute(
                    message="This authentication has already been completed or has expired.", script=""))
                return
            if method == "GET":
                self._send_html(200, self.server.challenge_page.substitute(
                    token=token, amount=payments.format_amount(pi["amount"], pi["currency"]),
                ))
                return
            form = parse_form(body)
            if form.get("action") not in ("complete", "fail"):
                self._send_html(400, self.server.challenge_done_page.substitute(
                    message="Choose Complete or Fail.", script=""))
                return
            pi, return_url = payments.challenge_finish(self.backend, token, form["action"] == "complete")
            store.save()
        status = {"succeeded": "succeeded", "processing": "processing"}.get(pi["status"], "failed")
        if form.get("embedded") == "1":
            # In Stripe.js's modal: tell the page, which then reads the PaymentIntent itself.
            script = f"<script>parent.postMessage({json.dumps({'stripeEmulator3ds': status})}, '*');</script>"
            self._send_html(200, self.server.challenge_done_page.substitute(message="Authentication finished.",
                                                                            script=script))
        elif return_url:
            self._send(303, b"", "text/plain", {"Location": _with_query(return_url, {
                "payment_intent": pi["id"],
                "payment_intent_client_secret": pi["client_secret"],
                "redirect_status": status,
            })})
        else:
            self._send_html(200, self.server.challenge_done_page.substitute(
                message=f"Authentication finished ({status}). You can close this page.", script=""))

    # --- iDEAL and Bancontact: the bank's page the shopper is redirected to -------

    def _bank_redirect(self, method: str, token: str, body: str) -> None:
        store = self.backend.store
        with store.lock:
            pi = payments.challenge(self.backend, token)
            if pi is None:
                self._send_html(404, self.server.challenge_done_page.substitute(
                    message="This payment has already been completed, has expired or was canceled.", script=""))
                return
            pm = store.get("payment_method", pi["payment_method"])
            if method == "GET":
                self._send_html(200, self.server.bank_page.substitute(
                    token=token, method=bank.method_name(pm["type"]),
                    amount=payments.format_amount(pi["amount"], pi["currency"]),
                ))
                return
            form = parse_form(body)
            if form.get("action") not in ("authorize", "fail"):
                self._send_html(400, self.server.challenge_done_page.substitute(
                    message="Choose Authorize or Fail.", script=""))
                return
            pi, return_url = bank.redirect_finish(self.backend, token, form["action"] == "authorize")
            store.save()
        status = "succeeded" if pi["status"] == "succeeded" else "failed"
        self._send(303, b"", "text/plain", {"Location": _with_query(return_url or "/", {
            "payment_intent": pi["id"],
            "payment_intent_client_secret": pi["client_secret"],
            "redirect_status": status,
        })})

    def _send_html(self, status: int, html: str) -> None:
        self._send(status, html.encode(), "text/html; charset=utf-8")


def _route(method: str, path: str) -> tuple[Route, tuple[str, ...]]:
    for route, regex in _COMPILED:
        match = regex.match(path)
        if match and route.method == method:
            return route, match.groups()
    raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}). Please see "
                      "https://stripe.com/docs or the emulator's README for what it covers.")


def _fault_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"error": {"type": "invalid_request_error", "code": "rate_limit",
                          "message": "Request rate limit exceeded. You can learn more about rate limits here "
                                     "https://stripe.com/docs/rate-limits."}}
    return {"error": {"type": "api_error", "message": "An unknown error occurred (injected by the emulator)."}}


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))
