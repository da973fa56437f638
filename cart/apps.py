from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"

    def ready(self) -> None:
        from cart import signals  # noqa: F401  (connects the sign-in merge)
