"""Receipts in the admin: read-only, with a download link and a way to retry a failed delivery.

Imported by PaymentsConfig.ready(), beside payments/admin.py.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from payments.admin import ReadOnlyAdmin
from payments.models import Receipt
from payments.documents.services import receipt_retry


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "order", "rendered_at", "emailed_at", "failed_at", "download"]
    list_filter = [("emailed_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "order__number", "order__email"]
    list_select_related = ["order"]
    readonly_fields = [
        "display_number", "order", "download", "sha256", "created_at", "rendered_at", "emailed_at", "failed_at", "failure"
    ]
    fields = readonly_fields
    actions = ["retry_delivery"]

    def has_retry_permission(self, request) -> bool:
        # The change form stays read-only; changing a receipt means asking for its delivery again.
        return request.user.has_perm("payments.change_receipt")

    @admin.display(description="Receipt", ordering="number")
    def display_number(self, receipt: Receipt) -> str:
        return receipt.display_number

    @admin.display(description="PDF")
    def download(self, receipt: Receipt) -> str:
        if not receipt.rendered_at:
            return "—"
        url = reverse("payments:receipt_download", args=[receipt.order.number])
        return format_html('<a href="{}">Download {}</a>', url, receipt.display_number)

    @admin.action(description="Render and email again where delivery failed or is missing", permissions=["retry"])
    def retry_delivery(self, request, queryset):
        receipts = list(queryset.filter(emailed_at__isnull=True))
        for receipt in receipts:
            receipt_retry(receipt_id=receipt.pk)
        self.message_user(request, f"Queued {len(receipts)} receipt(s) for delivery.", messages.SUCCESS)
