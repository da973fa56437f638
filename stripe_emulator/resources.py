"""Account, customers, payment methods, balance transactions, events and webhook endpoints.

Each handler takes the backend, the call's context and the raw parameters (plus
ids from the path) and returns the object to answer with; errors are raised as
`StripeError`. PaymentIntents, charges and refunds are in payments.py.
"""

from __future__ import annotations

import datetime
import fnmatch
import secrets
from typing import Any

from . import bank, cards, objects
from .backend import Backend, Call
from .errors import StripeError, invalid_param, invalid_request, resource_missing
from .params import Params, list_param

EVENT_TYPES = (
    "checkout.session.async_payment_failed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.completed",
    "checkout.session.expired",
    "charge.dispute.created",
    "charge.failed",
    "charge.pending",
    "charge.refunded",
    "charge.succeeded",
    "charge.updated",
    "customer.created",
    "customer.deleted",
    "customer.updated",
    "payment_intent.canceled",
    "payment_intent.created",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.succeeded",
    "payment_method.attached",
    "payment_method.detached",
    "refund.created",
    "refund.failed",
    "refund.updated",
)

# --- account -------------------------------------------------------------------------


def account_retrieve(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    Params(raw)
    return b.store.account


# --- customers -----------------------------------------------------------------------

_CUSTOMER_FIELDS = ("email", "name", "description", "phone", "metadata", "invoice_settings")


def customer_create(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, _CUSTOMER_FIELDS + ("payment_method",))
    settings = p.sub("invoice_settings", ("default_payment_method",))
    customer = b.store.add(objects.customer(
        email=p.str("email"), name=p.str("name"), description=p.str("description"), phone=p.str("phone"),
        metadata=p.metadata(), default_payment_method=None,
    ))
    b.emit(call, "customer.created", customer)
    if "payment_method" in p:
        _attach(b, call, resolve_payment_method(b, p.str("payment_method"), "payment_method"), customer)
    if "default_payment_method" in settings:
        _set_default_payment_method(b, call, customer, settings.str("default_payment_method"))
    return customer


# Lists a Customer carries only when `expand[]` names them (since API version 2020-08-27);
# dj-stripe asks for `sources` whenever it fetches a Customer, a webhook's included.
_CUSTOMER_INCLUDABLE = ("sources", "subscriptions", "tax_ids")


def customer_retrieve(b: Backend, call: Call, raw: dict[str, Any], customer_id: str) -> dict[str, Any]:
    Params(raw)
    customer = b.store.get("customer", customer_id)
    if customer.get("deleted"):
        return customer
    asked = {path.split(".")[0] for path in list_param(raw, "expand")}
    return {**customer, **{name: objects.list_of([], f"/v1/customers/{customer_id}/{name}")
                           for name in _CUSTOMER_INCLUDABLE if name in asked}}


def _live_customer(b: Backend, customer_id: str | None, param: str = "id") -> dict[str, Any]:
    customer = b.store.get("customer", customer_id, param)
    if customer.get("deleted"):
        raise resource_missing("customer", customer["id"], param)
    return customer


def customer_delete(b: Backend, call: Call, raw: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """Stripe keeps a stub that says `deleted`, and the Customer's cards go with it."""
    Params(raw)
    customer = _live_customer(b, customer_id)
    for pm in list(b.store.objects["payment_method"].values()):
        if pm["customer"] == customer_id:
            pm["customer"] = None
            b.emit(call, "payment_method.detached", pm, {"customer": customer_id})
    b.emit(call, "customer.deleted", customer)
    stub = {"id": customer_id, "object": "customer", "deleted": True}
    b.store.objects["customer"][customer_id] = stub
    return stub


def customer_update(b: Backend, call: Call, raw: dict[str, Any], customer_id: str) -> dict[str, Any]:
    p = Params(raw, _CUSTOMER_FIELDS)
    customer = _live_customer(b, customer_id)
    changes = {name: p.str(name) for name in ("email", "name", "description", "phone") if name in p}
    b.change(call, "customer.updated", customer, metadata=p.metadata(customer["metadata"]), **changes)
    settings = p.sub("invoice_settings", ("default_payment_method",))
    if "default_payment_method" in settings:
        _set_default_payment_method(b, call, customer, settings.str("default_payment_method"))
    return customer


def _set_default_payment_method(b: Backend, call: Call, customer: dict[str, Any], pm_id: str | None) -> None:
    param = "invoice_settings[default_payment_method]"
    if pm_id and b.store.get("payment_method", pm_id, param)["customer"] != customer["id"]:
        raise invalid_request(
            f"The customer does not have a payment method with the ID {pm_id}. The payment method must be attached "
            "to the customer.", code="resource_missing", param=param,
        )
    b.change(call, "customer.updated", customer,
             invoice_settings={**customer["invoice_settings"], "default_payment_method": pm_id})


def customer_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("email", "limit", "starting_after", "ending_before"))
    email = p.str("email")
    return b.page("customer", p, "/v1/customers",
                  lambda c: not c.get("deleted") and (email is None or c["email"] == email))


# --- payment methods -----------------------------------------------------------------


def payment_method_create(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("type", "card", "billing_details", "metadata") + bank.TYPES)
    kind = p.str("type", required=True, choices=("card",) + bank.TYPES)
    if kind in bank.TYPES:
        return b.store.add(bank.payment_method_from_params(p, kind))
    return b.store.add(payment_method_from_params(p))


def payment_method_from_params(p: Params) -> dict[str, Any]:
    """A new card PaymentMethod from `type=card&card[...]&billing_details[...]` (also `payment_method_data`)."""
    card = p.sub("card", ("number", "exp_month", "exp_year", "cvc"))
    number = (card.str("number", required=True) or "").replace(" ", "")
    if not cards.luhn_valid(number):
        raise card_error("incorrect_number", "Your card number is incorrect.", param="card[number]")
    month = card.int("exp_month", required=True) or 0
    year = card.int("exp_year", required=True) or 0
    year = year + 2000 if year < 100 else year  # Stripe takes two-digit years
    today = datetime.date.today()
    if not 1 <= month <= 12 or (year == today.year and month < today.month):
        raise card_error("invalid_expiry_month", "Your card's expiration month is invalid.", param="card[exp_month]")
    if year < today.year or year > today.year + 50:
        raise card_error("invalid_expiry_year", "Your card's expiration year is invalid.", param="card[exp_year]")
    cvc = card.str("cvc")
    if cvc is not None and not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise card_error("invalid_cvc", "Your card's security code is invalid.", param="card[cvc]")
    return objects.payment_method(
        card=objects.card_details(cards.lookup(number), month, year),
        billing_details=billing_details_from_params(p),
        metadata=p.metadata(),
    )


def billing_details_from_params(p: Params) -> dict[str, Any]:
    """A PaymentMethod's `billing_details` from `billing_details[...]`, Stripe's nulls for what is not given."""
    billing = p.sub("billing_details", ("address", "email", "name", "phone"))
    address = billing.sub("address", tuple(objects.ADDRESS_NONE))
    return {
        "address": {key: address.str(key) for key in objects.ADDRESS_NONE},
        "email": billing.str("email"),
        "name": billing.str("name"),
        "phone": billing.str("phone"),
        "tax_id": None,
    }


def card_error(code: str, message: str, *, param: str | None = None, **extra: Any) -> StripeError:
    return StripeError(402, "card_error", message, code=code, param=param, **extra)


def resolve_payment_method(b: Backend, pm_id: str | None, param: str) -> dict[str, Any]:
    """A stored PaymentMethod, or a fresh one for Stripe's test ids (`pm_card_visa`...)."""
    number = cards.TEST_PAYMENT_METHODS.get(pm_id or "")
    if number is None:
        return b.store.get("payment_method", pm_id, param)
    month, year = cards.default_expiry()
    return b.store.add(objects.payment_method(
        card=objects.card_details(cards.lookup(number), month, year),
        billing_details=objects.BILLING_DETAILS_NONE,
        metadata={},
    ))


def payment_method_retrieve(b: Backend, call: Call, raw: dict[str, Any], pm_id: str) -> dict[str, Any]:
    Params(raw)
    return resolve_payment_method(b, pm_id, "payment_method")


def payment_method_update(b: Backend, call: Call, raw: dict[str, Any], pm_id: str) -> dict[str, Any]:
    p = Params(raw, ("metadata",))
    pm = b.store.get("payment_method", pm_id)
    pm["metadata"] = p.metadata(pm["metadata"])
    return pm


def payment_method_attach(b: Backend, call: Call, raw: dict[str, Any], pm_id: str) -> dict[str, Any]:
    p = Params(raw, ("customer",))
    customer = _live_customer(b, p.str("customer", required=True), "customer")
    pm = resolve_payment_method(b, pm_id, "payment_method")
    _attach(b, call, pm, customer)
    return pm


def _attach(b: Backend, call: Call | None, pm: dict[str, Any], customer: dict[str, Any]) -> None:
    if pm["customer"] == customer["id"]:
        return
    if pm["customer"]:
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state", param="payment_method",
        )
    pm["customer"] = customer["id"]
    b.emit(call, "payment_method.attached", pm)


