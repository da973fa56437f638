"""The one place the shop talks to Stripe (or to the emulator: only settings differ).

Every write carries an idempotency key derived from our own rows, so a retry (stripe-
python's own network retries, a double click, a re-run task) replays Stripe's first
answer instead of doing the thing twice. Stripe's errors become `PaymentGatewayError`
with a message a shopper or a member of staff can act on.

Every request, the gateway's and dj-stripe's (they share `_LimitedHTTPClient`), first waits
for a slot under `STRIPE_RATE_LIMIT_PER_SECOND`, one budget for all the shop's processes
(payments/rate_limit.py), and a 429 from Stripe is retried here with backoff, so a shopper
sees it only when the bounds in settings run out.
"""

import functools
import hashlib
import itertools
import json
import logging
import random
import time
from typing import Any

import stripe
from django.conf import settings
from requests.structures import CaseInsensitiveDict

from bookstore import metrics
from bookstore.errors import ShopError
from payments import rate_limit

logger = logging.getLogger(__name__)

# Messages for the decline codes a shopper can do something about; Stripe's own message
# is used for the rest (it is written for end users too).
DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "expired_card": "Your card has expired. Check the date or try another card.",
    "incorrect_cvc": "The security code (CVC) is incorrect. Check it and try again.",
    "incorrect_number": "The card number is incorrect. Check it and try again.",
    "payment_intent_authentication_failure": "We could not authenticate your card. Try again or use another card.",
    "payment_intent_payment_attempt_failed": "Your bank did not approve the payment; nothing was charged. "
    "Try again or choose another way to pay.",
}
UNAVAILABLE_MESSAGE = "We could not reach our payment provider. Nothing was charged; please try again in a moment."
BUSY_MESSAGE = "Our payment provider is busy right now. Nothing was charged; please try again in a moment."
IN_PROGRESS_MESSAGE = "This payment is already being processed; its outcome will show on your order's page."
# Seconds: the first 429 retry comes within half a second, each next within twice as long.
RATE_LIMITED_BACKOFF = 0.5
RATE_LIMITED_BACKOFF_CAP = 4.0


class PaymentGatewayError(ShopError):
    def __init__(
        self,
        message: str,
        *,
        code: str = "payment_error",
        decline_code: str = "",
        stripe_code: str = "",
        http_status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code
        self.stripe_code = stripe_code
        self.http_status = http_status
        self.retryable = retryable


def decline_message(*, code: str, decline_code: str = "", stripe_message: str = "") -> str:
    return (
        DECLINE_MESSAGES.get(decline_code)
        or DECLINE_MESSAGES.get(code)
        or stripe_message
        or "Your card was declined. Try another card."
    )


def _wait_for_slot(headers: Any, *, give_up_at: float) -> None:
    rate = settings.STRIPE_RATE_LIMIT_PER_SECOND
    if not rate:
        return
    # Stripe's limit is per account and mode, that is per secret key: the bucket is named
    # after (a hash of) the key this request carries.
    key = "bookstore:stripe-rate:" + hashlib.sha256(headers.get("Authorization", "").encode()).hexdigest()[:16]
    max_wait = min(settings.STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS, give_up_at - time.monotonic())
    if not rate_limit.acquire(redis_url=settings.REDIS_URL, key=key, rate=rate, max_wait=max_wait):
        logger.warning("Stripe rate limit: no slot within %.1f s at %s requests/s", max_wait, rate)
        metrics.STRIPE_LIMITER_REFUSED.inc()
        raise PaymentGatewayError(BUSY_MESSAGE, code="provider_unavailable", retryable=True)


def _same_request_running(status: int, body) -> bool:
    """Stripe's 409 `idempotency_key_in_use`: the same key's first request is still being answered."""
    if status != 409:
        return False
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    return "idempotency_key_in_use" in text


class _LimitedHTTPClient(stripe.RequestsClient):
    """Each request waits for its slot under the shared rate; a 429 is retried, and so is a 409
    for a key whose first request is still running (two tabs starting one payment, a double click).

    The retry sends the same headers, Idempotency-Key included (ours, or the one stripe-python
    gave this POST), and Stripe neither runs nor keeps under that key a request it answered
    429 (`rate_limit`, `lock_timeout`) or 409, so a retried write runs once, and the 409's retry
    gets the first request's answer. stripe-python retries connection errors, 409s and 5xx
    itself, but only as often as STRIPE_MAX_NETWORK_RETRIES says (none in tests), never a 429.
    """

    def request(self, method, url, headers, post_data=None):
        give_up_at = time.monotonic() + settings.STRIPE_RATE_LIMITED_RETRY_SECONDS
        retries = 0
        while True:
            _wait_for_slot(headers, give_up_at=give_up_at)
            with metrics.stripe_request_observed(method=method, url=url) as answer:
                body, status, answer_headers = super().request(method, url, headers, post_data)
                answer["status"] = status
            rate_limited = status == 429 and answer_headers.get("Stripe-Should-Retry") != "false"
            if not rate_limited and not _same_request_running(status, body):
                return body, status, answer_headers
            # Full jitter: the processes Stripe refused together come back apart.
            pause = random.uniform(0, min(RATE_LIMITED_BACKOFF_CAP, RATE_LIMITED_BACKOFF * 2**retries))
            if retries >= settings.STRIPE_RATE_LIMITED_RETRIES or time.monotonic() + pause > give_up_at:
                logger.warning("Stripe answered %d after %d retries: %s %s", status, retries, method.upper(), url)
                # Our bounds are the bounds: stripe-python would retry a 429 marked
                # `Stripe-Should-Retry: true` again, once per network retry.
                answer_headers = CaseInsensitiveDict(answer_headers)
                answer_headers["Stripe-Should-Retry"] = "false"
                return body, status, answer_headers
            retries += 1
            time.sleep(pause)


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str, api_version: str, timeout: int, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=api_version,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=_LimitedHTTPClient(timeout=timeout),
    )


