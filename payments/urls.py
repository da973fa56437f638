from django.urls import path

from payments import views
from payments.receipt_urls import urlpatterns as receipt_urlpatterns

app_name = "payments"

urlpatterns = [
    path("orders/<str:number>/", views.checkout, name="checkout"),
    path("orders/<str:number>/status/", views.payment_status, name="status"),
    path("orders/<str:number>/<str:access_key>/", views.checkout, name="guest_checkout"),
    path("orders/<str:number>/<str:access_key>/status/", views.payment_status, name="guest_status"),
    *receipt_urlpatterns,
]
