"""Paying from a bank account: SEPA Direct Debit, and the redirect methods iDEAL and Bancontact.

SEPA Direct Debit is a delayed-notification method: confirming creates a mandate and
leaves the PaymentIntent `processing`; the debit settles later (`succeeded`) or is
returned (`requires_payment_method`), as Stripe's test IBANs say. Stripe takes some
five business days; the emulator waits `debit_settle_after` seconds (the `*Delayed`
IBANs `debit_settle_delayed_after`, Stripe's three minutes), both set through controls.

iDEAL and Bancontact send the shopper to their bank: confirming answers `requires_action`
with `next_action.redirect_to_url`, a page here where the shopper authorizes or fails the
test payment, as on Stripe's own test page. A shopper who never comes back leaves the
PaymentIntent in `requires_action` until it is canceled.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

from . import objects, payments, resources
from .backend import Backend, Call
from .errors import StripeError, invalid_request
from .params import Params

SEPA_DEBIT = "sepa_debit"
IDEAL = "ideal"
BANCONTACT = "bancontact"
TYPES = (SEPA_DEBIT, IDEAL, BANCONTACT)
REDIRECT_TYPES = (IDEAL, BANCONTACT)
PAYMENT_METHOD_TYPES = ("card",) + TYPES  # all the emulator takes
CURRENCIES = {SEPA_DEBIT: ("eur",), IDEAL: ("eur",), BANCONTACT: ("eur",)}

# What becomes of a debit from each of Stripe's test IBANs.
SUCCEEDS, SUCCEEDS_LATER, FAILS, FAILS_LATER = "succeeds", "succeeds_later", "fails", "fails_later"


@dataclass(frozen=True)
class Debit:
    outcome: str
    failure_code: str = ""
    failure_message: str = ""


_FAILED = Debit(FAILS, "generic_could_not_process", "The payment could not be processed.")
_INSUFFICIENT = Debit(FAILS, "insufficient_funds",
                      "The customer's account has insufficient funds to cover this payment.")
_VOLUME = Debit(FAILS, "charge_exceeds_source_limit",
                "This payment would exceed the weekly volume limit for this account.")
_TRANSACTIONS = Debit(FAILS, "charge_exceeds_weekly_limit",
                      "This payment would exceed the weekly transaction limit for this account.")

# Stripe's test IBANs per country (docs.stripe.com/testing#sepa-direct-debit), in the order
# success, delayed success, failure, delayed failure, volume limit, transaction limit,
# insufficient funds. Any other valid IBAN is debited successfully.
_TEST_IBANS = {
    "AT": ("AT611904300234573201", "AT321904300235473204", "AT861904300235473202", "AT051904300235473205",
           "AT981904300000343434", "AT601904300000121212", "AT981904300002222227"),
    "BE": ("BE62510007547061", "BE78510007547064", "BE68539007547034", "BE51510007547065",
           "BE90510000343434", "BE52510000121212", "BE90510002222227"),
    "DE": ("DE89370400440532013000", "DE08370400440532013003", "DE62370400440532013001", "DE78370400440532013004",
           "DE65370400440000343434", "DE27370400440000121212", "DE65370400440002222227"),
    "FR": ("FR1420041010050500013M02606", "FR3020041010050500013M02609", "FR8420041010050500013M02607",
           "FR7920041010050500013M02600", "FR9720041010050000000343434", "FR5920041010050000000121212",
           "FR9720041010050000002222227"),
    "IE": ("IE29AIBK93115212345678", "IE24AIBK93115212345671", "IE02AIBK93115212345679", "IE94AIBK93115212345672",
           "IE10AIBK93115200343434", "IE69AIBK93115200121212", "IE10AIBK93115202222227"),
}
_SCENARIOS = (Debit(SUCCEEDS), Debit(SUCCEEDS_LATER), _FAILED, Debit(FAILS_LATER, _FAILED.failure_code,
              _FAILED.failure_message), _VOLUME, _TRANSACTIONS, _INSUFFICIENT)
TEST_IBANS = {iban: scenario for ibans in _TEST_IBANS.values() for iban, scenario in zip(ibans, _SCENARIOS)}
# IBANs whose bank takes no SEPA debits: Stripe refuses the PaymentMethod itself.
UNSUPPORTED_IBANS = {
    "AT271904300000055555": "sepa_debit_bank_not_supported", "AT511904300000066666": "sepa_debit_debits_not_supported",
    "DE91370400440000055555": "sepa_debit_bank_not_supported", "DE18370400440000066666": "sepa_debit_debits_not_supported",
}

# iDEAL banks and their BICs, as stripe-python lists them.
IDEAL_BANKS = {
    "abn_amro": "ABNANL2A", "asn_bank": "ASNBNL21", "bunq": "BUNQNL2A", "handelsbanken": "HANDNL2A",
    "ing": "INGBNL2A", "knab": "KNABNL2H", "n26": "NTSBDEB1", "nn": "NNBANL2G", "rabobank": "RABONL2U",
    "regiobank": "RBRBNL21", "revolut": "REVOLT21", "sns_bank": "SNSBNL2A", "triodos_bank": "TRIONL2U",
    "van_lanschot": "FVLBNL22", "yoursafe": "BITSNL2A",
}
# What Stripe's test mode reports of the account behind a redirect payment.
_TEST_ACCOUNT = {"iban_last4": "5264", "verified_name": "Jenny Rosen"}
_BANCONTACT_BANK = {"bank_code": "VAPE", "bank_name": "VAN DE PUTTE", "bic": "VAPEBE22"}


def iban_valid(iban: str) -> bool:
    """ISO 13616: two letters, two check digits, up to 30 alphanumerics, and mod 97 == 1."""
    if not (15 <= len(iban) <= 34 and iban[:2].isalpha() and iban[2:4].isdigit() and iban.isalnum()):
        return False
    digits = "".join(str(int(c, 36)) for c in (iban[4:] + iban[:4]).upper())
    return int(digits) % 97 == 1


def debit_of(iban: str) -> Debit:
    return TEST_IBANS.get(iban, Debit(SUCCEEDS))


# --- PaymentMethods ------------------------------------------------------------------


def payment_method_from_params(p: Params, kind: str) -> dict[str, Any]:
    """A new sepa_debit, ideal or bancontact PaymentMethod from `type=...&<type>[...]&billing_details[...]`."""
    billing_details = resources.billing_details_from_params(p)
    if kind == SEPA_DEBIT:
        details = _sepa_debit_details(p.sub(SEPA_DEBIT, ("iban",)))
    elif kind == IDEAL:
        bank = p.sub(IDEAL, ("bank",)).str("bank", choices=tuple(IDEAL_BANKS))
        details = {"bank": bank, "bic": IDEAL_BANKS.get(bank or "")}
    else:
        p.sub(BANCONTACT, ())
        details = {}
    return {
        "id": objects.new_id("pm"),
        "object": "payment_method",
        "created": objects.now(),
        "livemode": False,
        "allow_redisplay": "unspecified",
        "billing_details": billing_details,
        "customer": None,
        "customer_account": None,
        "metadata": p.metadata(),
        "type": kind,
        kind: details,
    }


def _sepa_debit_details(p: Params) -> dict[str, Any]:
    iban = (p.str("iban", required=True) or "").replace(" ", "").upper()
    if not iban_valid(iban):
        raise invalid_request("The IBAN you provided is invalid.", code="invalid_bank_account_iban",
                              param="sepa_debit[iban]")
    if iban in UNSUPPORTED_IBANS:
        raise invalid_request("The bank of this account does not support SEPA Direct Debit.",
                              code=UNSUPPORTED_IBANS[iban], param="sepa_debit[iban]")
    return {
        "bank_code": iban[4:12] if iban[:2] in ("DE", "AT") else iban[4:8],
        "branch_code": "",
        "country": iban[:2],
        # Stable per IBAN like Stripe's; the outcome is found again from it, not from the IBAN.
        "fingerprint": hashlib.sha256(iban.encode()).hexdigest()[:16],
        "generated_from": {"charge": None, "setup_attempt": None},
        "last4": iban[-4:],
    }


_IBAN_BY_FINGERPRINT = {hashlib.sha256(iban.encode()).hexdigest()[:16]: iban for iban in TEST_IBANS}


def _debit_of_method(pm: dict[str, Any]) -> Debit:
    return debit_of(_IBAN_BY_FINGERPRINT.get(pm[SEPA_DEBIT]["fingerprint"], ""))


# --- confirming ----------------------------------------------------------------------


def confirm(b: Backend, call: Call, pi: dict[str, Any], pm: dict[str, Any], return_url: str | None,
            mandate_data: Params) -> None:
    """Confirm a PaymentIntent with a bank PaymentMethod (payments._confirm checked the rest)."""
    kind = pm["type"]
    if kind in REDIRECT_TYPES and not return_url:
        raise invalid_request(f"You must provide a `return_url` when confirming a PaymentIntent with the payment "
                              f"method type {kind}.", param="return_url")
    if kind == BANCONTACT and not pm["billing_details"]["name"]:
        raise invalid_request("Missing required param: billing_details[name].", param="billing_details[name]",
                              code="parameter_missing")
    if kind == SEPA_DEBIT:
        _check_sepa_billing(pm)
        _mandate_create(b, call, pm, mandate_data)
        pi.update(status="processing", processing=None)
        b.emit(call, "payment_intent.processing", pi)
        debit = _debit_of_method(pm)
        settings = b.controls.settings
        delay = settings.debit_settle_delayed_after if debit.outcome in (SUCCEEDS_LATER, FAILS_LATER) \
            else settings.debit_settle_after
        b.later(delay, _settle_debit, b, pi["id"])
        return
    payments.redirect_to_bank(b, call, pi, return_url, "bank")


def _check_sepa_billing(pm: dict[str, Any]) -> None:
    for name in ("name", "email"):
        if not pm["billing_details"][name]:
            raise invalid_request(f"Missing required param: billing_details[{name}].",
                                  param=f"billing_details[{name}]", code="parameter_missing")


def _mandate_create(b: Backend, call: Call, pm: dict[str, Any], raw: Params) -> dict[str, Any]:
    acceptance = raw.sub("customer_acceptance", ("type", "accepted_at", "offline", "online"))
    kind = acceptance.str("type", choices=("online", "offline"))
    online = acceptance.sub("online", ("ip_address", "user_agent", "infer_from_client"))
    if kind is None and not call.publishable:
        # Stripe.js sends the acceptance the Payment Element showed; a server must state it.
        raise invalid_request("mandate_data[customer_acceptance] is required to confirm a PaymentIntent with a "
                              "sepa_debit PaymentMethod.", param="mandate_data", code="parameter_missing")
    if kind == "online" and not call.publishable and not (online.str("ip_address") and online.str("user_agent")):
        raise invalid_request("mandate_data[customer_acceptance][online] needs ip_address and user_agent.",
                              param="mandate_data[customer_acceptance][online]", code="parameter_missing")
    for existing in b.store.objects["mandate"].values():
        if existing["payment_method"] == pm["id"]:
            return existing
    reference = objects.token(16).upper()
    return b.store.add({
        "id": objects.new_id("mandate"),
        "object": "mandate",
        "livemode": False,
        "customer_acceptance": {
            "accepted_at": acceptance.int("accepted_at") or objects.now(),
            "offline": {} if kind == "offline" else None,
            "online": None if kind == "offline" else {
                "ip_address": online.str("ip_address") or "127.0.0.1",
                "user_agent": online.str("user_agent") or "Stripe.js (emulator)",
            },
            "type": kind or "online",
        },
        "multi_use": {},
        "on_behalf_of": None,
        "payment_method": pm["id"],
        "payment_method_details": {
            "sepa_debit": {"reference": reference, "url": f"{call.base_url}/mandates/{reference}"},
            "type": SEPA_DEBIT,
        },
        "single_use": None,
        "status": "active",
        "type": "multi_use",
    })


def mandate_retrieve(b: Backend, call: Call, raw: dict[str, Any], mandate_id: str) -> dict[str, Any]:
    Params(raw)
    return b.store.get("mandate", mandate_id)


def _mandate_of(b: Backend, pm: dict[str, Any]) -> str | None:
    return next((m["id"] for m in b.store.objects["mandate"].values() if m["payment_method"] == pm["id"]), None)


def _settle_debit(b: Backend, pi_id: str) -> None:
    pi = b.store.find(pi_id)
    if not pi or pi["status"] != "processing":
        return
    pm = b.store.get("payment_method", pi["payment_method"])
    debit = _debit_of_method(pm)
    if debit.outcome in (SUCCEEDS, SUCCEEDS_LATER):
        payments._capture(b, None, pi, pm, three_d_secure=None)
        return
    _fail(b, pi, pm, debit.failure_code, debit.failure_message)


def _fail(b: Backend, pi: dict[str, Any], pm: dict[str, Any], code: str, message: str) -> None:
    charge = b.store.add(objects.charge(
        payment_intent=pi, payment_method=pm, paid=False, failure_code=code, failure_message=message,
        outcome=payments._outcome("invalid", "declined_by_network", None, message),
        payment_method_details=charge_details(b, pi, pm),
    ))
    pi.update(status="requires_payment_method", payment_method=None, latest_charge=charge["id"], next_action=None,
              last_payment_error={
                  "charge": charge["id"],
                  "code": code,
                  "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                  "message": message,
                  "payment_method": copy.deepcopy(pm),
                  "type": "invalid_request_error",
              })
    b.emit(None, "charge.failed", charge)
    b.emit(None, "payment_intent.payment_failed", pi)


def charge_details(b: Backend, pi: dict[str, Any], pm: dict[str, Any]) -> dict[str, Any]:
    """A charge's `payment_method_details` for a bank PaymentMethod."""
    kind = pm["type"]
    if kind == SEPA_DEBIT:
        sepa = pm[SEPA_DEBIT]
        details = {key: sepa[key] for key in ("bank_code", "branch_code", "country", "fingerprint", "last4")}
        details["mandate"] = _mandate_of(b, pm)
        details["expected_debit_date"] = None
    elif kind == IDEAL:
        details = {"bank": pm[IDEAL]["bank"] or "ing", "bic": pm[IDEAL]["bic"] or IDEAL_BANKS["ing"],
                   "generated_sepa_debit": None, "generated_sepa_debit_mandate": None,
                   "transaction_id": objects.token(16), **_TEST_ACCOUNT}
    else:
        details = {**_BANCONTACT_BANK, "generated_sepa_debit": None, "generated_sepa_debit_mandate": None,
                   "preferred_language": "en", "iban_last4": _TEST_ACCOUNT["iban_last4"],
                   "verified_name": pm["billing_details"]["name"] or _TEST_ACCOUNT["verified_name"]}
    return {kind: details, "type": kind}


