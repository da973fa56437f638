from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/saved-address/", views.checkout_saved_address, name="checkout_saved_address"),
    path("<str:number>/", views.order_detail, name="order_detail"),
    path("<str:number>/<str:access_key>/", views.order_guest_detail, name="order_guest_detail"),
]