def attach_for_future_usage(b: Backend, call: Call | None, pm: dict[str, Any], customer_id: str) -> None:
    """`setup_future_usage` with a customer: Stripe attaches the PaymentMethod when the payment succeeds."""
    _attach(b, call, pm, b.store.get("customer", customer_id))


def payment_method_detach(b: Backend, call: Call, raw: dict[str, Any], pm_id: str) -> dict[str, Any]:
    Params(raw)
    pm = b.store.get("payment_method", pm_id)
    if not pm["customer"]:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            code="payment_method_unexpected_state", param="payment_method",
        )
    previous = {"customer": pm["customer"]}
    customer = b.store.get("customer", pm["customer"])
    pm["customer"] = None
    b.emit(call, "payment_method.detached", pm, previous)
    if customer["invoice_settings"]["default_payment_method"] == pm_id:
        # A detached card is no longer anyone's default.
        b.change(call, "customer.updated", customer,
                 invoice_settings={**customer["invoice_settings"], "default_payment_method": None})
    return pm


def check_usable_by(pm: dict[str, Any], pi: dict[str, Any]) -> None:
    """A saved card pays only for its own Customer's PaymentIntents."""
    if pm["customer"] and pm["customer"] != pi["customer"]:
        raise invalid_request(
            f"The provided PaymentMethod ({pm['id']}) is attached to a Customer ({pm['customer']}) other than the "
            "PaymentIntent's. Set that Customer in the PaymentIntent's `customer` parameter to use it.",
            param="payment_method",
        )


