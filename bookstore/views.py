from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, LogoutView
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from bookstore.forms import SignupForm
from bookstore.selectors import book_search, books_available
from cart.forms import CartAddForm

BOOKS_PER_PAGE = 12


@require_GET
def book_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    # get_page turns a missing, tampered or out-of-range page number into a real page.
    page = Paginator(book_search(query=query), BOOKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "bookstore/book_list.html", {"page": page, "books": page.object_list, "query": query})


@require_GET
def book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    book = get_object_or_404(books_available(), pk=pk)
    form = CartAddForm(initial={"book": book.pk, "quantity": 1, "next": request.get_full_path()})
    return render(request, "bookstore/book_detail.html", {"book": book, "form": form})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    # Back to the page the shopper came from, as sign-in does; never to another site.
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "catalogue:book_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Signing in fires user_logged_in, which folds the guest's cart into the new account's.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready and you are signed in.")
        return redirect(next_url or "catalogue:book_list")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


class ShopLoginView(LoginView):
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        # Staff who run the shop start from its dashboard (the admin's index), not the catalogue;
        # a `next` the sign-in came with still wins.
        user = self.request.user
        if user.is_staff and user.has_perm("orders.view_order"):
            return resolve_url("admin:index")
        return super().get_default_redirect_url()

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Signed in as {form.get_user().get_username()}.")
        return response


class ShopLogoutView(LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response
