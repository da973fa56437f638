"""Receipts and credit notes in the admin: read-only, with download links, a way to retry a
failed receipt delivery, and the accountant's export of a period (CSV, or a ZIP of the PDFs).

Imported by PaymentsConfig.ready(), beside payments/admin.py.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from payments.admin import OrderMoneyAdmin, ReadOnlyAdmin
from payments.documents.export import export_csv, export_rows, export_zip
from payments.documents.services import receipt_retry
from payments.models import CreditNote, Receipt

EXPORT_PERMISSION = "payments.export_documents"


class ExportForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("zip", "ZIP of the PDFs, with the CSV")], initial="csv")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The period ends before it starts.")
        return cleaned


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
    change_list_template = "admin/payments/receipt/change_list.html"

    def get_urls(self) -> list:
        export = path("export/", self.admin_site.admin_view(self.export_view), name="payments_documents_export")
        return [export, *super().get_urls()]

    def export_view(self, request):
        """A period's receipts and credit notes for the accountant."""
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        form = ExportForm(request.GET or None)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            rows = export_rows(start=start, end=end)
            name = f"documents-{start:%Y%m%d}-{end:%Y%m%d}"
            if form.cleaned_data["format"] == "zip":
                response = HttpResponse(export_zip(rows), content_type="application/zip")
                response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
            else:
                response = HttpResponse(export_csv(rows), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            response["Cache-Control"] = "private, no-store"
            return response
        context = {**self.admin_site.each_context(request), "title": "Export receipts and credit notes", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/payments/receipt/export.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": request.user.has_perm(EXPORT_PERMISSION)}
        return super().changelist_view(request, extra_context)

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


@admin.register(CreditNote)
class CreditNoteAdmin(OrderMoneyAdmin):
    list_display = ["display_number", "kind", "order_link", "receipt", "amount_display", "created_at", "download"]
    list_filter = ["kind", ("rendered_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "order__number", "order__email"]
    list_select_related = ["order", "receipt"]
    fields = [
        "display_number", "kind", "order_link", "receipt", "cancels", "refund", "amount_display", "vat_lines",
        "download", "sha256", "created_at", "rendered_at",
    ]
    readonly_fields = fields

    @admin.display(description="Number", ordering="number")
    def display_number(self, note: CreditNote) -> str:
        return note.display_number

    @admin.display(description="PDF")
    def download(self, note: CreditNote) -> str:
        if not note.rendered_at:
            return "—"
        url = reverse("payments:credit_note_download", args=[note.order.number, note.number])
        return format_html('<a href="{}">Download {}</a>', url, note.display_number)
