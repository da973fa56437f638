"""PaymentIntents, charges, refunds and disputes: the money flows and their state machine.

Statuses, error codes and messages are Stripe's, so the shop's handling of each
outcome can be written and tested here and hold against Stripe's test mode.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from . import bank, cards, objects
from .backend import Backend, Call
from .errors import StripeError, invalid_param, invalid_request
from .params import Params
from .resources import (
    attach_for_future_usage, card_error, check_usable_by, payment_method_from_params, resolve_payment_method,
)

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = CONFIRMABLE + ("requires_capture",)
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
AUTHENTICATION_FAILURE = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)
# What a publishable key may read of a PaymentIntent (Stripe hides the rest from browsers).
PUBLISHABLE_FIELDS = (
    "id", "object", "amount", "amount_details", "automatic_payment_methods", "canceled_at", "cancellation_reason",
    "capture_method", "client_secret", "confirmation_method", "created", "currency", "description",
    "last_payment_error", "livemode", "next_action", "payment_method", "payment_method_types", "processing",
    "receipt_email", "setup_future_usage", "shipping", "status",
)

# --- PaymentIntents ------------------------------------------------------------------

_CREATE_FIELDS = (
    "amount", "currency", "automatic_payment_methods", "customer", "metadata", "description", "receipt_email",
    "setup_future_usage", "payment_method_types", "payment_method", "payment_method_data", "confirm", "return_url",
    "statement_descriptor", "statement_descriptor_suffix", "mandate_data",
)
_CONFIRM_FIELDS = ("payment_method", "payment_method_data", "return_url", "receipt_email", "setup_future_usage",
                   "use_stripe_sdk", "expected_payment_method_type", "mandate_data")


def payment_intent_create(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, _CREATE_FIELDS)
    amount = p.int("amount", required=True, minimum=1) or 0
    currency = (p.str("currency", required=True) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid_param(f"Invalid currency: {currency}.", param="currency", code="parameter_invalid_string")
    types = p.list("payment_method_types")
    if "automatic_payment_methods" in p and types:
        raise invalid_param("You may only specify one of these parameters: automatic_payment_methods, "
                            "payment_method_types.", param="payment_method_types", code="parameter_invalid_string")
    for i, kind in enumerate(types):
        if kind not in bank.PAYMENT_METHOD_TYPES:
            raise invalid_param(f"The payment method type \"{kind}\" is invalid. The emulator takes: "
                                f"{', '.join(bank.PAYMENT_METHOD_TYPES)}.",
                                param=f"payment_method_types[{i}]", code="payment_method_type_invalid")
        bank.check_currency(kind, currency, f"payment_method_types[{i}]")
    automatic = None
    if not types:
        # Since API version 2023-08-16 automatic payment methods are on unless types are given.
        apm = p.sub("automatic_payment_methods", ("enabled", "allow_redirects"))
        if apm.bool("enabled", default=True):
            redirects = apm.str("allow_redirects", choices=("always", "never")) or "always"
            automatic = {"allow_redirects": redirects, "enabled": True}
        # What the Dashboard enables here: cards, and the euro methods for euros (the
        # redirect ones only where the shop can take the shopper back).
        types = [kind for kind in bank.PAYMENT_METHOD_TYPES if kind == "card" or (
            automatic and currency in bank.CURRENCIES[kind]
            and (redirects == "always" or kind not in bank.REDIRECT_TYPES))]
    customer = p.str("customer")
    if customer:
        b.store.get("customer", customer, "customer")
    confirm = p.bool("confirm")
    if "return_url" in p and not confirm:
        raise invalid_param("You can only pass in return_url if confirm is true.", param="return_url",
                            code="parameter_invalid_string")
    pm = _payment_method_of(b, p)
    pi = b.store.add(objects.payment_intent(
        amount=amount, currency=currency, automatic_payment_methods=automatic, payment_method_types=types,
        customer=customer, description=p.str("description"), receipt_email=p.str("receipt_email"),
        setup_future_usage=p.str("setup_future_usage", choices=("on_session", "off_session")),
        metadata=p.metadata(), payment_method=pm["id"] if pm else None,
    ))
    if pm:
        pi["status"] = "requires_confirmation"
    b.emit(call, "payment_intent.created", pi)
    if confirm:
        _confirm(b, call, pi, pm, p.str("return_url"), p.sub("mandate_data", ("customer_acceptance",)))
    return _view(call, pi)


def _payment_method_of(b: Backend, p: Params) -> dict[str, Any] | None:
    if "payment_method_data" in p:
        data = p.sub("payment_method_data", ("type", "card", "billing_details", "metadata") + bank.TYPES)
        kind = data.str("type", required=True, choices=bank.PAYMENT_METHOD_TYPES)
        if kind in bank.TYPES:
            return b.store.add(bank.payment_method_from_params(data, kind))
        return b.store.add(payment_method_from_params(data))
    if "payment_method" in p:
        return resolve_payment_method(b, p.str("payment_method"), "payment_method")
    return None


def payment_intent_retrieve(b: Backend, call: Call, raw: dict[str, Any], pi_id: str) -> dict[str, Any]:
    p = Params(raw)
    return _view(call, _payment_intent(b, call, p, pi_id))


def payment_intent_update(b: Backend, call: Call, raw: dict[str, Any], pi_id: str) -> dict[str, Any]:
    p = Params(raw, ("amount", "currency", "customer", "description", "metadata", "receipt_email",
                     "setup_future_usage", "payment_method"))
    pi = b.store.get("payment_intent", pi_id, "intent")
    money_fields = {"amount", "currency", "customer", "payment_method", "setup_future_usage"} & set(p.raw)
    if money_fields and pi["status"] not in CONFIRMABLE:
        raise _unexpected_state(call, pi, f"You cannot update this PaymentIntent because it has a status of "
                                    f"{pi['status']}. Updates are only allowed when the status is one of: "
                                    f"{', '.join(CONFIRMABLE)}.")
    if "amount" in p:
        pi["amount"] = p.int("amount", minimum=1)
    if "currency" in p:
        pi["currency"] = (p.str("currency", required=True) or "").lower()
    if "customer" in p:
        pi["customer"] = b.store.get("customer", p.str("customer"), "customer")["id"]
    for name in ("description", "receipt_email"):
        if name in p:
            pi[name] = p.str(name)
    if "setup_future_usage" in p:
        pi["setup_future_usage"] = p.str("setup_future_usage", choices=("on_session", "off_session"))
    if "payment_method" in p:
        pi["payment_method"] = _payment_method_of(b, p)["id"]  # type: ignore[index]
        pi["status"] = "requires_confirmation"
    pi["metadata"] = p.metadata(pi["metadata"])
    return pi


def payment_intent_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("customer", "limit", "starting_after", "ending_before"))
    customer = p.str("customer")
    return b.page("payment_intent", p, "/v1/payment_intents", lambda pi: customer in (None, pi["customer"]))


def payment_intent_confirm(b: Backend, call: Call, raw: dict[str, Any], pi_id: str) -> dict[str, Any]:
    p = Params(raw, _CONFIRM_FIELDS)
    pi = _payment_intent(b, call, p, pi_id)
    if pi["status"] not in CONFIRMABLE:
        raise _unexpected_state(call, pi, f"You cannot confirm this PaymentIntent because it has a status of "
                                    f"{pi['status']}. Only a PaymentIntent with one of the following statuses may "
                                    f"be confirmed: {', '.join(CONFIRMABLE)}.")
    if "receipt_email" in p:
        pi["receipt_email"] = p.str("receipt_email")
    if "setup_future_usage" in p:
        pi["setup_future_usage"] = p.str("setup_future_usage", choices=("on_session", "off_session"))
    pm = _payment_method_of(b, p)
    if pm is None and pi["payment_method"]:
        pm = b.store.get("payment_method", pi["payment_method"], "payment_method")
    _confirm(b, call, pi, pm, p.str("return_url"), p.sub("mandate_data", ("customer_acceptance",)))
    return _view(call, pi)


def payment_intent_cancel(b: Backend, call: Call, raw: dict[str, Any], pi_id: str) -> dict[str, Any]:
    p = Params(raw, ("cancellation_reason",))
    reason = p.str("cancellation_reason", choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned"))
    pi = b.store.get("payment_intent", pi_id, "intent")
    if pi["status"] not in CANCELABLE:
        raise _unexpected_state(call, pi, f"You cannot cancel this PaymentIntent because it has a status of "
                                    f"{pi['status']}. Only a PaymentIntent with one of the following statuses may "
                                    f"be canceled: {', '.join(CANCELABLE)}.")
    pi.update(status="canceled", canceled_at=objects.now(), cancellation_reason=reason, next_action=None)
    _forget_challenges(b, pi["id"])
    b.emit(call, "payment_intent.canceled", pi)
    return pi


def _payment_intent(b: Backend, call: Call, p: Params, pi_id: str) -> dict[str, Any]:
    pi = b.store.get("payment_intent", pi_id, "intent")
    # A browser holds only the publishable key; the client secret is what proves it may see this one.
    if call.publishable and p.str("client_secret") != pi["client_secret"]:
        raise invalid_request("The client_secret provided does not match the client_secret associated with the "
                              "PaymentIntent.", param="client_secret")
    return pi


def _view(call: Call, pi: dict[str, Any]) -> dict[str, Any]:
    return {key: pi[key] for key in PUBLISHABLE_FIELDS} if call.publishable else pi


def _unexpected_state(call: Call, pi: dict[str, Any], message: str) -> StripeError:
    return invalid_request(message, code="payment_intent_unexpected_state",
                           payment_intent=copy.deepcopy(_view(call, pi)))


def _confirm(b: Backend, call: Call, pi: dict[str, Any], pm: dict[str, Any] | None, return_url: str | None,
             mandate_data: Params) -> None:
    if pm is None:
        raise _unexpected_state(call, pi, "You cannot confirm this PaymentIntent because it's missing a payment "
                                          "method. You can either update the PaymentIntent with a payment method "
                                          "and then confirm it again, or confirm it again directly with a payment "
                                          "method.")
    check_usable_by(pm, pi)
    automatic = pi["automatic_payment_methods"]
    if automatic and automatic["allow_redirects"] == "always" and not return_url:
        # Stripe's rule, kept so the shop meets it here rather than in production.
        raise invalid_request(
            "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, because some of "
            "these payment methods might redirect your customer off of your page, you must provide a `return_url`. "
            "If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` "
            "to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
            "Payment Intents.", param="return_url",
        )
    if pm["type"] not in pi["payment_method_types"]:
        raise invalid_request(
            f"The PaymentMethod provided ({pm['id']}) has type {pm['type']}, which this PaymentIntent does not "
            f"accept. Its payment_method_types are: {', '.join(pi['payment_method_types'])}.",
            code="payment_intent_incompatible_payment_method", param="payment_method",
        )
    pi.update(payment_method=pm["id"], last_payment_error=None, next_action=None)
    _forget_challenges(b, pi["id"])
    if pm["type"] in bank.TYPES:
        bank.confirm(b, call, pi, pm, return_url, mandate_data)
        return
    card = _card_of(pm)
    if card.outcome == cards.REQUIRE_3DS:
        redirect_to_bank(b, call, pi, return_url, "3ds")
    elif card.decline:
        _decline(b, call, pi, pm, card.decline)
    else:
        _authorized(b, call, pi, pm, three_d_secure=None)


def redirect_to_bank(b: Backend, call: Call, pi: dict[str, Any], return_url: str | None, page: str) -> None:
    """`requires_action`: the shopper is to visit the bank's page (`/3ds/...` or `/bank/...`), then `return_url`."""
    token = objects.new_id(page)
    b.store.challenges[token] = {"payment_intent": pi["id"], "return_url": return_url}
    pi.update(status="requires_action", next_action={
        "type": "redirect_to_url",
        "redirect_to_url": {"return_url": return_url, "url": f"{call.base_url}/{page}/{token}"},
    })
    b.emit(call, "payment_intent.requires_action", pi)