def payment_method_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("customer", "type", "limit", "starting_after", "ending_before"))
    customer = p.str("customer")
    kind = p.str("type")
    return b.page("payment_method", p, "/v1/payment_methods",
                  lambda pm: pm["customer"] == customer and kind in (None, pm["type"]))


def customer_payment_method_list(b: Backend, call: Call, raw: dict[str, Any], customer_id: str) -> dict[str, Any]:
    _live_customer(b, customer_id)
    return payment_method_list(b, call, {**raw, "customer": customer_id})


# --- balance transactions ------------------------------------------------------------


def balance_transaction_retrieve(b: Backend, call: Call, raw: dict[str, Any], txn_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("balance_transaction", txn_id)


def balance_transaction_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("source", "type", "limit", "starting_after", "ending_before"))
    source, kind = p.str("source"), p.str("type")
    return b.page("balance_transaction", p, "/v1/balance_transactions",
                  lambda t: source in (None, t["source"]) and kind in (None, t["type"]))


# --- events --------------------------------------------------------------------------


def event_retrieve(b: Backend, call: Call, raw: dict[str, Any], event_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("event", event_id)


def event_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("type", "types", "delivery_success", "limit", "starting_after", "ending_before"))
    # `type` takes one pattern with `*` ("payment_intent.*"); `types` a list of exact names.
    pattern, names = p.str("type"), p.list("types")
    # Stripe's way to recover missed webhooks: `false` lists the events some endpoint has not
    # had yet (still being retried, given up, or dropped), `true` those with nothing pending.
    delivered = p.bool("delivery_success") if "delivery_success" in p else None
    return b.page("event", p, "/v1/events", lambda e: (pattern is None or fnmatch.fnmatchcase(e["type"], pattern))
                  and (not names or e["type"] in names)
                  and (delivered is None or (e["pending_webhooks"] == 0) == delivered))


# --- webhook endpoints ---------------------------------------------------------------


def _enabled_events(p: Params) -> list[str]:
    events = p.list("enabled_events")
    for i, name in enumerate(events):
        if name != "*" and name not in EVENT_TYPES:
            raise invalid_param(
                f"Invalid enabled_events[{i}]: must be one of *, {', '.join(EVENT_TYPES)}",
                param=f"enabled_events[{i}]", code="parameter_invalid_string",
            )
    return events


def webhook_endpoint_create(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("url", "enabled_events", "description", "metadata", "api_version", "connect"))
    url = p.str("url", required=True) or ""
    events = _enabled_events(p)
    if not events:
        raise invalid_param("Missing required param: enabled_events.", param="enabled_events",
                            code="parameter_missing")
    endpoint = b.store.add(objects.webhook_endpoint(
        url=url, enabled_events=events, description=p.str("description"), metadata=p.metadata(),
        api_version=p.str("api_version"),
    ))
    secret = "whsec_" + secrets.token_hex(16)
    b.store.endpoint_secrets[endpoint["id"]] = secret
    return {**endpoint, "secret": secret}


def webhook_endpoint_retrieve(b: Backend, call: Call, raw: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("webhook_endpoint", endpoint_id)


def webhook_endpoint_update(b: Backend, call: Call, raw: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    p = Params(raw, ("url", "enabled_events", "description", "metadata", "disabled"))
    endpoint = b.store.get("webhook_endpoint", endpoint_id)
    if "url" in p:
        endpoint["url"] = p.str("url", required=True)
    if "enabled_events" in p:
        endpoint["enabled_events"] = _enabled_events(p) or endpoint["enabled_events"]
    if "description" in p:
        endpoint["description"] = p.str("description")
    if "disabled" in p:
        endpoint["status"] = "disabled" if p.bool("disabled") else "enabled"
    endpoint["metadata"] = p.metadata(endpoint["metadata"])
    return endpoint


def webhook_endpoint_delete(b: Backend, call: Call, raw: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    Params(raw)
    b.store.get("webhook_endpoint", endpoint_id)
    del b.store.objects["webhook_endpoint"][endpoint_id]
    del b.store.endpoint_secrets[endpoint_id]
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def webhook_endpoint_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("limit", "starting_after", "ending_before"))
    return b.page("webhook_endpoint", p, "/v1/webhook_endpoints")
