"""The catalogue and API tokens, as JSON."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.api_common import MoneyField
from bookstore.api_errors import ErrorSerializer
from bookstore.models import Book
from bookstore.selectors import book_search, books_available
from bookstore.services import api_token_get_or_create


class BookSerializer(serializers.ModelSerializer):
    price = MoneyField(amount="price_amount")
    stock = serializers.IntegerField(read_only=True, help_text="Copies that can be ordered now.")

    class Meta:
        model = Book
        fields = ["id", "title", "author", "isbn", "description", "published_year", "price", "stock"]


class BookSearchSerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Part of a title, an author's name or an ISBN."
    )


@extend_schema(tags=["catalogue"], parameters=[BookSearchSerializer], summary="List or search books")
class BookListView(generics.ListAPIView):
    serializer_class = BookSerializer

    def get_queryset(self):
        params = BookSearchSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return book_search(query=params.validated_data.get("search", ""))


@extend_schema(tags=["catalogue"], summary="One book")
class BookDetailView(generics.RetrieveAPIView):
    serializer_class = BookSerializer
    queryset = books_available()


class TokenCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


@extend_schema(
    tags=["auth"],
    summary="Get an API token",
    request=TokenCredentialsSerializer,
    responses={
        200: TokenSerializer,
        401: OpenApiResponse(ErrorSerializer, description="Wrong username or password (`invalid_credentials`)."),
    },
)
class TokenObtainView(APIView):
    """Exchange a username and password for the user's token (the same one each time)."""

    # Token only: no session, hence no CSRF, and a wrong password is a 401 with WWW-Authenticate.
    authentication_classes = [TokenAuthentication]
    throttle_scope = "auth"

    def post(self, request):
        credentials = TokenCredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request._request, **credentials.validated_data)
        if user is None:
            raise AuthenticationFailed("Wrong username or password.", code="invalid_credentials")
        return Response({"token": api_token_get_or_create(user=user).key})
