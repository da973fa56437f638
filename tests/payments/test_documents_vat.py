"""The VAT arithmetic of receipts and credit notes (payments/documents/vat.py): no database."""

import itertools

import pytest

from payments.documents.vat import allocate, credit_breakdown, format_rate, gross_by_rate, vat_breakdown, vat_in_gross

AWKWARD_PRICES = [1, 2, 3, 5, 7, 9, 13, 61, 99, 123, 999, 1001, 1230, 1299, 4999, 12345, 99999, 1000003]
RATES = [0, 480, 900, 1350, 2300, 2500]


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [
        (1230, 2300, 230),  # €12.30 at 23 % is €10.00 + €2.30
        (100, 2300, 19),  # 18.699... rounds up
        (1, 2300, 0),  # 0.187 rounds down
        (3, 2300, 1),  # 0.561 rounds up
        (1350, 1350, 161),  # 160.57
        (1135, 1350, 135),  # exactly 135
        (5, 10000, 3),  # 2.5, half up
        (999, 0, 0),
        (0, 2300, 0),
    ],
)
def test_vat_in_a_tax_inclusive_amount_rounds_half_up(gross, rate, vat):
    assert vat_in_gross(gross, rate) == vat


def test_vat_in_gross_refuses_negative_amounts():
    with pytest.raises(ValueError):
        vat_in_gross(-100, 2300)


@pytest.mark.parametrize("prices", [AWKWARD_PRICES[i : i + 5] for i in range(0, len(AWKWARD_PRICES), 3)])
@pytest.mark.parametrize("rates", [(2300,), (0, 2300), (900, 1350, 2300), tuple(RATES)])
def test_the_columns_sum_exactly_to_the_total(prices, rates):
    lines = [(rate, price * quantity) for (price, quantity), rate in zip(itertools.product(prices, (1, 3, 7)), itertools.cycle(rates))]
    total = sum(gross for _rate, gross in lines)

    breakdown = vat_breakdown(gross_by_rate(lines))

    assert sum(line.gross for line in breakdown) == total
    assert sum(line.net for line in breakdown) + sum(line.vat for line in breakdown) == total
    for line in breakdown:
        assert line.net + line.vat == line.gross
        assert 0 <= line.vat <= line.gross
        assert abs(line.vat * (10000 + line.rate) - line.gross * line.rate) <= (10000 + line.rate) / 2
    assert [line.rate for line in breakdown] == sorted({rate for rate, gross in lines if gross}, reverse=True)


@pytest.mark.parametrize(
    ("amount", "weights", "parts"),
    [
        (100, {2300: 1, 0: 1}, {2300: 50, 0: 50}),
        (101, {2300: 1, 0: 1}, {2300: 51, 0: 50}),  # the tie goes to the higher rate
        (1, {2300: 1, 900: 1, 0: 1}, {2300: 1, 900: 0, 0: 0}),
        (10, {2300: 1, 900: 2}, {2300: 3, 900: 7}),
        (0, {2300: 5}, {2300: 0}),
        (7, {2300: 7, 0: 0}, {2300: 7, 0: 0}),
    ],
)
def test_allocation_sums_exactly(amount, weights, parts):
    assert allocate(amount, weights) == parts


@pytest.mark.parametrize("amount", AWKWARD_PRICES)
def test_allocation_never_exceeds_a_weight(amount):
    weights = {2300: 1, 1350: amount // 3 + 1, 900: amount // 2 + 1, 0: amount}
    parts = allocate(amount, weights)

    assert sum(parts.values()) == amount
    assert all(0 <= parts[key] <= weights[key] for key in weights)


@pytest.mark.parametrize("order_prices", [(1299, 899), (1, 2, 3), (12345, 61, 999), (1000003, 7)])
@pytest.mark.parametrize("refund_divisors", [(), (2,), (3, 3), (9, 7, 5)])
def test_credit_notes_for_a_full_refund_give_back_exactly_the_receipts_vat(order_prices, refund_divisors):
    order_gross = gross_by_rate(zip([2300, 0, 1350], order_prices))
    total = sum(order_gross.values())
    receipt = {line.rate: line for line in vat_breakdown(order_gross)}
    # Refunds of awkward parts (a third, a ninth...), the last one whatever is left.
    amounts = [total // divisor for divisor in refund_divisors]
    amounts.append(total - sum(amounts))
    credited: dict[int, int] = {}
    credited_vat: dict[int, int] = {}

    for amount in amounts:
        lines = credit_breakdown(amount=amount, order_gross=order_gross, credited_gross=credited)
        assert sum(line.gross for line in lines) == amount
        for line in lines:
            assert 0 <= line.vat <= line.gross
            credited[line.rate] = credited.get(line.rate, 0) + line.gross
            credited_vat[line.rate] = credited_vat.get(line.rate, 0) + line.vat
            assert credited[line.rate] <= order_gross[line.rate]

    assert credited == {rate: gross for rate, gross in order_gross.items() if gross}
    assert credited_vat == {rate: line.vat for rate, line in receipt.items()}


def test_a_credit_above_what_is_left_is_refused():
    with pytest.raises(ValueError, match="more than the 100 left"):
        credit_breakdown(amount=101, order_gross={2300: 150}, credited_gross={2300: 50})


@pytest.mark.parametrize(("rate", "text"), [(2300, "23%"), (1350, "13.5%"), (480, "4.8%"), (0, "0%"), (925, "9.25%")])
def test_rates_print_as_percentages(rate, text):
    assert format_rate(rate) == text
