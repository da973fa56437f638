"""The admin's refund form: it reads what staff typed (money to minor units, whole copies).

Whether the refund may be made is `refund_check`'s answer (services.py), not the form's.
"""

from django import forms

from bookstore.money import MoneyError, format_money, to_minor_units
from orders.models import Order, OrderLine
from payments.models import Refund


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=20)
    reason = forms.ChoiceField(
        choices=[("", "No reason given"), *Refund.Reason.choices], required=False, label="Reason (sent to Stripe)"
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, label="Internal note",
        help_text="For staff only; the shopper never sees it.",
    )
    # The order's refunds as the form was opened: a second submit of it is refused.
    state = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, order: Order, lines: list[OrderLine], available: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.lines = lines
        self.fields["amount"].label = f"Amount ({order.currency})"
        self.fields["amount"].help_text = f"At most {format_money(available, order.currency)} is left to refund."
        for line in lines:
            left = line.quantity - line.restocked_quantity
            # The bounds are the number input's min and max in the browser; refund_check also
            # counts the copies that refunds still in flight will put back.
            self.fields[f"restock_{line.pk}"] = forms.IntegerField(
                min_value=0, max_value=left, initial=0, required=False, label=f"{line.title}",
                help_text=f"{left} of {line.quantity} can go back to stock.",
                widget=forms.NumberInput(attrs={"style": "width: 5em"}),
            )

    def clean_amount(self) -> int:
        try:
            return to_minor_units(self.cleaned_data["amount"].strip().replace(",", ""), self.order.currency)
        except MoneyError as exc:
            raise forms.ValidationError(f"Enter an amount in {self.order.currency}, such as 12.50.") from exc

    def refund_fields(self):
        return [self["amount"], self["reason"], self["note"]]

    def restock_fields(self):
        return [self[f"restock_{line.pk}"] for line in self.lines]

    def restock(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data.get(f"restock_{line.pk}") or 0
            for line in self.lines
            if self.cleaned_data.get(f"restock_{line.pk}")
        }

    def add_refusal(self, field: str | None, message: str) -> None:
        """Show a refusal of the refund service beside the input it names, or above the form."""
        if field and field.startswith("restock."):
            field = f"restock_{field.removeprefix('restock.')}"
        self.add_error(field if field in self.fields else None, message)