def _client() -> stripe.StripeClient:
    # Read at call time: tests and the emulator switch these in settings.
    return _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


# dj-stripe's own calls (the objects its mirroring fetches) go through stripe-python's global
# client, and Stripe counts them in the same budget: they wait and retry as ours do.
stripe.default_http_client = _LimitedHTTPClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)


def _translate(exc: stripe.StripeError) -> PaymentGatewayError:
    error = exc.error
    stripe_code = getattr(error, "code", None) or exc.code or ""
    if isinstance(exc, stripe.CardError):
        decline_code = getattr(error, "decline_code", None) or ""
        return PaymentGatewayError(
            decline_message(code=stripe_code, decline_code=decline_code, stripe_message=exc.user_message or ""),
            code="card_declined",
            decline_code=decline_code,
            stripe_code=stripe_code,
            http_status=exc.http_status,
        )
    if isinstance(exc, stripe.RateLimitError):
        logger.warning("Stripe rate limit: %s", exc)
        return PaymentGatewayError(
            BUSY_MESSAGE, code="provider_unavailable", stripe_code=stripe_code, http_status=exc.http_status, retryable=True
        )
    if stripe_code == "idempotency_key_in_use":
        # The same request (a double click, a task run twice) is still being answered at Stripe
        # under its idempotency key: the first request's outcome is the one that counts.
        return PaymentGatewayError(
            IN_PROGRESS_MESSAGE, code="in_progress", stripe_code=stripe_code, http_status=409, retryable=True
        )
    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) >= 500:
        logger.warning("Stripe unavailable: %s", exc)
        return PaymentGatewayError(
            UNAVAILABLE_MESSAGE, code="provider_unavailable", stripe_code=stripe_code, http_status=exc.http_status, retryable=True
        )
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        logger.error("Stripe refused the shop's API key: %s", exc)
        return PaymentGatewayError(
            "Payments are misconfigured on our side; nothing was charged.", code="provider_misconfigured", http_status=exc.http_status
        )
    # invalid_request_error and friends: Stripe's message names the problem (an amount
    # too large to refund, a PaymentIntent in the wrong state) and is meant for staff.
    return PaymentGatewayError(
        exc.user_message or str(exc), code="provider_refused", stripe_code=stripe_code, http_status=exc.http_status
    )


def _call(method, *args, **kwargs) -> Any:
    try:
        return method(*args, **kwargs)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


