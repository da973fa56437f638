from django.contrib import admin
from django.urls import include, path, register_converter

from bookstore.ids import IdConverter
from payments.paying import webhook_views

# `<id:...>` in every URL conf below: an id out of range is a 404, never a query.
register_converter(IdConverter, "id")

urlpatterns = [
    path("", include("bookstore.catalogue_urls")),
    path("cart/", include("cart.urls")),
    path("orders/", include("orders.urls")),
    path("pay/", include("payments.urls")),
    path("accounts/", include("bookstore.account_urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("ops.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("bookstore.api_urls")),
    # Where dj-stripe's own view used to be, so endpoints registered for it keep working; its
    # view is not mounted: every event goes through the shop's inbox.
    path("stripe/webhook/<uuid:uuid>/", webhook_views.stripe_webhook, name="stripe_webhook"),
]
