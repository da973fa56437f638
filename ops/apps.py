from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the shop: health, metrics, logs, deployment checks and the staff dashboard."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import checks  # noqa: F401  (registers the system checks)
