from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # The parts' admins beside payments/admin.py (which Django's autodiscovery imports).
        from payments.documents import admin as documents_admin  # noqa: F401
        from payments.paying import admin as paying_admin  # noqa: F401
        from payments.customers import receivers as customers_receivers  # noqa: F401  (a changed email goes to Stripe)
        from payments.paying import receivers  # noqa: F401  (stops a superseded order's payment)
        from payments.refunds import admin as refunds_admin  # noqa: F401
        from payments.refunds import receivers as refunds_receivers  # noqa: F401  (reads back a late refund)