def _card_of(pm: dict[str, Any]) -> cards.TestCard:
    return cards.by_fingerprint(pm["card"]["fingerprint"])


def _decline(b: Backend, call: Call, pi: dict[str, Any], pm: dict[str, Any], decline: cards.Decline) -> None:
    charge = b.store.add(objects.charge(
        payment_intent=pi, payment_method=pm, paid=False, failure_code=decline.code, failure_message=decline.message,
        outcome=_outcome("issuer_declined", "declined_by_network", decline.decline_code,
                         "The bank did not return any further details with this decline."),
    ))
    error = {
        "charge": charge["id"],
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
        "message": decline.message,
        "payment_method": copy.deepcopy(pm),
        "type": "card_error",
    }
    pi.update(status="requires_payment_method", payment_method=None, latest_charge=charge["id"],
              last_payment_error=error)
    b.emit(call, "charge.failed", charge)
    b.emit(call, "payment_intent.payment_failed", pi)
    raise card_error(decline.code, decline.message, decline_code=decline.decline_code, charge=charge["id"],
                     payment_intent=copy.deepcopy(_view(call, pi)), payment_method=copy.deepcopy(pm))


def _outcome(kind: str, network_status: str, reason: str | None, seller_message: str) -> dict[str, Any]:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": network_status,
        "reason": reason,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": seller_message,
        "type": kind,
    }


