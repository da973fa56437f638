"""Setting the shop up at Stripe: the webhook endpoint its events arrive at."""

import uuid

from django.conf import settings
from django.urls import reverse
from djstripe import models as djstripe_models

from payments import gateway


def webhook_endpoint_register(*, base_url: str) -> tuple[djstripe_models.WebhookEndpoint, bool]:
    """Register the shop's webhook endpoint at Stripe for `base_url`, or bring it up to date.

    Returns the dj-stripe row (which holds the signing secret) and whether it is new.
    Running it again updates the one endpoint; it never makes a second.
    """
    base_url = base_url.rstrip("/")
    endpoint_uuid = uuid.uuid4()
    url = base_url + reverse("stripe_webhook", kwargs={"uuid": endpoint_uuid})
    prefix = url[: -len(str(endpoint_uuid)) - 1]
    events = list(settings.STRIPE_WEBHOOK_EVENTS)

    local = djstripe_models.WebhookEndpoint.objects.filter(url__startswith=prefix).order_by("-created").first()
    if local is not None:
        try:
            remote = gateway.webhook_endpoint_update(local.id, enabled_events=events)
        except gateway.PaymentGatewayError as exc:
            if exc.http_status != 404:
                raise
            # Gone at Stripe (deleted in the dashboard, a reset emulator): make a new one.
            local.delete()
        else:
            secret = local.secret
            local = djstripe_models.WebhookEndpoint.sync_from_stripe_data(remote, api_key=settings.STRIPE_SECRET_KEY)
            if not local.secret:
                # Stripe shows the secret only when the endpoint is created.
                local.secret = secret
                local.save(update_fields=["secret"])
            return local, False

    for remote in gateway.webhook_endpoint_list():
        if remote.url.startswith(prefix):
            # Its secret is unknown here, so its deliveries could never be verified.
            gateway.webhook_endpoint_delete(remote.id)
    remote = gateway.webhook_endpoint_create(
        url=url, enabled_events=events, metadata={"djstripe_uuid": str(endpoint_uuid)}
    )
    local = djstripe_models.WebhookEndpoint.sync_from_stripe_data(remote, api_key=settings.STRIPE_SECRET_KEY)
    return local, True
