"""Checkout Sessions in `payment` mode: the session object, its line items, expiry, and the
Stripe-hosted page at the session's `url` where a shopper pays with a test card, or with SEPA
Direct Debit, iDEAL or Bancontact (bank.py) where the session's currency allows them.

As Stripe does since API version 2022-08-01, a session has no PaymentIntent until the shopper
first submits the page; that PaymentIntent (amount and currency from the line items, metadata
from `payment_intent_data`) then goes through the same confirmation as any other, 3D Secure
challenge page and declines included. The session follows its PaymentIntent through the
backend's event listeners rather than hooks inside payments.py: it completes when the payment
succeeds or starts processing (`checkout.session.completed`, `payment_status` paid or unpaid),
and a payment still processing at completion ends with `checkout.session.async_payment_succeeded`
or `..._failed`: a SEPA debit settling days later, or a card with the `processing_for` setting.

A session expires at `expires_at` (30 minutes to 24 hours after creation, Stripe's bounds),
through the scheduler without keeping the emulator busy, or at once through the expire route;
expiring cancels a PaymentIntent it left unfinished and sends `checkout.session.expired`.
Stripe refuses to cancel a Checkout Session's PaymentIntent directly (`payment_intent_cancel`
wraps that route).
"""

from __future__ import annotations

import copy
import datetime
import html
from importlib import resources as package_files
from string import Template
from typing import Any
from urllib.parse import parse_qsl, quote

from . import bank, objects, payments
from .resources import card_error, payment_method_from_params
from .backend import DEFAULT_API_VERSION, EVENT_LISTENERS, Backend, Call
from .errors import StripeError, invalid_param, invalid_request
from .params import Params

MIN_LIFETIME = 30 * 60  # Stripe's bounds for expires_at, in seconds from creation
MAX_LIFETIME = 24 * 3600
# The methods a hosted page can offer; the PaymentIntent is created with the session's.
PAYMENT_METHOD_TYPES = bank.PAYMENT_METHOD_TYPES
METHOD_NAMES = {"card": "Card", bank.SEPA_DEBIT: "SEPA Direct Debit", bank.IDEAL: "iDEAL",
                bank.BANCONTACT: "Bancontact"}
PAGE_PREFIX = "/c/pay/"
PLACEHOLDER = "{CHECKOUT_SESSION_ID}"

_CREATE_FIELDS = (
    "mode", "line_items", "success_url", "cancel_url", "customer_email", "customer", "client_reference_id",
    "metadata", "payment_intent_data", "expires_at", "payment_method_types", "locale", "submit_type", "ui_mode",
    "currency",
)
_LINE_ITEM_FIELDS = ("price", "price_data", "quantity", "adjustable_quantity", "metadata", "tax_rates")
_PRICE_DATA_FIELDS = ("currency", "product", "product_data", "unit_amount", "unit_amount_decimal", "tax_behavior",
                      "recurring")
_PRODUCT_DATA_FIELDS = ("name", "description", "images", "metadata", "tax_code", "unit_label")
_PAYMENT_INTENT_DATA_FIELDS = ("metadata", "description", "receipt_email", "statement_descriptor",
                               "statement_descriptor_suffix", "capture_method")
LOCALES = ("auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
           "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
           "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW")


def _template(name: str) -> Template:
    return Template(package_files.files(__package__).joinpath(f"templates/{name}").read_text())


PAGE = _template("checkout.html")
GONE_PAGE = _template("checkout_gone.html")


# --- the API -------------------------------------------------------------------------


