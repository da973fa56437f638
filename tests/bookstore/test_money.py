from decimal import Decimal

import pytest

from bookstore.money import MoneyError, decimal_places, format_money, from_minor_units, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1250, "EUR", "€12.50"),
        (123456789, "USD", "$1,234,567.89"),
        (1200, "JPY", "¥1,200"),
        (5000, "KRW", "₩5,000"),
        (12500, "KWD", "12.500 KWD"),
        (-550, "GBP", "-£5.50"),
        (7, "SEK", "0.07 SEK"),
    ],
)
def test_format_money_uses_the_currencys_own_decimals(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_conversions_round_trip_and_refuse_sub_unit_precision():
    assert to_minor_units("12.50", "eur") == 1250
    assert to_minor_units("1200", "JPY") == 1200
    assert from_minor_units(1200, "JPY") == Decimal("1200")
    assert from_minor_units(1250, "EUR") == Decimal("12.50")
    assert decimal_places("jpy") == 0
    with pytest.raises(MoneyError):
        to_minor_units("12.505", "EUR")
    with pytest.raises(MoneyError):
        to_minor_units("12.5", "JPY")
    with pytest.raises(MoneyError):
        to_minor_units("NaN", "EUR")
