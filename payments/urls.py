from django.urls import path

from payments.customers import views as customer_views
from payments.documents import views as document_views
from payments.paying import views as paying_views

app_name = "payments"

urlpatterns = [
    path("cards/", customer_views.cards, name="cards"),
    path("cards/<str:payment_method_id>/delete/", customer_views.card_delete, name="card_delete"),
    path("cards/<str:payment_method_id>/default/", customer_views.card_make_default, name="card_default"),
    path("orders/<str:number>/save-card/", customer_views.card_saving, name="card_saving"),
    path("orders/<str:number>/saved-card/", customer_views.pay_with_saved_card, name="pay_with_saved_card"),
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
