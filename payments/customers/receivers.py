"""Keeps an account's Stripe Customer in step with the account: a changed email goes to Stripe
after the change commits, through the `payments.customer_email_sync` task (no Stripe call in the
request that saved the account, and none at all for accounts without a Customer)."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from payments.customers.services import customer_email_changed


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="payments.customers.email")
def account_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # A sign-in saves `last_login` alone: not worth a query.
    if created or (update_fields is not None and "email" not in update_fields):
        return
    customer_email_changed(user=instance)
