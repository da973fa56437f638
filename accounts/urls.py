from django.urls import path

from accounts import views

# Mounted at accounts/ after the sign-in pages (bookstore/account_urls.py): nothing here may
# take their paths (login/, logout/, signup/, password_*).
app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("addresses/new/", views.address_edit, name="address_add"),
    path("addresses/<id:address_id>/", views.address_edit, name="address_edit"),
    path("addresses/<id:address_id>/delete/", views.address_delete, name="address_delete"),
    path("addresses/<id:address_id>/default/", views.address_make_default, name="address_default"),
]
