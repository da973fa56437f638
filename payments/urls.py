from django.urls import path

from payments.documents import views as document_views
from payments.paying import views as paying_views

app_name = "payments"

urlpatterns = [
    path("orders/<str:number>/", paying_views.checkout, name="checkout"),
    path("orders/<str:number>/status/", paying_views.payment_status, name="status"),
    path("orders/<str:number>/receipt.pdf", document_views.receipt_download, name="receipt_download"),
    path("orders/<str:number>/credit-notes/<int:credit_note>.pdf", document_views.credit_note_download, name="credit_note_download"),
    path("orders/<str:number>/<str:access_key>/", paying_views.checkout, name="guest_checkout"),
    path("orders/<str:number>/<str:access_key>/status/", paying_views.payment_status, name="guest_status"),
    path("orders/<str:number>/<str:access_key>/receipt.pdf", document_views.receipt_download, name="receipt_guest_download"),
    path(
        "orders/<str:number>/<str:access_key>/credit-notes/<int:credit_note>.pdf",
        document_views.credit_note_download,
        name="credit_note_guest_download",
    ),
]