def session_create(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, _CREATE_FIELDS)
    mode = p.str("mode", required=True, choices=("payment", "setup", "subscription"))
    if mode != "payment":
        raise invalid_param("The emulator's Checkout takes mode=payment only.", param="mode",
                            code="parameter_invalid_string")
    if (p.str("ui_mode", choices=("hosted", "embedded", "custom")) or "hosted") != "hosted":
        raise invalid_param("The emulator's Checkout is hosted only (ui_mode=hosted).", param="ui_mode",
                            code="parameter_invalid_string")
    items = _line_items(p)
    currency = items[0]["currency"]
    total = sum(item["amount_total"] for item in items)
    minimum = 50 if currency not in payments.ZERO_DECIMAL else 1
    if total < minimum:
        raise invalid_request(f"The Checkout Session's total amount due must add up to at least "
                              f"{payments.format_amount(minimum, currency)}", param="line_items")
    for i, kind in enumerate(p.list("payment_method_types")):
        if kind not in PAYMENT_METHOD_TYPES:
            raise invalid_param(f"The payment method type \"{kind}\" is invalid: the emulator's Checkout takes "
                                f"{', '.join(PAYMENT_METHOD_TYPES)}.", param=f"payment_method_types[{i}]",
                                code="payment_method_type_invalid")
    created = objects.now()
    expires_at = p.int("expires_at")
    if expires_at is None:
        expires_at = created + MAX_LIFETIME
    elif expires_at < created + MIN_LIFETIME:
        raise invalid_param("The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
                            "creation.", param="expires_at", code="parameter_invalid_integer")
    elif expires_at > created + MAX_LIFETIME:
        raise invalid_param("The `expires_at` timestamp must be less than 24 hours from Checkout Session "
                            "creation.", param="expires_at", code="parameter_invalid_integer")
    customer = p.str("customer")
    email = p.str("customer_email")
    if customer:
        if email:
            raise invalid_request("You may only specify one of these parameters: customer, customer_email.",
                                  param="customer_email")
        b.store.get("customer", customer, "customer")
    reference = p.str("client_reference_id")
    if reference and len(reference) > 200:
        raise invalid_param("client_reference_id must be at most 200 characters.", param="client_reference_id",
                            code="parameter_invalid_string")
    pi_data = p.sub("payment_intent_data", _PAYMENT_INTENT_DATA_FIELDS)
    if pi_data.str("capture_method", choices=("automatic", "automatic_async", "manual")) == "manual":
        raise invalid_param("The emulator has no manual capture.", param="payment_intent_data[capture_method]",
                            code="parameter_invalid_string")
    session_id = "cs_test_" + objects.token(58)
    session = b.store.add(_session(
        session_id, created=created, expires_at=expires_at, currency=currency, total=total, customer=customer,
        customer_email=email, reference=reference, metadata=p.metadata(), locale=p.str("locale", choices=LOCALES),
        submit_type=p.str("submit_type", choices=("auto", "book", "donate", "pay", "subscribe")),
        success_url=p.str("success_url"), cancel_url=p.str("cancel_url"),
        # Without a list, as with Stripe's dynamic payment methods: every method that takes the currency.
        payment_method_types=p.list("payment_method_types") or [
            kind for kind in PAYMENT_METHOD_TYPES if currency in bank.CURRENCIES.get(kind, (currency,))],
        url=f"{call.base_url}{PAGE_PREFIX}{session_id}",
    ))
    b.store.checkout_line_items[session_id] = items
    b.store.checkout_intent_data[session_id] = {
        "metadata": pi_data.metadata(), "description": pi_data.str("description"),
        "receipt_email": pi_data.str("receipt_email"),
        "statement_descriptor": pi_data.str("statement_descriptor"),
        "statement_descriptor_suffix": pi_data.str("statement_descriptor_suffix"),
    }
    # Not an event a test should wait for: wait_idle stays true while a session is open.
    b.later(expires_at - created, _expire_when_due, b, session_id, waited=False)
    return _answer(b, p, session)


def _line_items(p: Params) -> list[dict[str, Any]]:
    raw_items = p.raw.get("line_items")
    if raw_items in (None, "", []):
        raise invalid_param("`line_items` is required in `payment` mode.", param="line_items",
                            code="parameter_missing")
    if not isinstance(raw_items, list):
        raise invalid_param("Invalid array: line_items", param="line_items")
    items = []
    for i, raw in enumerate(raw_items):
        name = f"line_items[{i}]"
        item = _nested(raw, name, _LINE_ITEM_FIELDS)
        if "price" in item:
            raise invalid_request(f"No such price: '{item.str('price')}'", code="resource_missing",
                                  param=f"{name}[price]")
        if "price_data" not in item:
            raise invalid_param(f"You must specify either `price` or `price_data` in {name}.",
                                param=f"{name}[price_data]", code="parameter_missing")
        price_data = _nested(item.raw["price_data"], f"{name}[price_data]", _PRICE_DATA_FIELDS)
        if "recurring" in price_data:
            raise invalid_param("Recurring prices need mode=subscription.", param=f"{name}[price_data][recurring]",
                                code="parameter_invalid_string")
        currency = (_required_str(price_data, "currency", f"{name}[price_data]")).lower()
        unit_amount = _int(price_data, "unit_amount", f"{name}[price_data]", minimum=0)
        if "product" in price_data:
            raise invalid_request(f"No such product: '{price_data.str('product')}'", code="resource_missing",
                                  param=f"{name}[price_data][product]")
        product = _nested(price_data.raw.get("product_data"), f"{name}[price_data][product_data]",
                          _PRODUCT_DATA_FIELDS)
        product_name = _required_str(product, "name", f"{name}[price_data][product_data]")
        quantity = _int(item, "quantity", name, minimum=1)
        if items and currency != items[0]["currency"]:
            raise invalid_param("All line items must have the same currency.", param=f"{name}[price_data][currency]",
                                code="parameter_invalid_string")
        items.append(_line_item(currency=currency, unit_amount=unit_amount, quantity=quantity, name=product_name,
                                metadata=item.metadata()))
    return items


