"""Money: integer amounts in a currency's minor unit, beside an ISO 4217 code.

This is the one place that knows how many decimals a currency has. Nothing else
multiplies or divides by 100: Stripe's zero-decimal currencies (JPY, KRW, ...)
would be off by a factor of a hundred.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Stripe's lists: https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "KRW": "₩", "CHF": "CHF ", "INR": "₹"}


class MoneyError(ValueError):
    pass


def decimal_places(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(value: Decimal | str | int, currency: str) -> int:
    """Convert a major-unit amount ("12.50") to minor units (1250), refusing sub-unit precision."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is not an amount of money.") from exc
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount of money.")
    minor = amount.scaleb(decimal_places(currency))
    if minor != minor.to_integral_value():
        raise MoneyError(f"{value} {currency.upper()} has more decimals than the currency allows.")
    return int(minor)


def from_minor_units(amount: int, currency: str) -> Decimal:
    places = decimal_places(currency)
    return Decimal(amount).scaleb(-places).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_money(amount: int, currency: str) -> str:
    """'€1,234.50', '¥1,200', '12.500 KWD': grouped, with the currency's own decimals."""
    code = currency.upper()
    places = decimal_places(code)
    value = from_minor_units(amount, code)
    sign = "-" if value < 0 else ""
    number = f"{abs(value):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code}"
