from django.core.management.base import BaseCommand

from payments.paying.services import payments_release_expired


class Command(BaseCommand):
    help = (
        "Cancel orders left unpaid past their reservation (their PaymentIntents first) "
        "and put their stock back on the shelf."
    )

    def handle(self, *args, **options) -> None:
        numbers = payments_release_expired()
        self.stdout.write(f"Released {len(numbers)} expired reservation(s){': ' + ', '.join(numbers) if numbers else '.'}")
