"""An order's payment side as JSON: its detail with payment state and refunds."""

from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.api_common import MoneyField
from orders.api import ORDER_ACCESS_KEY_PARAMETER, OrderSerializer, order_for_request
from payments.models import Payment, Refund


class PaymentStateSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    amount = MoneyField(amount="amount")

    class Meta:
        model = Payment
        fields = ["status", "status_display", "amount", "card_brand", "card_last4", "last_error_message", "updated_at"]
        extra_kwargs = {"last_error_message": {"help_text": "Why the last attempt failed, for the shopper."}}


class RefundSerializer(serializers.ModelSerializer):
    amount = MoneyField(amount="amount")
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Refund
        fields = ["amount", "status", "status_display", "created_at", "succeeded_at"]


class OrderDetailSerializer(OrderSerializer):
    payment = PaymentStateSerializer(read_only=True, allow_null=True, help_text="Null until payment is started.")
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "payment", "refunds"]


class OrderDetailView(APIView):
    @extend_schema(
        tags=["orders"],
        summary="One order, with its lines, payment state and refunds",
        parameters=[ORDER_ACCESS_KEY_PARAMETER],
        responses=OrderDetailSerializer,
    )
    def get(self, request, number: str):
        order = order_for_request(request, number)
        prefetch_related_objects([order], "refunds")
        return Response(OrderDetailSerializer(order).data)
