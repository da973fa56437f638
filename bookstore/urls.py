from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("bookstore.catalogue_urls")),
    path("cart/", include("cart.urls")),
    path("orders/", include("orders.urls")),
    path("pay/", include("payments.urls")),
    path("accounts/", include("bookstore.account_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("bookstore.api_urls")),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
]