# --- the bank's page, where the shopper authorizes a redirect payment ---------------
# Its open redirects are kept with the 3D Secure challenges (store.challenges, found by
# payments.challenge), so canceling a PaymentIntent closes either.


def redirect_finish(b: Backend, token: str, authorized: bool) -> tuple[dict[str, Any], str | None]:
    """The shopper authorized or failed the test payment at the bank. Returns (pi, return_url)."""
    open_redirect = b.store.challenges.pop(token)
    pi = b.store.get("payment_intent", open_redirect["payment_intent"])
    pm = b.store.get("payment_method", pi["payment_method"])
    if authorized:
        payments._capture(b, None, pi, pm, three_d_secure=None)
    else:
        error = {
            "code": "payment_intent_payment_attempt_failed",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-payment-attempt-failed",
            "message": "The payment failed.",
            "payment_method": copy.deepcopy(pm),
            "type": "invalid_request_error",
        }
        pi.update(status="requires_payment_method", payment_method=None, next_action=None, last_payment_error=error)
        b.emit(None, "payment_intent.payment_failed", pi)
    return pi, open_redirect["return_url"]


def method_name(kind: str) -> str:
    return {SEPA_DEBIT: "SEPA Direct Debit", IDEAL: "iDEAL", BANCONTACT: "Bancontact"}.get(kind, kind)


def check_currency(kind: str, currency: str, param: str) -> None:
    allowed = CURRENCIES.get(kind)
    if allowed and currency not in allowed:
        raise StripeError(400, "invalid_request_error",
                          f"The currency provided ({currency}) is invalid. Payments with {kind} support the "
                          f"following currencies: {', '.join(allowed)}.", code="payment_intent_invalid_currency",
                          param=param)

