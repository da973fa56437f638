"""The cart as JSON: a guest's through the session, a signed-in shopper's through the user."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.api_common import MoneyField
from bookstore.api_errors import ErrorSerializer
from bookstore.ids import MAX_ID
from bookstore.models import Book
from cart.models import Cart
from cart.selectors import cart_lines, cart_totals
from cart.services import cart_add, cart_find, cart_get_or_create, cart_remove, cart_set_quantity

STOCK_CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="The shop cannot do it now: `out_of_stock`, `insufficient_stock` (both naming `quantity`), "
    "`unknown_book` (naming `book`).",
)


class CartBookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Book
        fields = ["id", "title", "author", "isbn"]


class CartLineSerializer(serializers.Serializer):
    book = CartBookSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = MoneyField(amount="book.price_amount", currency="book.currency")
    line_total = MoneyField(amount="line_total", currency="book.currency")


class CartSerializer(serializers.Serializer):
    lines = CartLineSerializer(many=True, read_only=True)
    item_count = serializers.IntegerField(read_only=True, help_text="Copies in the cart, all lines together.")
    subtotal = MoneyField(amount="subtotal_amount")
    total = MoneyField(amount="total_amount")


class CartLineAddSerializer(serializers.Serializer):
    book = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The book's id.")
    quantity = serializers.IntegerField(
        min_value=1, max_value=settings.CART_MAX_QUANTITY_PER_LINE, default=1, help_text="Copies to add to the line."
    )


class CartLineQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=settings.CART_MAX_QUANTITY_PER_LINE, help_text="The line's new quantity; 0 removes it."
    )


def cart_response(cart: Cart | None, *, status_code: int = status.HTTP_200_OK) -> Response:
    lines = list(cart_lines(cart))
    data = {"lines": lines, **cart_totals(lines), "currency": settings.SHOP_CURRENCY}
    return Response(CartSerializer(data).data, status=status_code)


class CartView(APIView):
    @extend_schema(tags=["cart"], summary="The caller's cart", responses=CartSerializer)
    def get(self, request):
        return cart_response(cart_find(user=request.user, session=request.session))


class CartLinesView(APIView):
    @extend_schema(
        tags=["cart"],
        summary="Add copies of a book",
        request=CartLineAddSerializer,
        responses={201: CartSerializer, 409: STOCK_CONFLICT},
    )
    def post(self, request):
        line = CartLineAddSerializer(data=request.data)
        line.is_valid(raise_exception=True)
        cart = cart_get_or_create(user=request.user, session=request.session)
        cart_add(cart=cart, book_id=line.validated_data["book"], quantity=line.validated_data["quantity"])
        return cart_response(cart, status_code=status.HTTP_201_CREATED)


class CartLineView(APIView):
    def _cart(self, request) -> Cart:
        cart = cart_find(user=request.user, session=request.session)
        if cart is None:
            raise NotFound("That book is no longer in your cart.", code="not_in_cart")
        return cart

    @extend_schema(
        tags=["cart"],
        summary="Change a line's quantity",
        request=CartLineQuantitySerializer,
        responses={200: CartSerializer, 409: STOCK_CONFLICT},
    )
    def patch(self, request, book_id: int):
        change = CartLineQuantitySerializer(data=request.data)
        change.is_valid(raise_exception=True)
        cart = self._cart(request)
        cart_set_quantity(cart=cart, book_id=book_id, quantity=change.validated_data["quantity"])
        return cart_response(cart)

    @extend_schema(tags=["cart"], summary="Remove a line", request=None, responses={200: CartSerializer})
    def delete(self, request, book_id: int):
        cart = self._cart(request)
        cart_remove(cart=cart, book_id=book_id)
        return cart_response(cart)
