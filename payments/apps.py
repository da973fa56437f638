from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Receipts' admin lives beside payments/admin.py (issue 5).
        from payments import receipt_admin  # noqa: F401
        # Connects the @djstripe_receiver handlers.
        from payments import webhooks  # noqa: F401
        # Refunds' admin: the list, and the staff refund pages (issue 6).
        from payments import refund_admin  # noqa: F401
