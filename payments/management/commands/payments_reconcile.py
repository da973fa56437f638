from django.core.management.base import BaseCommand

from payments.paying.services import payments_reconcile


class Command(BaseCommand):
    help = (
        "Ask Stripe about the PaymentIntents of orders still pending a few minutes after "
        "payment started, and apply what it says, as the webhooks would (heals lost webhooks)."
    )

    def handle(self, *args, **options) -> None:
        numbers = payments_reconcile()
        self.stdout.write(f"Reconciled {len(numbers)} pending order(s){': ' + ', '.join(numbers) if numbers else '.'}")
