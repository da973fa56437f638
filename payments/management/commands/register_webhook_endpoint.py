from django.core.management.base import BaseCommand, CommandError

from payments.gateway import PaymentGatewayError
from payments.setup.services import webhook_endpoint_register


class Command(BaseCommand):
    help = (
        "Register (or update) the shop's webhook endpoint at Stripe for a public URL, "
        "listening to the events the shop handles, and store its signing secret."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", required=True, help="The shop's public base URL, e.g. https://shop.example.com")

    def handle(self, *args, url: str, **options) -> None:
        try:
            endpoint, created = webhook_endpoint_register(base_url=url)
        except PaymentGatewayError as exc:
            raise CommandError(f"Stripe refused: {exc.message}") from exc
        verb = "Registered" if created else "Updated"
        self.stdout.write(f"{verb} webhook endpoint {endpoint.id}: {endpoint.url} ({len(endpoint.enabled_events)} events)")
