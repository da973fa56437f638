from django.urls import path

from payments.receipt_views import receipt_download

# Added to payments/urls.py, so the names are "payments:receipt_download" and
# "payments:receipt_guest_download".
urlpatterns = [
    path("orders/<str:number>/receipt.pdf", receipt_download, name="receipt_download"),
    path("orders/<str:number>/<str:access_key>/receipt.pdf", receipt_download, name="receipt_guest_download"),
]
