from django.urls import include, path

from bookstore import views

# The shop's own sign-in and sign-out come first, so they win over django.contrib.auth's
# views of the same names; the rest (password change and reset) are Django's.
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.ShopLoginView.as_view(), name="login"),
    path("logout/", views.ShopLogoutView.as_view(), name="logout"),
    path("", include("django.contrib.auth.urls")),
]
