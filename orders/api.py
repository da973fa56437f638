"""Orders as JSON: place one from the cart, list one's own, and find one (owner or guest key)."""

import hashlib

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from bookstore.api_common import MoneyField
from bookstore.api_errors import Conflict, ErrorSerializer
from cart.services import cart_find
from orders.forms import SHIPPING_COUNTRIES, SHIPPING_COUNTRY_REFUSED
from orders.models import Order, OrderLine
from orders.selectors import order_visible_to, orders_for_user
from orders.services import ShippingAddress, order_place

ACCESS_KEY_HEADER = "X-Order-Access-Key"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"

ORDER_ACCESS_KEY_PARAMETER = OpenApiParameter(
    ACCESS_KEY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A guest's key to their order, as returned by POST /api/v1/orders/ (`access_key`). "
    "Signed-in owners need no key.",
)


def order_for_request(
    request, number: str, *, staff_permission: str | None = None, queryset: QuerySet[Order] | None = None
) -> Order:
    """The order if the caller may see it (orders/selectors.order_visible_to); 404 otherwise, whoever's it is."""
    order = order_visible_to(
        number=number,
        user=request.user,
        access_key=request.headers.get(ACCESS_KEY_HEADER),
        staff_permission=staff_permission,
        queryset=queryset,
    )
    if order is None:
        raise NotFound("No order with that number is yours.")
    return order


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.ChoiceField(
        choices=SHIPPING_COUNTRIES,
        error_messages={"invalid_choice": SHIPPING_COUNTRY_REFUSED},
        help_text="ISO 3166-1 alpha-2 code of a country the shop ships to, e.g. `IE`.",
    )


class OrderPlaceSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    shipping = ShippingAddressSerializer()


class OrderShippingSerializer(serializers.Serializer):
    name = serializers.CharField(source="shipping_name")
    line1 = serializers.CharField(source="shipping_line1")
    line2 = serializers.CharField(source="shipping_line2")
    city = serializers.CharField(source="shipping_city")
    postal_code = serializers.CharField(source="shipping_postal_code")
    country = serializers.CharField(source="shipping_country")


class OrderLineSerializer(serializers.ModelSerializer):
    book = serializers.IntegerField(source="book_id", allow_null=True, help_text="Null once the book is deleted.")
    unit_price = MoneyField(amount="unit_price_amount", currency="order.currency")
    line_total = MoneyField(amount="line_total", currency="order.currency")

    class Meta:
        model = OrderLine
        fields = ["book", "title", "author", "isbn", "quantity", "unit_price", "line_total"]


class OrderSummarySerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    line_count = serializers.IntegerField(read_only=True)
    total = MoneyField(amount="total_amount")

    class Meta:
        model = Order
        fields = ["number", "status", "status_display", "created_at", "paid_at", "line_count", "total"]


class OrderSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    shipping = OrderShippingSerializer(source="*", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    subtotal = MoneyField(amount="subtotal_amount")
    tax = MoneyField(amount="tax_amount")
    total = MoneyField(amount="total_amount")
    refunded = MoneyField(amount="refunded_amount")

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "status_display",
            "email",
            "shipping",
            "lines",
            "subtotal",
            "tax",
            "total",
            "refunded",
            "created_at",
            "reserved_until",
            "paid_at",
            "canceled_at",
        ]
        extra_kwargs = {"reserved_until": {"help_text": "Unpaid after this, the order is canceled."}}


class OrderPlacedSerializer(OrderSerializer):
    access_key = serializers.CharField(
        read_only=True, help_text=f"Keep it: a guest reads this order later by sending it in `{ACCESS_KEY_HEADER}`."
    )

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "access_key"]


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Order.Status.choices)
    created_after = filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="Placed on or after (YYYY-MM-DD)")
    created_before = filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="Placed on or before (YYYY-MM-DD)")

    class Meta:
        model = Order
        fields = ["status", "created_after", "created_before"]


def checkout_token_from(request, cart_id: int) -> str | None:
    """The client's Idempotency-Key, scoped to its cart: two clients choosing the same key
    must never be handed each other's order."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: ["Must be 1 to 255 printable ASCII characters."]})
    return hashlib.sha256(f"api:{cart_id}:{key}".encode()).hexdigest()


@extend_schema_view(
    get=extend_schema(tags=["orders"], summary="The caller's orders, newest first"),
    post=extend_schema(
        tags=["orders"],
        summary="Place an order from the cart",
        description="Reserves the cart's books for a while and returns the order awaiting payment. The cart "
        "stays as it is until the payment succeeds. Resending the same `Idempotency-Key` from the same "
        "cart returns the first order instead of placing another. A cart has one order awaiting payment: "
        "placing it again with the same books and details returns that order; anything else replaces it "
        "(the earlier order is canceled and its payment stopped), unless it was paid meanwhile (`already_paid`).",
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_KEY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Optional; any unique string of 1 to 255 printable ASCII characters, e.g. a UUID.",
            )
        ],
        request=OrderPlaceSerializer,
        responses={
            201: OrderPlacedSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The cart cannot be ordered now: `empty_cart`, `insufficient_stock`, `unknown_book`, "
                "`already_paid`, `payment_in_progress`, ...",
            ),
        },
    ),
)
class OrderListCreateView(generics.ListAPIView):
    serializer_class = OrderSummarySerializer
    queryset = Order.objects.none()  # the schema's model; get_queryset() picks the caller's orders
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = OrderFilter
    throttle_scope = "orders"

    def get_permissions(self):
        # Guests may order; only a signed-in shopper has a list of orders.
        return [IsAuthenticated()] if self.request.method == "GET" else [AllowAny()]

    def get_queryset(self):
        return orders_for_user(self.request.user)

    def post(self, request):
        details = OrderPlaceSerializer(data=request.data)
        details.is_valid(raise_exception=True)
        cart = cart_find(user=request.user, session=request.session)
        if cart is None:
            raise Conflict("Your cart is empty, so there is nothing to order.", code="empty_cart")
        order = order_place(
            cart=cart,
            email=details.validated_data["email"],
            shipping=ShippingAddress(**details.validated_data["shipping"]),
            user=request.user,
            checkout_token=checkout_token_from(request, cart.pk),
        )
        return Response(OrderPlacedSerializer(order).data, status=status.HTTP_201_CREATED)