def _nested(raw: Any, name: str, allowed: tuple[str, ...]) -> Params:
    if not isinstance(raw, dict):
        raise invalid_param(f"Missing required param: {name}.", param=name, code="parameter_missing")
    try:
        return Params(raw, allowed)
    except StripeError as exc:  # name the nested parameter as Stripe does: `line_items[0][quantty]`
        inner = f"{name}[{exc.error['param']}]"
        raise invalid_param(f"Received unknown parameter: {inner}", param=inner, code="parameter_unknown") from None


def _required_str(p: Params, field: str, prefix: str) -> str:
    value = p.raw.get(field)
    if value in (None, "") or not isinstance(value, str):
        raise invalid_param(f"Missing required param: {prefix}[{field}].", param=f"{prefix}[{field}]",
                            code="parameter_missing")
    return value


def _int(p: Params, field: str, prefix: str, *, minimum: int) -> int:
    try:
        value = p.int(field, required=True, minimum=minimum)
    except StripeError as exc:
        exc.error["param"] = f"{prefix}[{field}]"
        raise
    return value or 0


def session_retrieve(b: Backend, call: Call, raw: dict[str, Any], session_id: str) -> dict[str, Any]:
    p = Params(raw)
    return _answer(b, p, _current(b, _get(b, session_id)))


def session_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("payment_intent", "customer", "status", "limit", "starting_after", "ending_before"))
    pi, customer = p.str("payment_intent"), p.str("customer")
    status = p.str("status", choices=("open", "complete", "expired"))
    for session in list(b.store.objects["checkout.session"].values()):
        _current(b, session)
    return b.page("checkout.session", p, "/v1/checkout/sessions", lambda s: (
        pi in (None, s["payment_intent"]) and customer in (None, s["customer"]) and status in (None, s["status"])))


def session_line_items(b: Backend, call: Call, raw: dict[str, Any], session_id: str) -> dict[str, Any]:
    p = Params(raw, ("limit", "starting_after", "ending_before"))
    _get(b, session_id)
    limit = p.int("limit", minimum=1) or 10
    if limit > 100:
        raise invalid_param("This value must be less than or equal to 100.", param="limit",
                            code="parameter_invalid_integer")
    # Line items list in the order they were given, not newest first.
    items = b.store.checkout_line_items.get(session_id, [])
    ids = [item["id"] for item in items]
    after, before = p.str("starting_after"), p.str("ending_before")
    if after in ids:
        items = items[ids.index(after) + 1:]
    elif before in ids:
        items = items[:ids.index(before)][-limit:]
    url = f"/v1/checkout/sessions/{session_id}/line_items"
    return objects.list_of(copy.deepcopy(items[:limit]), url, has_more=len(items) > limit)


def session_expire(b: Backend, call: Call, raw: dict[str, Any], session_id: str) -> dict[str, Any]:
    p = Params(raw)
    session = _current(b, _get(b, session_id))
    if session["status"] != "open":
        raise invalid_request(f"This Checkout Session is {session['status']}: only a Checkout Session with a status "
                              "of `open` can be expired.", code="checkout_session_not_expirable")
    pi = b.store.find(session["payment_intent"] or "")
    if pi is not None and pi["status"] == "processing":
        raise invalid_request("This Checkout Session's payment is processing, so it cannot be expired.",
                              code="checkout_session_not_expirable")
    _expire(b, call, session)
    return _answer(b, p, session)


