"""Payments, refunds and receipts in the admin are read-only: only Stripe and the services change them."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from djstripe import models as djstripe_models

from bookstore.money import format_money
from payments.models import Payment


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only Stripe's answers and the services write: staff look, never edit.

    Never deleted either: payments and refunds are the shop's record of money, and receipt
    numbers must stay without gaps.
    """

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderMoneyAdmin(ReadOnlyAdmin):
    """For rows of an order holding an amount (payments, refunds)."""

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order.number)

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(Payment)
class PaymentAdmin(OrderMoneyAdmin):
    list_display = ["stripe_payment_intent_id", "order_link", "status", "amount_display", "card", "updated_at"]
    list_filter = ["status", "method_type", "card_brand"]
    search_fields = ["stripe_payment_intent_id", "order__number", "order__email"]
    list_select_related = ["order"]
    fields = [
        "order_link",
        "status",
        "amount_display",
        "card",
        "stripe_payment_intent_id",
        "payment_intent_link",
        "charge_link",
        "last_error_code",
        "last_decline_code",
        "last_error_message",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Paid with")
    def card(self, payment: Payment) -> str:
        return payment.method_words or "—"

    @admin.display(description="PaymentIntent (dj-stripe mirror)")
    def payment_intent_link(self, payment: Payment) -> str:
        return _mirror_link(djstripe_models.PaymentIntent, payment.payment_intent_id)

    @admin.display(description="Charge (dj-stripe mirror)")
    def charge_link(self, payment: Payment) -> str:
        return _mirror_link(djstripe_models.Charge, payment.charge_id)


def _mirror_link(model, stripe_id: str | None) -> str:
    """Stripe's id, linked to dj-stripe's admin page for its mirrored row."""
    if not stripe_id:
        return "—"
    # dj-stripe's admin keys its rows by its own database id, not Stripe's.
    pk = model.objects.filter(id=stripe_id).values_list("djstripe_id", flat=True).first()
    if pk is None:
        return stripe_id
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, stripe_id)
