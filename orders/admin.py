"""Orders in the admin: read-only. Every change of state goes through orders/services.py,
which writes the order's history; an edit form here would bypass it."""

from django.contrib import admin
from django.contrib.auth import get_permission_codename

from bookstore.money import format_money
from orders.models import Order, OrderEvent, OrderLine
from orders.signals import order_admin_viewing
from orders.templatetags.order_pages import country_name


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        # Lines and history are part of the order: whoever may see the order sees them.
        opts = self.parent_model._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["title", "author", "isbn", "unit_price", "quantity", "restocked_quantity", "line_total_display"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Each line's money is formatted in its order's currency: one query, not one per line.
        return super().get_queryset(request).select_related("order")

    @admin.display(description="Unit price")
    def unit_price(self, line: OrderLine) -> str:
        return format_money(line.unit_price_amount, line.order.currency)

    @admin.display(description="Line total")
    def line_total_display(self, line: OrderLine) -> str:
        return format_money(line.line_total, line.order.currency)


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name = "history entry"
    verbose_name_plural = "history"
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "actor_user", "stripe_event_id", "message"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "email", "status", "total", "needs_attention", "user"]
    list_filter = ["status", "needs_attention", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["number", "email"]
    list_select_related = ["user"]
    inlines = [OrderLineInline, OrderEventInline]
    fieldsets = [
        (None, {"fields": ["number", "status", "user", "email", "created_at", "paid_at", "canceled_at"]}),
        ("Money", {"fields": ["subtotal", "tax", "total", "refunded"]}),
        ("Stock", {"fields": ["reserved_until", "stock_released"]}),
        ("Attention", {"fields": ["needs_attention", "attention_reason"]}),
        (
            "Shipping",
            {
                "fields": [
                    "shipping_name", "shipping_line1", "shipping_line2", "shipping_city", "shipping_postal_code",
                    "shipping_country_name",
                ]
            },
        ),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        # The reservation matters only while the order waits for payment, and its release
        # once it is canceled; on a paid order it would only puzzle staff.
        if obj is None or obj.status in (Order.Status.PENDING_PAYMENT, Order.Status.CANCELED):
            return self.fieldsets
        return [fieldset for fieldset in self.fieldsets if fieldset[0] != "Stock"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only, so a Save button would only promise an edit that cannot happen.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Here, after the permission checks and before the page reads the order's money.
        if obj is not None:
            order_admin_viewing.send(sender=Order, order=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        # A crafted POST of the change form must not write the order behind the services' back.
        return

    def _money(self, order: Order, amount: int) -> str:
        return format_money(amount, order.currency)

    @admin.display(description="Total", ordering="total_amount")
    def total(self, order: Order) -> str:
        return self._money(order, order.total_amount)

    @admin.display(description="Subtotal")
    def subtotal(self, order: Order) -> str:
        return self._money(order, order.subtotal_amount)

    @admin.display(description="Tax")
    def tax(self, order: Order) -> str:
        return self._money(order, order.tax_amount)

    @admin.display(description="Country")
    def shipping_country_name(self, order: Order) -> str:
        return country_name(order.shipping_country)

    @admin.display(description="Refunded")
    def refunded(self, order: Order) -> str:
        return self._money(order, order.refunded_amount)


class RefundStateFilter(admin.SimpleListFilter):
    """Orders by their refunds' state. By lookup name: orders may not import payments."""

    title = "refund state"
    parameter_name = "refund_state"

    def lookups(self, request, model_admin):
        return [
            ("pending", "Refund pending"),
            ("succeeded", "Refunded (in part or whole)"),
            ("failed", "Refund failed"),
            ("none", "No refunds"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(refunds__isnull=True)
        if self.value():
            return queryset.filter(refunds__status=self.value()).distinct()
        return queryset


OrderAdmin.list_filter = [*OrderAdmin.list_filter, RefundStateFilter]
