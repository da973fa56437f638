"""The webhook inbox in the admin: read-only, with one action, "Process again".

Registered from PaymentsConfig.ready(), beside payments/admin.py. The action needs the
`payments.change_webhookmessage` permission (superusers have it); the rows themselves are
never edited.
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from payments.admin import ReadOnlyAdmin
from payments.models import WebhookMessage
from payments.paying.inbox import webhook_requeue


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin):
    list_display = ["stripe_event_id", "type", "state", "attempts", "received_at", "processed_at", "last_error"]
    list_filter = ["state", "type"]
    search_fields = ["stripe_event_id", "type"]
    date_hierarchy = "received_at"
    fields = [
        "stripe_event_id",
        "type",
        "state",
        "attempts",
        "last_error",
        "received_at",
        "attempted_at",
        "processed_at",
        "endpoint",
        "payload_display",
    ]
    readonly_fields = fields
    actions = ["process_again"]

    @admin.display(description="Payload")
    def payload_display(self, message: WebhookMessage) -> str:
        return format_html("<pre>{}</pre>", json.dumps(message.payload, indent=2, sort_keys=True))

    def has_process_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.change_webhookmessage")

    @admin.action(description="Process again", permissions=["process"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookMessage]) -> None:
        queued = webhook_requeue(message_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - queued
        self.message_user(
            request,
            f"Queued {queued} event(s) for processing."
            + (f" {skipped} being processed right now were left to that attempt." if skipped else ""),
            messages.SUCCESS,
        )
