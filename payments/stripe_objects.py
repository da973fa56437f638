"""Reading Stripe objects and mirroring them with dj-stripe, for payments and refunds alike."""

import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def stripe_field(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a Stripe object or of its plain-dict form (a webhook payload); `default` if absent or null."""
    if obj is None:
        return default
    try:
        value = obj[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def stripe_id_of(value: Any) -> str | None:
    """The id of a field that holds an id or, when expanded, the object."""
    return value if isinstance(value, str) or value is None else stripe_field(value, "id")


def stripe_mirror(model, data) -> Any:
    """Mirror a Stripe object with dj-stripe; the shop keeps working if the mirror cannot."""
    try:
        return model.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
    except Exception:
        # The mirror is a convenience for staff and reports; our own rows hold what the
        # order needs. Losing a payment or a refund over it would be the worse failure.
        logger.exception("dj-stripe could not mirror %s %s", model.__name__, stripe_field(data, "id"))
        return None
