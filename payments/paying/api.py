"""An order's payment side as JSON: starting and polling its payment, refunds, the receipt PDF."""

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, renderers, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.api_common import MoneyField
from bookstore.api_errors import ErrorDocumentingAutoSchema, ErrorSerializer
from orders.api import ORDER_ACCESS_KEY_PARAMETER, OrderSerializer, order_for_request
from orders.models import Order
from orders.selectors import order_detail_queryset
from payments.documents.selectors import (
    CREDIT_NOTE_STAFF_PERMISSION,
    RECEIPT_STAFF_PERMISSION,
    credit_note_file_response,
    downloadable_credit_notes,
    downloadable_receipt,
    receipt_file_response,
)
from payments.gateway import PaymentGatewayError
from payments.models import CreditNote, Payment, Refund
from payments.paying.checkout_views import checkout_session_api_answer
from payments.paying.selectors import PaymentState, payment_state
from payments.paying.services import payment_heal, payment_start

RECEIPT_URL_HELP = "Where to download the receipt PDF (guests send their access key); null until it is ready."


def _absolute_url(request, name: str, **kwargs) -> str:
    url = reverse(name, kwargs=kwargs)
    return request.build_absolute_uri(url) if request else url


def _receipt_url(order: Order, request) -> str | None:
    if downloadable_receipt(order) is None:
        return None
    return _absolute_url(request, "api:order_receipt", number=order.number)


class PaymentStateSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    amount = MoneyField(amount="amount")
    method = serializers.CharField(
        source="method_words", read_only=True, help_text='How it was paid: "Visa ending in 4242", "iDEAL, ING".'
    )

    class Meta:
        model = Payment
        fields = [
            "status", "status_display", "amount", "method_type", "method", "card_brand", "card_last4",
            "last_error_message", "updated_at",
        ]
        extra_kwargs = {"last_error_message": {"help_text": "Why the last attempt failed, for the shopper."}}


class RefundSerializer(serializers.ModelSerializer):
    amount = MoneyField(amount="amount")
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Refund
        fields = ["amount", "status", "status_display", "created_at", "succeeded_at"]


class CreditNoteSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="display_number", read_only=True)
    amount = MoneyField(amount="amount")
    cancels = serializers.CharField(
        source="cancels.display_number", read_only=True, allow_null=True, default=None,
        help_text="For a cancellation: the credit note it cancels (its refund failed after succeeding).",
    )
    url = serializers.SerializerMethodField(help_text="Where to download its PDF (guests send their access key).")

    class Meta:
        model = CreditNote
        fields = ["number", "kind", "amount", "cancels", "created_at", "url"]

    def get_url(self, note: CreditNote) -> str:
        return _absolute_url(
            self.context.get("request"), "api:order_credit_note", number=note.order.number, credit_note=note.number
        )


class OrderDetailSerializer(OrderSerializer):
    payment = PaymentStateSerializer(read_only=True, allow_null=True, help_text="Null until payment is started.")
    refunds = RefundSerializer(many=True, read_only=True)
    receipt_url = serializers.SerializerMethodField(help_text=RECEIPT_URL_HELP)
    credit_notes = serializers.SerializerMethodField(help_text="The order's credit notes and cancellations, once rendered.")

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "payment", "refunds", "receipt_url", "credit_notes"]

    def get_receipt_url(self, order: Order) -> str | None:
        return _receipt_url(order, self.context.get("request"))

    @extend_schema_field(CreditNoteSerializer(many=True))
    def get_credit_notes(self, order: Order) -> list:
        notes = downloadable_credit_notes(order).select_related("order", "cancels")
        return CreditNoteSerializer(notes, many=True, context=self.context).data


class OrderDetailView(APIView):
    @extend_schema(
        tags=["orders"],
        summary="One order, with its lines, payment state, refunds and receipt",
        parameters=[ORDER_ACCESS_KEY_PARAMETER],
        responses=OrderDetailSerializer,
    )
    def get(self, request, number: str):
        order = order_for_request(request, number, queryset=order_detail_queryset())
        prefetch_related_objects([order], "refunds")
        return Response(OrderDetailSerializer(order, context={"request": request}).data)


class PaymentStartedSerializer(serializers.ModelSerializer):
    payment_intent = serializers.CharField(source="stripe_payment_intent_id", help_text="The Stripe PaymentIntent's id.")
    client_secret = serializers.CharField(
        help_text="Hand it to Stripe.js (`elements({clientSecret})`, `confirmPayment`); never log or store it."
    )
    publishable_key = serializers.SerializerMethodField(help_text="For `Stripe(publishable_key)`.")
    stripe_js_url = serializers.SerializerMethodField(help_text="Where to load Stripe.js from.")
    amount = MoneyField(amount="amount")

    class Meta:
        model = Payment
        fields = ["payment_intent", "client_secret", "publishable_key", "stripe_js_url", "amount", "status"]
        read_only_fields = fields

    def get_publishable_key(self, payment: Payment) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY

    def get_stripe_js_url(self, payment: Payment) -> str:
        return settings.STRIPE_JS_URL


