"""One shape for every API error, and the schema that documents it.

    {"error": {"code": "insufficient_stock", "message": "Only 2 copies ...", "fields": {"quantity": ["..."]}}}

`code` is for programs, `message` for people, `fields` names the request fields at fault.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from bookstore.errors import ShopError


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: `invalid`, `not_found`, `insufficient_stock`, `throttled`, ...")
    message = serializers.CharField(help_text="A sentence for people; it may be shown as it is.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field at fault (nested fields as `shipping.city`); empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def shop_error_status(exc: ShopError) -> int:
    """A shop refusal is a conflict with the shop's state (stock, an order's status), except:"""
    if exc.code == "not_in_cart":
        # The line the URL names does not exist.
        return 404
    if exc.code.startswith("invalid"):
        # The request's own value is wrong whatever the shop's state.
        return 400
    return 409


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}"))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix: [str(message) for message in messages]} if messages else {}


def _validation_error_body(exc: exceptions.ValidationError) -> dict:
    fields = _flatten(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
    general = fields.pop("non_field_errors", None)
    if general:
        message = general[0]
    elif len(fields) == 1:
        message = next(iter(fields.values()))[0]
    else:
        message = "Some fields are not valid: " + ", ".join(sorted(fields)) + "."
    return error_body("invalid", message, fields)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ShopError):
        set_rollback()
        fields = {exc.field: [exc.message]} if exc.field else {}
        return Response(error_body(exc.code, exc.message, fields), status=shop_error_status(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # DRF's own handler sets the status, WWW-Authenticate and Retry-After; only the body is ours.
    response = drf_exception_handler(exc, context)
    if response is None:
        # Not a refusal but a bug: Django's 500 handling logs and reports it.
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_error_body(exc)
    else:
        codes = exc.get_codes()
        response.data = error_body(codes if isinstance(codes, str) else exc.default_code, str(exc.detail))
    return response


class ErrorDocumentingAutoSchema(AutoSchema):
    """Adds the error responses each operation can give, all in the one error shape."""

    def _error_statuses(self) -> dict[str, str]:
        has_body = self.method in ("POST", "PUT", "PATCH")
        is_list = self._is_list_view() and self.method == "GET"
        authenticators = self.view.get_authenticators()
        statuses = {}
        if has_body or is_list or self._get_filter_parameters():
            statuses["400"] = "The request is not valid; `error.fields` names the fields at fault."
        if authenticators:
            statuses["401"] = "The credentials sent are not valid, or the operation needs a signed-in user."
        if self.method not in SAFE_METHODS and any(isinstance(a, SessionAuthentication) for a in authenticators):
            statuses["403"] = "A session client did not send the CSRF token (`X-CSRFToken`)."
        if "{" in self.path or is_list:
            statuses["404"] = "Not found; another shopper's order is not found either."
        statuses["406"] = "The `Accept` header asks for something other than JSON."
        if has_body:
            statuses["415"] = "The body is not JSON."
        if self.method not in SAFE_METHODS and getattr(self.view, "throttle_scope", None):
            statuses["429"] = "Too many requests; `Retry-After` says how many seconds to wait."
        return statuses

    def _get_filter_parameters(self) -> list[dict]:
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            # django-filter reads `?status=` as "no filter", and the schema should say so.
            parameter["allowEmptyValue"] = True
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in self._error_statuses().items():
            if status not in responses:
                responses[status] = {**self._get_response_for_code(ErrorSerializer, status), "description": description}
        return responses


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the shop's current state."
    default_code = "conflict"


class NotFoundView(APIView):
    """Answers any unknown URL under /api/ in the error shape rather than with an HTML page."""

    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.NotFound()

    options = http_method_not_allowed