def payment_intent_cancel(b: Backend, call: Call, raw: dict[str, Any], pi_id: str) -> dict[str, Any]:
    """Stripe's rule: a Checkout Session's PaymentIntent is canceled by expiring the session."""
    pi = b.store.get("payment_intent", pi_id, "intent")
    if pi["status"] in payments.CANCELABLE and pi["status"] != "requires_capture" and _session_of(b, pi_id):
        raise invalid_request("You cannot cancel this PaymentIntent because it belongs to a Checkout Session. "
                              "Expire the Checkout Session instead.", code="payment_intent_unexpected_state",
                              payment_intent=copy.deepcopy(pi))
    return payments.payment_intent_cancel(b, call, raw, pi_id)


def _get(b: Backend, session_id: str) -> dict[str, Any]:
    return b.store.get("checkout.session", session_id, "session")


def _answer(b: Backend, p: Params, session: dict[str, Any]) -> dict[str, Any]:
    """The session, with `line_items` when asked to expand it (it is never part of the object otherwise)."""
    paths = p.list("expand")
    if not any(path.split(".")[0] in ("line_items", "total_details") for path in paths):
        return session
    answer = copy.deepcopy(session)
    if any(path.split(".")[0] == "line_items" for path in paths):
        items = copy.deepcopy(b.store.checkout_line_items.get(session["id"], []))
        if "line_items.data.discounts" in paths:
            for item in items:
                item["discounts"] = []
        answer["line_items"] = objects.list_of(items, f"/v1/checkout/sessions/{session['id']}/line_items")
    if "total_details.breakdown" in paths:
        answer["total_details"]["breakdown"] = {"discounts": [], "taxes": []}
    return answer


# --- what happens to a session -------------------------------------------------------


def _session_of(b: Backend, pi_id: str) -> dict[str, Any] | None:
    return next((s for s in b.store.objects["checkout.session"].values() if s["payment_intent"] == pi_id), None)


def _current(b: Backend, session: dict[str, Any]) -> dict[str, Any]:
    # Also lazily: after a restart from a state file the scheduled expiry is gone.
    if session["status"] == "open" and session["expires_at"] <= objects.now():
        _expire(b, None, session)
    return session


def _expire_when_due(b: Backend, session_id: str) -> None:
    session = b.store.find(session_id)
    if session is not None:
        _current(b, session)


def _expire(b: Backend, call: Call | None, session: dict[str, Any]) -> None:
    pi = b.store.find(session["payment_intent"] or "")
    session["status"] = "expired"
    if pi is not None and pi["status"] in payments.CANCELABLE:
        payments.payment_intent_cancel(b, call or _page_call(""), {"cancellation_reason": "abandoned"}, pi["id"])
    b.emit(call, "checkout.session.expired", session)


def _follow_payment_intent(b: Backend, call: Call | None, kind: str, obj: dict[str, Any]) -> None:
    """The session completes when its payment succeeds or starts processing; a payment still
    processing then ends with an async_payment event."""
    if obj.get("object") != "payment_intent" or kind not in (
            "payment_intent.succeeded", "payment_intent.processing", "payment_intent.payment_failed"):
        return
    session = _session_of(b, obj["id"])
    if session is None:
        return
    if session["status"] == "open" and kind != "payment_intent.payment_failed":
        pm = b.store.find(obj["payment_method"] or "")
        details = (pm or {}).get("billing_details") or objects.BILLING_DETAILS_NONE
        session.update(
            status="complete",
            payment_status="paid" if kind == "payment_intent.succeeded" else "unpaid",
            customer_details={
                "address": details["address"], "business_name": None, "email": session["customer_email"]
                or details["email"], "individual_name": None, "name": details["name"], "phone": details["phone"],
                "tax_exempt": "none", "tax_ids": [],
            },
        )
        b.emit(call, "checkout.session.completed", session)
    elif session["status"] == "complete" and session["payment_status"] == "unpaid":
        if kind == "payment_intent.succeeded":
            session["payment_status"] = "paid"
            b.emit(call, "checkout.session.async_payment_succeeded", session)
        elif kind == "payment_intent.payment_failed":
            b.emit(call, "checkout.session.async_payment_failed", session)


EVENT_LISTENERS.append(_follow_payment_intent)


# --- the hosted page -----------------------------------------------------------------


