"""VAT on receipts and credit notes: integer arithmetic in minor units that always sums exactly.

Prices are tax-inclusive. Rates are basis points (2300 is 23 %), snapshotted on each order
line when the order is placed (`OrderLine.vat_rate`).

Rounding, the one rule: VAT is computed once per rate on the document's gross total at that
rate, `vat = round_half_up(gross * rate / (10000 + rate))`, and `net = gross - vat`. So for
every rate net + VAT = gross, and the rates' grosses add up to the document's total, with
no cent lost or invented whatever the prices. Rounding per line instead would let the VAT
column drift from the VAT of the total by up to half a cent per line.

A credit note's amount is split over the rates in proportion to what is still uncredited at
each rate (largest remainder, so the parts sum to the amount and never exceed what is left),
and its VAT is the VAT of everything credited so far at that rate minus the VAT already
credited: a full refund, in one or many credit notes, gives back exactly the receipt's VAT.
"""

import dataclasses
from collections.abc import Iterable, Mapping

BASIS_POINTS = 10000


@dataclasses.dataclass(frozen=True)
class VatLine:
    """One rate's part of a document: gross (tax included) = net + vat, in minor units."""

    rate: int
    gross: int
    vat: int

    @property
    def net(self) -> int:
        return self.gross - self.vat

    def as_dict(self) -> dict[str, int]:
        return {"rate": self.rate, "gross": self.gross, "net": self.net, "vat": self.vat}


def vat_in_gross(gross: int, rate: int) -> int:
    """The VAT included in a non-negative tax-inclusive `gross` at `rate` basis points, half up."""
    if gross < 0 or rate < 0:
        raise ValueError("VAT is computed on non-negative amounts and rates; apply the sign afterwards.")
    denominator = BASIS_POINTS + rate
    # round_half_up(gross * rate / denominator) in integers: no float ever touches money.
    return (2 * gross * rate + denominator) // (2 * denominator)


def gross_by_rate(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    """{rate: gross} from (rate, gross) pairs, such as an order's lines."""
    totals: dict[int, int] = {}
    for rate, gross in lines:
        totals[rate] = totals.get(rate, 0) + gross
    return totals


def vat_breakdown(gross: Mapping[int, int]) -> list[VatLine]:
    """One VatLine per rate, highest rate first, from {rate: gross}; rates with nothing are left out."""
    return [VatLine(rate=rate, gross=amount, vat=vat_in_gross(amount, rate)) for rate, amount in sorted(gross.items(), reverse=True) if amount]


def allocate(amount: int, weights: Mapping[int, int]) -> dict[int, int]:
    """Split `amount` over the keys in proportion to `weights`, summing exactly (largest remainder).

    With `amount <= sum(weights)` no part exceeds its weight; ties go to the higher key.
    """
    total = sum(weights.values())
    if amount < 0 or any(weight < 0 for weight in weights.values()):
        raise ValueError("Only non-negative amounts and weights can be allocated.")
    if total == 0:
        if amount:
            raise ValueError(f"Cannot allocate {amount} over nothing.")
        return {key: 0 for key in weights}
    parts = {key: amount * weight // total for key, weight in weights.items()}
    short = amount - sum(parts.values())
    by_remainder = sorted(weights, key=lambda key: (amount * weights[key] % total, key), reverse=True)
    for key in by_remainder[:short]:
        parts[key] += 1
    return parts


def credit_breakdown(*, amount: int, order_gross: Mapping[int, int], credited_gross: Mapping[int, int]) -> list[VatLine]:
    """The VAT lines of a credit note for `amount`, given the order's {rate: gross} and what
    earlier credit notes (still standing) credited per rate."""
    left = {rate: gross - credited_gross.get(rate, 0) for rate, gross in order_gross.items()}
    if amount > sum(left.values()):
        raise ValueError(f"A credit of {amount} is more than the {sum(left.values())} left to credit.")
    parts = allocate(amount, left)
    lines = []
    for rate in sorted(parts, reverse=True):
        if not parts[rate]:
            continue
        before = credited_gross.get(rate, 0)
        vat = vat_in_gross(before + parts[rate], rate) - vat_in_gross(before, rate)
        lines.append(VatLine(rate=rate, gross=parts[rate], vat=vat))
    return lines


def format_rate(rate: int) -> str:
    """2300 -> '23%', 1350 -> '13.5%', 0 -> '0%'."""
    whole, fraction = divmod(rate, 100)
    return f"{whole}%" if not fraction else f"{whole}.{fraction:02d}".rstrip("0") + "%"
