from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The shopper's own pages: saved cards, saved addresses and order history together."""

    name = "accounts"