def _authorized(b: Backend, call: Call | None, pi: dict[str, Any], pm: dict[str, Any],
                three_d_secure: dict[str, Any] | None) -> None:
    processing_for = b.controls.settings.processing_for
    if processing_for is None:
        _capture(b, call, pi, pm, three_d_secure)
        return
    pi.update(status="processing", processing={"type": "card", "card": None})
    b.emit(call, "payment_intent.processing", pi)
    b.later(processing_for, _finish_processing, b, pi["id"], three_d_secure)


def _finish_processing(b: Backend, pi_id: str, three_d_secure: dict[str, Any] | None) -> None:
    pi = b.store.find(pi_id)
    if pi and pi["status"] == "processing":
        pi["processing"] = None
        _capture(b, None, pi, b.store.get("payment_method", pi["payment_method"]), three_d_secure)


def _capture(b: Backend, call: Call | None, pi: dict[str, Any], pm: dict[str, Any],
             three_d_secure: dict[str, Any] | None) -> None:
    charge = objects.charge(
        payment_intent=pi, payment_method=pm, paid=True, three_d_secure=three_d_secure,
        outcome=_outcome("authorized", "approved_by_network", None, "Payment complete."),
        payment_method_details=bank.charge_details(b, pi, pm) if pm["type"] in bank.TYPES else None,
    )
    txn = b.store.add(objects.balance_transaction(
        amount=pi["amount"], currency=pi["currency"], source=charge["id"], kind="charge",
        description=pi["description"], fee=objects.processing_fee(pi["amount"]),
    ))
    charge["balance_transaction"] = txn["id"]
    b.store.add(charge)
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"], next_action=None)
    if pi["setup_future_usage"] and pi["customer"]:
        attach_for_future_usage(b, call, pm, pi["customer"])
    b.emit(call, "charge.succeeded", charge)
    b.emit(call, "payment_intent.succeeded", pi)
    if pm["type"] == "card" and _card_of(pm).outcome == cards.DISPUTE:
        b.later(b.controls.settings.dispute_after, _open_dispute, b, charge["id"])


