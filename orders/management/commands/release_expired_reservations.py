from django.core.management.base import BaseCommand

from orders.services import order_expire_unpaid


class Command(BaseCommand):
    help = "Cancel orders left unpaid past their reservation and put their stock back on the shelf."

    def handle(self, *args, **options) -> None:
        numbers = order_expire_unpaid()
        self.stdout.write(f"Released {len(numbers)} expired reservation(s){': ' + ', '.join(numbers) if numbers else '.'}")
