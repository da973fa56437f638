"""The signed-in caller's saved cards as JSON: list, delete (detach at Stripe), make default.

Another account's card, or an id that names no saved card, is 404 in the API's one error shape.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.api_errors import ErrorSerializer
from payments.customers.selectors import payment_methods_for_user
from payments.customers.services import CustomerError, payment_method_delete, payment_method_make_default
from payments.gateway import PaymentGatewayError
from payments.paying.api import provider_error

PROVIDER_ERRORS = {
    502: OpenApiResponse(ErrorSerializer, description="Stripe refused the request (`provider_refused`, ...)."),
    503: OpenApiResponse(ErrorSerializer, description="Stripe could not be reached (`provider_unavailable`); try again shortly."),
}


class PaymentMethodSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stripe's PaymentMethod id (`pm_...`).")
    type = serializers.CharField(default="card", help_text="Always `card` for now.")
    brand = serializers.CharField(help_text="Stripe's brand code: `visa`, `mastercard`, `amex`, ...")
    brand_display = serializers.CharField(help_text="The brand for people: `Visa`, `American Express`.")
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()
    is_default = serializers.BooleanField(help_text="The Customer's `invoice_settings.default_payment_method`.")


class PaymentMethodListSerializer(serializers.Serializer):
    results = PaymentMethodSerializer(many=True)


def _list_response(request) -> Response:
    return Response(PaymentMethodListSerializer({"results": payment_methods_for_user(request.user)}).data)


def _call(service, request, payment_method_id: str) -> None:
    try:
        service(user=request.user, payment_method_id=payment_method_id)
    except CustomerError as exc:
        if exc.code == "not_found":
            raise exceptions.NotFound("No such saved card.") from exc
        raise
    except PaymentGatewayError as exc:
        raise provider_error(exc) from exc


class PaymentMethodListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["payment methods"],
        summary="The caller's saved cards, the default first",
        responses=PaymentMethodListSerializer,
    )
    def get(self, request):
        return _list_response(request)


class PaymentMethodView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["payment methods"],
        summary="Delete a saved card: it is detached from the caller's Stripe Customer and can no longer pay",
        request=None,
        responses={204: OpenApiResponse(description="Deleted."), **PROVIDER_ERRORS},
    )
    def delete(self, request, payment_method_id: str):
        _call(payment_method_delete, request, payment_method_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PaymentMethodDefaultView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["payment methods"],
        summary="Make a saved card the caller's default; answers the saved cards as they are now",
        request=None,
        responses={200: PaymentMethodListSerializer, **PROVIDER_ERRORS},
    )
    def post(self, request, payment_method_id: str):
        _call(payment_method_make_default, request, payment_method_id)
        return _list_response(request)