def hosted_page(b: Backend, method: str, path: str, query: str, body: str, host: str
                ) -> tuple[int, bytes, str, dict[str, str]]:
    """GET shows the page; POST pays; `/return` is where 3D Secure comes back to.
    Returns (status, body, content type, headers)."""
    session_id, _, action = path.removeprefix(PAGE_PREFIX).partition("/")
    base_url = f"http://{host}"
    with b.store.lock:
        session = b.store.objects["checkout.session"].get(session_id)
        if session is None:
            return _html(404, GONE_PAGE.substitute(message="This checkout page does not exist.", back=""))
        _current(b, session)
        if session["status"] == "complete":
            return _redirect(_success_url(session))
        if session["status"] == "expired":
            back = (f'<p><a href="{html.escape(session["cancel_url"])}">Back to the shop</a></p>'
                    if session["cancel_url"] else "")
            return _html(410, GONE_PAGE.substitute(message="This checkout session has expired.", back=back))
        if method == "POST" and not action:
            result = _pay(b, session, dict(parse_qsl(body, keep_blank_values=True)), base_url)
            b.store.save()
            return result
        error = ""
        if action == "return":
            pi = b.store.find(session["payment_intent"] or "")
            error = ((pi or {}).get("last_payment_error") or {}).get("message") or ""
        return _html(200, _render(b, session, error=error, form={}))


def _pay(b: Backend, session: dict[str, Any], form: dict[str, str], base_url: str
         ) -> tuple[int, bytes, str, dict[str, str]]:
    call = _page_call(base_url)
    try:
        pm = b.store.add(_payment_method(form, session))
        pi = b.store.find(session["payment_intent"] or "") or _create_intent(b, call, session)
        confirm: dict[str, Any] = {"payment_method": pm["id"], "return_url": f"{session['url']}/return"}
        if pm["type"] == bank.SEPA_DEBIT:
            # The page showed the mandate's text and the shopper accepted it by paying.
            confirm["mandate_data"] = {"customer_acceptance": {"type": "online", "online": {
                "ip_address": "127.0.0.1", "user_agent": "Stripe Checkout (emulator)"}}}
        payments.payment_intent_confirm(b, call, confirm, pi["id"])
    except StripeError as exc:
        return _html(402 if exc.status == 402 else 400, _render(b, session, error=exc.error["message"], form=form))
    if session["status"] == "complete":
        return _redirect(_success_url(session))
    if pi["status"] == "requires_action":
        return _redirect(pi["next_action"]["redirect_to_url"]["url"])
    return _html(200, _render(b, session, error="", form=form))


def _payment_method(form: dict[str, str], session: dict[str, Any]) -> dict[str, Any]:
    kind = form.get("method") or "card"
    if kind not in session["payment_method_types"]:
        raise invalid_request("Choose one of the payment methods shown.", param="method")
    billing = {"name": form.get("name", ""), "email": session["customer_email"] or form.get("email", "")}
    if kind == "card":
        # What Stripe's page says before it sends anything.
        for field, message in (("number", "Your card number is incomplete."),
                               ("expiry", "Your card's expiration date is incomplete."),
                               ("cvc", "Your card's security code is incomplete.")):
            if not form.get(field, "").strip():
                raise card_error(f"incomplete_{field}", message, param=field)
        month, _, year = form.get("expiry", "").replace(" ", "").partition("/")
        card = {"number": form.get("number", ""), "exp_month": month, "exp_year": year, "cvc": form.get("cvc", "")}
        return payment_method_from_params(Params({"card": card, "billing_details": billing},
                                                 ("card", "billing_details")))
    details = {bank.SEPA_DEBIT: {"iban": form.get("iban", "")}, bank.IDEAL: {"bank": form.get("ideal_bank", "")},
               bank.BANCONTACT: {}}[kind]
    return bank.payment_method_from_params(Params({kind: details, "billing_details": billing},
                                                  (kind, "billing_details")), kind)


def _create_intent(b: Backend, call: Call, session: dict[str, Any]) -> dict[str, Any]:
    data = b.store.checkout_intent_data.get(session["id"], {})
    raw: dict[str, Any] = {
        "amount": str(session["amount_total"]), "currency": session["currency"],
        "payment_method_types": list(session["payment_method_types"]), "metadata": dict(data.get("metadata") or {}),
    }
    if session["customer"]:
        raw["customer"] = session["customer"]
    receipt_email = data.get("receipt_email") or session["customer_email"]
    for name, value in (("description", data.get("description")), ("receipt_email", receipt_email),
                        ("statement_descriptor", data.get("statement_descriptor")),
                        ("statement_descriptor_suffix", data.get("statement_descriptor_suffix"))):
        if value:
            raw[name] = value
    pi = payments.payment_intent_create(b, call, raw)
    session["payment_intent"] = pi["id"]
    return pi