def _open_dispute(b: Backend, charge_id: str) -> None:
    charge = b.store.find(charge_id)
    if charge is None:
        return
    charge["disputed"] = True
    b.emit(None, "charge.dispute.created", b.store.add(objects.dispute(charge=charge)))


# --- 3D Secure -----------------------------------------------------------------------


def challenge(b: Backend, token: str) -> dict[str, Any] | None:
    """The PaymentIntent an open 3D Secure challenge is for."""
    open_challenge = b.store.challenges.get(token)
    return b.store.find(open_challenge["payment_intent"]) if open_challenge else None


def challenge_finish(b: Backend, token: str, authenticated: bool) -> tuple[dict[str, Any], str | None]:
    """The shopper passed or failed the bank's challenge: finish the payment. Returns (pi, return_url)."""
    open_challenge = b.store.challenges.pop(token)
    pi = b.store.get("payment_intent", open_challenge["payment_intent"])
    pm = b.store.get("payment_method", pi["payment_method"])
    if authenticated:
        _authorized(b, None, pi, pm, three_d_secure={
            "authentication_flow": "challenge", "electronic_commerce_indicator": "05", "exemption_indicator": None,
            "result": "authenticated", "result_reason": None, "transaction_id": objects.token(32),
            "version": "2.2.0",
        })
    else:
        error = {
            "code": "payment_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
            "message": AUTHENTICATION_FAILURE,
            "payment_method": copy.deepcopy(pm),
            "type": "invalid_request_error",
        }
        pi.update(status="requires_payment_method", payment_method=None, next_action=None, last_payment_error=error)
        b.emit(None, "payment_intent.payment_failed", pi)
    return pi, open_challenge["return_url"]


def _forget_challenges(b: Backend, pi_id: str) -> None:
    for token in [t for t, c in b.store.challenges.items() if c["payment_intent"] == pi_id]:
        del b.store.challenges[token]


# --- charges -------------------------------------------------------------------------


def charge_retrieve(b: Backend, call: Call, raw: dict[str, Any], charge_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("charge", charge_id, "charge")


def charge_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("payment_intent", "customer", "limit", "starting_after", "ending_before"))
    pi, customer = p.str("payment_intent"), p.str("customer")
    return b.page("charge", p, "/v1/charges",
                  lambda c: pi in (None, c["payment_intent"]) and customer in (None, c["customer"]))


# --- refunds -------------------------------------------------------------------------


