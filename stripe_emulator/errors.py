"""Errors in Stripe's shape: `{"error": {"type", "code", "message", "param", ...}}`."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An API error answered to the client as Stripe would.

    `saved` says whether an Idempotency-Key keeps this answer: Stripe saves the
    result of every request that started executing, but not of one whose parameters
    failed validation (so the client may fix them and retry with the same key).
    """

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.saved = saved
        self.error: dict[str, Any] = {"type": type, "message": message}
        if code:
            self.error["code"] = code
            self.error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.error["param"] = param
        self.error.update(extra)

    def body(self) -> dict[str, Any]:
        return {"error": self.error}


def invalid_request(message: str, *, code: str | None = None, param: str | None = None, **extra: Any) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param, **extra)


def invalid_param(message: str, *, param: str, code: str = "parameter_invalid_empty") -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param, saved=False)


def resource_missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def authentication(message: str) -> StripeError:
    # Stripe answers a bad key with 401 and type invalid_request_error; stripe-python
    # turns any 401 into AuthenticationError.
    return StripeError(401, "invalid_request_error", message, saved=False)
