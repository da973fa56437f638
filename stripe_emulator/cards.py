"""Stripe's test cards: what each number looks like and how a payment with it ends.

The numbers and the `pm_card_*` ids are the ones in Stripe's testing docs, so code
and tests written against the emulator keep working against Stripe's test mode.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

# Outcomes of a confirmation (see payments.py).
SUCCEED = "succeed"
DECLINE = "decline"
REQUIRE_3DS = "require_3ds"
DISPUTE = "dispute"  # succeeds, then the cardholder disputes it a moment later

# How a refund of a payment made with the card ends (Stripe's refund test cards).
REFUND_SUCCEEDS = "succeeds"
REFUND_PENDING = "pending"  # pending, then succeeded a moment later
REFUND_FAILS = "fails"  # succeeded, then failed a moment later


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT_FUNDS = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
EXPIRED_CARD = Decline("expired_card", "expired_card", "Your card has expired.")
INCORRECT_CVC = Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.")


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    outcome: str = SUCCEED
    decline: Decline | None = None
    refund: str = REFUND_SUCCEEDS
    funding: str = "credit"
    country: str = "US"

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.number)


CARDS = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa"),
        TestCard("5555555555554444", "mastercard"),
        TestCard("4000000000000002", "visa", DECLINE, GENERIC_DECLINE),
        TestCard("4000000000009995", "visa", DECLINE, INSUFFICIENT_FUNDS),
        TestCard("4000000000000069", "visa", DECLINE, EXPIRED_CARD),
        TestCard("4000000000000127", "visa", DECLINE, INCORRECT_CVC),
        TestCard("4000002500003155", "visa", REQUIRE_3DS),
        TestCard("4000000000000259", "visa", DISPUTE),
        TestCard("4000000000007726", "visa", refund=REFUND_PENDING),
        TestCard("4000000000005126", "visa", refund=REFUND_FAILS),
    )
}

# Stripe's ready-made PaymentMethod ids; each use makes a fresh PaymentMethod, as Stripe does.
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_threeDSecure2Required": "4000002500003155",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_pendingRefund": "4000000000007726",
    "pm_card_refundFail": "4000000000005126",
}


def fingerprint(number: str) -> str:
    # Stable per number, like Stripe's: the emulator finds a card's behaviour from it,
    # so the full number never needs to be kept.
    return hashlib.sha256(number.encode()).hexdigest()[:16]


_BY_FINGERPRINT = {card.fingerprint: card for card in CARDS.values()}
PLAIN_CARD = TestCard("", "unknown")  # how any card that is not a test card behaves


def lookup(number: str) -> TestCard:
    """The test card for a number; any other valid number behaves like a plain success."""
    return CARDS.get(number) or TestCard(number, brand_of(number))


def by_fingerprint(value: str) -> TestCard:
    return _BY_FINGERPRINT.get(value, PLAIN_CARD)


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def default_expiry() -> tuple[int, int]:
    """The expiry Stripe gives its ready-made test PaymentMethods: a date safely ahead."""
    today = datetime.date.today()
    return today.month, today.year + 3
