"""How a shopper paid, in words, from a Stripe charge's `payment_method_details`.

One description for receipts, refund emails, the order page, the admin and the API:
"Visa ending in 4242", "SEPA Direct Debit ending in 3000", "iDEAL, ING", "Bancontact".
It is worked out once, when the charge is recorded (`payment_apply_intent`), and kept on
the payment, so a page never needs the charge to say it.
"""

from collections.abc import Mapping
from typing import Any

CARD_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}
IDEAL_BANKS = {
    "abn_amro": "ABN AMRO",
    "asn_bank": "ASN Bank",
    "bunq": "bunq",
    "ing": "ING",
    "knab": "Knab",
    "n26": "N26",
    "nn": "Nationale-Nederlanden",
    "rabobank": "Rabobank",
    "regiobank": "RegioBank",
    "revolut": "Revolut",
    "sns_bank": "SNS Bank",
    "triodos_bank": "Triodos Bank",
    "van_lanschot": "Van Lanschot",
}
METHOD_NAMES = {"card": "Card", "sepa_debit": "SEPA Direct Debit", "ideal": "iDEAL", "bancontact": "Bancontact"}
# Methods whose money Stripe confirms days after the shopper paid (`processing` meanwhile).
DELAYED_METHODS = ("sepa_debit",)


def card_words(brand: str, last4: str) -> str:
    if not last4:
        return ""
    return f"{CARD_BRANDS.get(brand, brand.title()) or 'Card'} ending in {last4}"


def payment_method_words(details: Mapping[str, Any] | None) -> str:
    """A charge's `payment_method_details` in words; "" when there are none."""
    if not details:
        return ""
    kind = details.get("type") or ""
    own = details.get(kind) or {}
    if kind == "card":
        return card_words(own.get("brand") or "", own.get("last4") or "")
    name = METHOD_NAMES.get(kind, kind.replace("_", " ").title())
    if kind == "sepa_debit" and own.get("last4"):
        return f"{name} ending in {own['last4']}"
    if kind == "ideal" and own.get("bank"):
        return f"{name}, {IDEAL_BANKS.get(own['bank'], own['bank'].replace('_', ' ').title())}"
    return name