def _list_all(method, *, params: dict[str, Any], limit: int | None = None) -> list:
    """Every object of a Stripe list (at most `limit`), its later pages translated like the first."""
    try:
        pages = method(params={**params, "limit": min(limit or 100, 100)}).auto_paging_iter()
        # auto_paging_iter asks for the next page only when this one is used up.
        return list(itertools.islice(pages, limit))
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    idempotency_key: str,
    metadata: dict[str, str],
    receipt_email: str,
    description: str,
    customer: str | None = None,
) -> stripe.PaymentIntent:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "automatic_payment_methods": {"enabled": True},
        "metadata": metadata,
        "receipt_email": receipt_email,
        "description": description,
    }
    if customer:
        params["customer"] = customer
    return _call(_client().v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key})


# Everything `payment_sync` reads and mirrors, in one call: the latest charge (its card goes
# on the receipt) with its balance transaction, and the payment method. dj-stripe's
# `sync_from_stripe_data` takes nested objects as given and fetches each bare id it does not
# hold yet with a call of its own (the payment method, the balance transaction).
PAYMENT_INTENT_EXPAND = ["latest_charge", "latest_charge.balance_transaction", "payment_method"]


def payment_intent_retrieve(payment_intent_id: str) -> stripe.PaymentIntent:
    return _call(_client().v1.payment_intents.retrieve, payment_intent_id, params={"expand": PAYMENT_INTENT_EXPAND})


def payment_intent_cancel(payment_intent_id: str, *, idempotency_key: str) -> stripe.PaymentIntent:
    return _call(
        _client().v1.payment_intents.cancel,
        payment_intent_id,
        params={"cancellation_reason": "abandoned"},
        options={"idempotency_key": idempotency_key},
    )


def payment_intent_update(
    payment_intent_id: str, *, customer: str | None = None, setup_future_usage: str | None = None
) -> stripe.PaymentIntent:
    """Set the Customer and whether the card is saved (`""` stops saving), before confirmation."""
    params: dict[str, Any] = {}
    if customer:
        params["customer"] = customer
    if setup_future_usage is not None:
        params["setup_future_usage"] = setup_future_usage
    return _call(_client().v1.payment_intents.update, payment_intent_id, params=params)


def payment_intent_confirm(
    payment_intent_id: str, *, payment_method: str, return_url: str, idempotency_key: str
) -> stripe.PaymentIntent:
    """Confirm with a saved card on the shop's side; expanded as `payment_intent_retrieve` is, so
    the answer is applied without another call."""
    return _call(
        _client().v1.payment_intents.confirm,
        payment_intent_id,
        params={"payment_method": payment_method, "return_url": return_url, "expand": PAYMENT_INTENT_EXPAND},
        options={"idempotency_key": idempotency_key},
    )


def customer_create(*, email: str, name: str, metadata: dict[str, str], idempotency_key: str) -> stripe.Customer:
    params: dict[str, Any] = {"email": email, "metadata": metadata}
    if name:
        params["name"] = name
    return _call(_client().v1.customers.create, params=params, options={"idempotency_key": idempotency_key})


def customer_update(
    customer_id: str, *, email: str | None = None, default_payment_method: str | None = None
) -> stripe.Customer:
    params: dict[str, Any] = {}
    if email is not None:
        params["email"] = email
    if default_payment_method is not None:
        params["invoice_settings"] = {"default_payment_method": default_payment_method}
    return _call(_client().v1.customers.update, customer_id, params=params)


def payment_method_detach(payment_method_id: str) -> stripe.PaymentMethod:
    return _call(_client().v1.payment_methods.detach, payment_method_id)


def payment_method_retrieve(payment_method_id: str) -> stripe.PaymentMethod:
    return _call(_client().v1.payment_methods.retrieve, payment_method_id)


def customer_retrieve(customer_id: str) -> stripe.Customer:
    return _call(_client().v1.customers.retrieve, customer_id)


def refund_create(
    *,
    payment_intent_id: str,
    amount: int,
    reason: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> stripe.Refund:
    params: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata}
    if reason:
        params["reason"] = reason
    return _call(_client().v1.refunds.create, params=params, options={"idempotency_key": idempotency_key})


