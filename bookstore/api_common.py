"""What every API module shares: money, pagination, session authentication, write throttling."""

from django.conf import settings
from django.middleware.csrf import get_token
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import authentication, pagination, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.fields import get_attribute
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from bookstore.money import format_money


class MoneySerializer(serializers.Serializer):
    amount = serializers.IntegerField(read_only=True, help_text="In the currency's minor unit (cents for EUR, yen for JPY).")
    currency = serializers.CharField(read_only=True, min_length=3, max_length=3, help_text="ISO 4217 code.")
    formatted = serializers.CharField(read_only=True, help_text="For display only, e.g. “€15.00”.")


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency, "formatted": format_money(amount, currency)}


@extend_schema_field(MoneySerializer)
class MoneyField(serializers.Field):
    """An amount and the currency beside it, read from the object by dotted paths."""

    def __init__(self, amount: str, currency: str = "currency", **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)
        self.amount_path = amount.split(".")
        self.currency_path = currency.split(".")

    def to_representation(self, instance) -> dict:
        return money(get_attribute(instance, self.amount_path), get_attribute(instance, self.currency_path))


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        # DRF quietly falls back to the default for a bad page_size; a client asking for
        # something we do not serve should hear so.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, with CSRF checked for guests too.

    DRF checks CSRF only for a signed-in session, but a guest's cart lives in the session
    as well: any unsafe request that carries the session cookie must carry the CSRF token.
    """

    def authenticate(self, request):
        # Hands session clients a `csrftoken` cookie to echo in X-CSRFToken.
        get_token(request._request)
        result = super().authenticate(request)
        if result is None and settings.SESSION_COOKIE_NAME in request.COOKIES:
            self.enforce_csrf(request)
        return result

    def enforce_csrf(self, request) -> None:
        try:
            super().enforce_csrf(request)
        except PermissionDenied as exc:
            raise PermissionDenied(str(exc.detail), code="csrf_failed") from None


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The site's session cookie. POST, PATCH and DELETE must also send the `csrftoken` "
            "cookie's value in the `X-CSRFToken` header, for guests as for signed-in shoppers.",
        }


class WriteThrottle(ScopedRateThrottle):
    """Limits the unsafe requests of views with a `throttle_scope`; reading stays free."""

    @property
    def THROTTLE_RATES(self) -> dict:  # noqa: N802 (DRF's name)
        # Read at each request rather than at import, so a changed setting (a test's small rate) applies.
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
