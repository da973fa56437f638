"""The JSON API, mounted at /api/: version 1 under v1/, its OpenAPI schema and docs beside it."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from bookstore.api import BookDetailView, BookListView, TokenObtainView
from bookstore.api_errors import NotFoundView
from cart.api import CartLinesView, CartLineView, CartView
from orders.addresses.api import AddressDetailView, AddressListView
from orders.api import OrderListCreateView
from payments.customers.api import PaymentMethodDefaultView, PaymentMethodListView, PaymentMethodView
from payments.paying.api import CreditNoteView, OrderDetailView, PaymentView, ReceiptView

app_name = "api"

urlpatterns = [
    path("v1/auth/token/", TokenObtainView.as_view(), name="token"),
    path("v1/books/", BookListView.as_view(), name="book_list"),
    path("v1/books/<id:pk>/", BookDetailView.as_view(), name="book_detail"),
    path("v1/cart/", CartView.as_view(), name="cart"),
    path("v1/cart/lines/", CartLinesView.as_view(), name="cart_lines"),
    path("v1/cart/lines/<id:book_id>/", CartLineView.as_view(), name="cart_line"),
    path("v1/addresses/", AddressListView.as_view(), name="address_list"),
    path("v1/addresses/<id:address_id>/", AddressDetailView.as_view(), name="address_detail"),
    path("v1/orders/", OrderListCreateView.as_view(), name="order_list"),
    path("v1/orders/<str:number>/", OrderDetailView.as_view(), name="order_detail"),
    path("v1/orders/<str:number>/payment/", PaymentView.as_view(), name="order_payment"),
    path("v1/orders/<str:number>/receipt/", ReceiptView.as_view(), name="order_receipt"),
    path("v1/orders/<str:number>/credit-notes/<int:credit_note>/", CreditNoteView.as_view(), name="order_credit_note"),
    path("v1/payment-methods/", PaymentMethodListView.as_view(), name="payment_method_list"),
    path("v1/payment-methods/<str:payment_method_id>/", PaymentMethodView.as_view(), name="payment_method"),
    path("v1/payment-methods/<str:payment_method_id>/default/", PaymentMethodDefaultView.as_view(), name="payment_method_default"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's set-up script as a file of its own (the split view), so the page needs no
    # inline script under the Content-Security-Policy; Redoc's page has one, and a worker.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        csp_update({"script-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(SpectacularRedocView.as_view(url_name="api:schema")),
        name="redoc",
    ),
    # Last: paths without a trailing slash still resolve nowhere, so APPEND_SLASH redirects them.
    re_path(r"^.*/$", NotFoundView.as_view()),
]
