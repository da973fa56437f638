from django.urls import path

from bookstore import views

app_name = "catalogue"

urlpatterns = [
    path("", views.book_list, name="book_list"),
    path("books/<id:pk>/", views.book_detail, name="book_detail"),
]