class PaymentStatusSerializer(serializers.Serializer):
    """`payments/paying/selectors.PaymentState`, the same state the order page polls, with the receipt's URL."""

    number = serializers.CharField(read_only=True)
    order_status = serializers.ChoiceField(choices=Order.Status.choices, read_only=True)
    order_status_display = serializers.CharField(read_only=True)
    paid = serializers.BooleanField(read_only=True, help_text="True once Stripe confirmed the payment, also after refunds.")
    payment_status = serializers.ChoiceField(
        choices=Payment.Status.choices,
        allow_null=True,
        read_only=True,
        help_text="Stripe's PaymentIntent status; null until payment is started.",
    )
    last_error_message = serializers.CharField(
        read_only=True, help_text="Why the last attempt failed, for the shopper; empty otherwise."
    )
    notice = serializers.CharField(
        read_only=True,
        help_text="What is happening meanwhile, for the shopper (a bank settling a SEPA Direct Debit); empty otherwise.",
    )
    receipt_url = serializers.SerializerMethodField(help_text=RECEIPT_URL_HELP)

    def get_receipt_url(self, state: PaymentState) -> str | None:
        return _receipt_url(self.context["order"], self.context.get("request"))


class PaymentProviderError(exceptions.APIException):
    status_code = 502
    default_detail = "Our payment provider refused the request; nothing was charged."
    default_code = "provider_refused"


def provider_error(exc: PaymentGatewayError) -> PaymentProviderError:
    error = PaymentProviderError(exc.message, code=exc.code)
    # Stripe down or rate-limiting us will pass; a refused key or request will not.
    error.status_code = 503 if exc.retryable else 502
    return error


class PaymentView(APIView):
    throttle_scope = "payments"

    @extend_schema(
        tags=["payments"],
        summary="The order's payment status, for polling while Stripe confirms",
        parameters=[ORDER_ACCESS_KEY_PARAMETER],
        responses=PaymentStatusSerializer,
    )
    def get(self, request, number: str):
        order = order_for_request(request, number)
        payment_heal(order=order)
        state = payment_state(order=order)
        return Response(PaymentStatusSerializer(state, context={"request": request, "order": order}).data)

    @extend_schema(
        tags=["payments"],
        summary="Start paying: the order's PaymentIntent, created once and then reused",
        description="Returns what Stripe.js needs to take the card: the client secret and publishable key. "
        "Asking again returns the same PaymentIntent; a declined card is retried on it. The order is paid "
        "when Stripe's webhook confirms it: poll GET on this URL until `paid` is true. With SHOP_PAYMENT_FLOW="
        "checkout the answer is instead `{checkout_url, amount}`: send the shopper to Stripe's hosted page.",
        parameters=[ORDER_ACCESS_KEY_PARAMETER],
        request=None,
        responses={
            200: PaymentStartedSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The order cannot be paid: `not_payable` (already paid or canceled) or "
                "`reservation_expired` (place the order again).",
            ),
            502: OpenApiResponse(ErrorSerializer, description="Stripe refused the request (`provider_refused`, ...)."),
            503: OpenApiResponse(
                ErrorSerializer, description="Stripe could not be reached (`provider_unavailable`); try again shortly."
            ),
        },
    )
    def post(self, request, number: str):
        order = order_for_request(request, number)
        try:
            if settings.SHOP_PAYMENT_FLOW == "checkout":
                return Response(checkout_session_api_answer(request, order=order))
            payment = payment_start(order_id=order.pk)
        except PaymentGatewayError as exc:
            raise provider_error(exc) from exc
        return Response(PaymentStartedSerializer(payment).data)


class PDFRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; the view sends the stored file itself."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class ReceiptSchema(ErrorDocumentingAutoSchema):
    def map_renderers(self, attribute: str) -> list:
        # Only the receipt itself is a PDF; errors are JSON, as everywhere.
        return [value for value in super().map_renderers(attribute) if value not in ("application/pdf", "pdf")]

    def _error_statuses(self) -> dict[str, str]:
        return {**super()._error_statuses(), "406": "The `Accept` header asks for something other than a PDF or JSON."}


class ReceiptView(APIView):
    renderer_classes = [renderers.JSONRenderer, PDFRenderer]
    schema = ReceiptSchema()

    @extend_schema(
        tags=["payments"],
        summary="The order's receipt as a PDF",
        description="There once Stripe confirmed the payment and a worker rendered the receipt (seconds, usually): "
        "404 until then. It never changes: a refund issues a credit note instead (the order's `credit_notes`).",
        parameters=[ORDER_ACCESS_KEY_PARAMETER],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The receipt PDF.")},
    )
    def get(self, request, number: str):
        order = order_for_request(request, number, staff_permission=RECEIPT_STAFF_PERMISSION)
        receipt = downloadable_receipt(order)
        if receipt is None:
            raise exceptions.NotFound("This order's receipt is not ready yet.", code="receipt_not_ready")
        return receipt_file_response(receipt)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # A client that accepts only the PDF still gets its error in the one JSON shape.
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = renderers.JSONRenderer.media_type
        return response


class CreditNoteView(ReceiptView):
    @extend_schema(
        tags=["payments"],
        summary="One of the order's credit notes (or cancellations) as a PDF",
        description="A refund that succeeded issues a credit note naming the receipt; a worker renders it "
        "(seconds, usually): 404 until then. Numbers as in the order's `credit_notes`, without the C- prefix.",
        parameters=[ORDER_ACCESS_KEY_PARAMETER],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The credit note PDF.")},
    )
    def get(self, request, number: str, credit_note: int):
        order = order_for_request(request, number, staff_permission=CREDIT_NOTE_STAFF_PERMISSION)
        note = downloadable_credit_notes(order).filter(number=credit_note).first()
        if note is None:
            raise exceptions.NotFound("No such credit note, or it is not ready yet.", code="credit_note_not_ready")
        return credit_note_file_response(note)