def refund_retrieve(refund_id: str) -> stripe.Refund:
    return _call(_client().v1.refunds.retrieve, refund_id)


def stripe_reachable(*, timeout: float) -> None:
    """Return if Stripe answers a cheap read (the shop's account) within `timeout` seconds and
    accepts the key; raise PaymentGatewayError otherwise. For readiness checks: no retries."""
    client = _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_API_VERSION, timeout, 0)
    _call(client.v1.accounts.retrieve_current)


def webhook_endpoint_list() -> list[stripe.WebhookEndpoint]:
    return _list_all(_client().v1.webhook_endpoints.list, params={})


def webhook_endpoint_create(*, url: str, enabled_events: list[str], metadata: dict[str, str]) -> stripe.WebhookEndpoint:
    return _call(
        _client().v1.webhook_endpoints.create,
        params={
            "url": url,
            "enabled_events": enabled_events,
            "metadata": metadata,
            "api_version": settings.STRIPE_API_VERSION,
        },
    )


def webhook_endpoint_update(endpoint_id: str, *, enabled_events: list[str]) -> stripe.WebhookEndpoint:
    return _call(
        _client().v1.webhook_endpoints.update, endpoint_id, params={"enabled_events": enabled_events, "disabled": False}
    )


def webhook_endpoint_delete(endpoint_id: str) -> None:
    _call(_client().v1.webhook_endpoints.delete, endpoint_id)


def events_undelivered(*, types: list[str], limit: int) -> list[stripe.Event]:
    """Events of these types Stripe has not managed to deliver to every endpoint, newest first,
    at most `limit`.

    Stripe's documented way to recover missed webhooks; it keeps events for 30 days.
    """
    return _list_all(_client().v1.events.list, params={"delivery_success": False, "types": types}, limit=limit)


# A session with its PaymentIntent expanded as `payment_intent_retrieve` expands it: what the
# finaliser reads, in the one call a `checkout.session.*` webhook costs.
CHECKOUT_SESSION_EXPAND = ["payment_intent"] + [f"payment_intent.{path}" for path in PAYMENT_INTENT_EXPAND]


def checkout_session_create(
    *,
    line_items: list[dict[str, Any]],
    customer_email: str,
    success_url: str,
    cancel_url: str,
    expires_at: int,
    client_reference_id: str,
    metadata: dict[str, str],
    payment_intent_metadata: dict[str, str],
    description: str,
    idempotency_key: str,
) -> stripe.checkout.Session:
    return _call(
        _client().v1.checkout.sessions.create,
        params={
            "mode": "payment",
            "line_items": line_items,
            "customer_email": customer_email,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": expires_at,
            "client_reference_id": client_reference_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": payment_intent_metadata, "description": description},
        },
        options={"idempotency_key": idempotency_key},
    )


def checkout_session_retrieve(session_id: str) -> stripe.checkout.Session:
    return _call(_client().v1.checkout.sessions.retrieve, session_id, params={"expand": CHECKOUT_SESSION_EXPAND})


def checkout_session_expire(session_id: str, *, idempotency_key: str) -> stripe.checkout.Session:
    return _call(
        _client().v1.checkout.sessions.expire,
        session_id,
        params={"expand": CHECKOUT_SESSION_EXPAND},
        options={"idempotency_key": idempotency_key},
    )


def webhook_event_verify(*, payload: bytes, signature: str, secret: str, tolerance: int) -> dict[str, Any]:
    """The event in a webhook's body, once its `Stripe-Signature` proves Stripe sent it recently.

    Raises PaymentGatewayError for a forged, stale or malformed signature, or a body that is
    not an event. No call to Stripe: the signature is an HMAC of the body under the
    endpoint's secret, with a timestamp checked against `tolerance` seconds.
    """
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise PaymentGatewayError(f"Not an event Stripe signed for this endpoint: {exc}", code="webhook_unverified") from exc
    data = event.get("data") if isinstance(event, dict) else None
    if not (isinstance(data, dict) and isinstance(data.get("object"), dict) and event.get("id") and event.get("type")):
        raise PaymentGatewayError("The signed body is not a Stripe event.", code="webhook_unverified")
    return event
