"""dj-stripe's own webhook view, which the shop does not mount, for the emulator's contract test with it."""

from django.urls import include, path

urlpatterns = [path("stripe/", include("djstripe.urls", namespace="djstripe"))]