def refund_create(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("payment_intent", "charge", "amount", "reason", "metadata"))
    charge = _refundable_charge(b, p)
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid_request(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    if charge["disputed"]:
        raise invalid_request(f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                              code="charge_disputed")
    amount = p.int("amount", minimum=1) or remaining
    if amount > remaining:
        raise invalid_request(
            f"Refund amount ({format_amount(amount, charge['currency'])}) is greater than unrefunded amount on charge "
            f"({format_amount(remaining, charge['currency'])})", code="amount_too_large", param="amount",
        )
    final, pending = _refund_course(b, charge)
    refund = objects.refund(charge=charge, amount=amount, reason=p.str("reason", choices=REFUND_REASONS),
                            metadata=p.metadata(), status="pending" if pending else "succeeded",
                            balance_transaction=None)
    refund["balance_transaction"] = b.store.add(objects.balance_transaction(
        amount=-amount, currency=charge["currency"], source=refund["id"], kind="refund",
        description="REFUND FOR CHARGE",
    ))["id"]
    b.store.add(refund)
    refunded = charge["amount_refunded"] + amount
    b.emit(call, "refund.created", refund)
    b.change(call, "charge.refunded", charge, amount_refunded=refunded, refunded=refunded == charge["amount_captured"])
    if final != refund["status"]:
        b.later(b.controls.settings.refund_settle_after, _settle_refund, b, refund["id"], final)
    return refund


def _refundable_charge(b: Backend, p: Params) -> dict[str, Any]:
    if ("payment_intent" in p) == ("charge" in p):
        raise invalid_param("You must pass either a charge or a payment_intent, and not both.", param="charge",
                            code="parameter_missing")
    if "charge" in p:
        charge = b.store.get("charge", p.str("charge"), "charge")
        if not charge["paid"]:
            raise invalid_request(f"Charge {charge['id']} has no successful payment to refund.", param="charge")
        return charge
    pi = b.store.get("payment_intent", p.str("payment_intent"), "payment_intent")
    charge = b.store.find(pi["latest_charge"] or "")
    if pi["status"] != "succeeded" or charge is None:
        raise invalid_request(f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                              param="payment_intent")
    return charge


def _refund_course(b: Backend, charge: dict[str, Any]) -> tuple[str, bool]:
    """(final status, starts pending?) for a new refund: the controls' override, else the card's."""
    mode = b.controls.settings.refunds
    if mode != "card":
        return ("succeeded" if mode == "pending_succeeded" else "failed"), True
    kind = charge["payment_method_details"]["type"]
    if kind != "card":
        # A SEPA refund is a credit transfer back to the account: pending for days, then done.
        return "succeeded", kind == bank.SEPA_DEBIT
    behaviour = cards.by_fingerprint(charge["payment_method_details"]["card"]["fingerprint"]).refund
    return ("failed" if behaviour == cards.REFUND_FAILS else "succeeded"), behaviour == cards.REFUND_PENDING


def _settle_refund(b: Backend, refund_id: str, final: str) -> None:
    refund = b.store.find(refund_id)
    if refund is None or refund["status"] == final:
        return
    if final == "failed":
        reversal = b.store.add(objects.balance_transaction(
            amount=refund["amount"], currency=refund["currency"], source=refund["id"], kind="refund_failure",
            description="REFUND FAILURE",
        ))
        b.change(None, "refund.updated", refund, status="failed", failure_reason="expired_or_canceled_card",
                 failure_balance_transaction=reversal["id"])
        b.emit(None, "refund.failed", refund)
        # The money stays with the shop: the charge counts it as unrefunded again.
        charge = b.store.get("charge", refund["charge"])
        charge.update(amount_refunded=charge["amount_refunded"] - refund["amount"], refunded=False)
    else:
        b.change(None, "refund.updated", refund, status=final)


ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
                "xof", "xpf"}


def format_amount(amount: int, currency: str) -> str:
    """As Stripe writes amounts in messages: in major units."""
    major = str(amount) if currency in ZERO_DECIMAL else f"{amount / 100:.2f}"
    return f"{major} {currency.upper()}"


def refund_retrieve(b: Backend, call: Call, raw: dict[str, Any], refund_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("refund", refund_id, "refund")


def refund_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("payment_intent", "charge", "limit", "starting_after", "ending_before"))
    pi, charge = p.str("payment_intent"), p.str("charge")
    return b.page("refund", p, "/v1/refunds",
                  lambda r: pi in (None, r["payment_intent"]) and charge in (None, r["charge"]))


# --- disputes ------------------------------------------------------------------------


def dispute_retrieve(b: Backend, call: Call, raw: dict[str, Any], dispute_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("dispute", dispute_id, "dispute")


def dispute_list(b: Backend, call: Call, raw: dict[str, Any]) -> dict[str, Any]:
    p = Params(raw, ("charge", "payment_intent", "limit", "starting_after", "ending_before"))
    pi, charge = p.str("payment_intent"), p.str("charge")
    return b.page("dispute", p, "/v1/disputes",
                  lambda d: pi in (None, d["payment_intent"]) and charge in (None, d["charge"]))