def _page_call(base_url: str) -> Call:
    # What the shopper does on Stripe's page has no API request behind it: events carry no request id.
    return Call(api_key="", version=DEFAULT_API_VERSION, request_id=None, idempotency_key=None, base_url=base_url)


def _success_url(session: dict[str, Any]) -> str:
    return (session["success_url"] or session["url"]).replace(PLACEHOLDER, session["id"])


def _render(b: Backend, session: dict[str, Any], *, error: str, form: dict[str, str]) -> str:
    currency = session["currency"]
    rows = "".join(
        f"<tr><td>{html.escape(item['description'])}</td><td>{item['quantity']}</td>"
        f"<td>{payments.format_amount(item['amount_total'], currency)}</td></tr>"
        for item in b.store.checkout_line_items.get(session["id"], [])
    )
    email = session["customer_email"] or form.get("email", "")
    cancel = session["cancel_url"]
    return PAGE.substitute(
        session=session["id"],
        total=payments.format_amount(session["amount_total"], currency),
        rows=rows,
        email=html.escape(email),
        email_readonly="readonly" if session["customer_email"] else "",
        name=html.escape(form.get("name", "")),
        number=html.escape(form.get("number", "")),
        expiry=html.escape(form.get("expiry", "")),
        error=f'<p class="error" role="alert" data-testid="checkout-error">{html.escape(error)}</p>' if error else "",
        back=f'<a href="{html.escape(cancel)}" data-testid="checkout-back">&larr; Back</a>' if cancel else "",
        expires=datetime.datetime.fromtimestamp(session["expires_at"], datetime.UTC).strftime("%H:%M UTC"),
        action=quote(f"{PAGE_PREFIX}{session['id']}"),
        methods="".join(
            f'<label class="method"><input type="radio" name="method" value="{kind}"'
            f'{" checked" if kind == form.get("method", "card") else ""}> {METHOD_NAMES.get(kind, kind)}</label>'
            for kind in session["payment_method_types"]
        ) if len(session["payment_method_types"]) > 1 else "",
        iban=html.escape(form.get("iban", "")),
        banks="".join(f'<option value="{code}">{code.replace("_", " ").title()}</option>'
                      for code in bank.IDEAL_BANKS),
        bank_fields="" if len(session["payment_method_types"]) > 1 else "hidden",
    )


def _html(status: int, page: str) -> tuple[int, bytes, str, dict[str, str]]:
    return status, page.encode(), "text/html; charset=utf-8", {"Cache-Control": "no-store"}


def _redirect(url: str) -> tuple[int, bytes, str, dict[str, str]]:
    return 303, b"", "text/plain", {"Location": url}


# --- the object ----------------------------------------------------------------------


def _line_item(*, currency: str, unit_amount: int, quantity: int, name: str, metadata: dict[str, str]
               ) -> dict[str, Any]:
    amount = unit_amount * quantity
    return {
        "id": objects.new_id("li"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "metadata": metadata,
        # Stripe makes an inactive Price (and Product) for each `price_data`.
        "price": {
            "id": objects.new_id("price"),
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": objects.now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": objects.new_id("prod", 14),
            "recurring": None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
    }


def _session(session_id: str, *, created: int, expires_at: int, currency: str, total: int, customer: str | None,
             customer_email: str | None, reference: str | None, metadata: dict[str, str], locale: str | None,
             submit_type: str | None, success_url: str | None, cancel_url: str | None,
             payment_method_types: list[str], url: str) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "branding_settings": None,
        "cancel_url": cancel_url,
        "client_reference_id": reference,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": customer,
        "customer_account": None,
        "customer_creation": None if customer else "if_required",
        "customer_details": None if not customer_email else {
            "address": None, "business_name": None, "email": customer_email, "individual_name": None, "name": None,
            "phone": None, "tax_exempt": "none", "tax_ids": None,
        },
        "customer_email": customer_email,
        "discounts": [],
        "excluded_payment_method_types": [],
        "expires_at": expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {"enabled": False, "invoice_data": {
            "account_tax_ids": None, "custom_fields": None, "description": None, "footer": None,
            "issuer": None, "metadata": {}, "rendering_options": None,
        }},
        "livemode": False,
        "locale": locale,
        "managed_payments": None,
        "metadata": metadata,
        "mode": "payment",
        "name_collection": None,
        "optional_items": None,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": payment_method_types,
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "presentment_details": None,
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": submit_type,
        "subscription": None,
        "success_url": success_url,
        "tax_id_collection": {"enabled": False, "required": "never"},
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url,
        "wallet_options": None,
    }
