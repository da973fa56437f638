from collections.abc import Mapping

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction

from bookstore.errors import ShopError
from bookstore.locks import lock_cart, lock_cart_lines
from bookstore.models import Book
from cart.models import Cart, CartLine

SESSION_CART_KEY = "cart_id"


class CartError(ShopError):
    pass


def cart_find(*, user, session: SessionBase) -> Cart | None:
    """The shopper's cart if they have one; never creates one (pages that only read)."""
    if user.is_authenticated:
        return Cart.objects.filter(user=user).first()
    cart_id = session.get(SESSION_CART_KEY)
    if cart_id is None:
        return None
    return Cart.objects.filter(pk=cart_id, user__isnull=True).first()


def cart_get_or_create(*, user, session: SessionBase) -> Cart:
    if user.is_authenticated:
        cart, _ = Cart.objects.get_or_create(user=user)
        return cart
    cart = cart_find(user=user, session=session)
    if cart is None:
        cart = Cart.objects.create()
        session[SESSION_CART_KEY] = cart.pk
    return cart


def _validate_quantity(quantity: int) -> None:
    limit = settings.CART_MAX_QUANTITY_PER_LINE
    if quantity < 1:
        raise CartError("Quantity must be at least 1.", code="invalid_quantity", field="quantity")
    if quantity > limit:
        raise CartError(f"You can order at most {limit} copies of a book.", code="invalid_quantity", field="quantity")


def _available_book(book_id: int) -> Book:
    book = Book.objects.filter(pk=book_id, is_active=True).first()
    if book is None:
        raise CartError("That book is not in our catalogue.", code="unknown_book", field="book")
    return book


def _check_stock(book: Book, quantity: int) -> None:
    if book.stock == 0:
        raise CartError(f"“{book.title}” is out of stock.", code="out_of_stock", field="quantity")
    if quantity > book.stock:
        raise CartError(
            f"Only {book.stock} copies of “{book.title}” are in stock.", code="insufficient_stock", field="quantity"
        )


@transaction.atomic
def cart_add(*, cart: Cart, book_id: int, quantity: int = 1) -> CartLine:
    """Add copies of a book; the line's new total is checked against stock and the per-line limit."""
    book = _available_book(book_id)
    _validate_quantity(quantity)
    # Two tabs or a double click on the same cart serialise here, so a quantity check
    # and the write that follows it see the same line.
    lock_cart(cart.pk)
    line = CartLine.objects.filter(cart=cart, book=book).first()
    new_quantity = quantity + (line.quantity if line else 0)
    _validate_quantity(new_quantity)
    _check_stock(book, new_quantity)
    if line is None:
        line = CartLine.objects.create(cart=cart, book=book, quantity=new_quantity)
    else:
        line.quantity = new_quantity
        line.save(update_fields=["quantity"])
    cart.save(update_fields=["updated_at"])
    return line


@transaction.atomic
def cart_set_quantity(*, cart: Cart, book_id: int, quantity: int) -> CartLine | None:
    """Set a line's quantity; 0 removes it. Returns the line, or None once removed."""
    if quantity == 0:
        cart_remove(cart=cart, book_id=book_id)
        return None
    _validate_quantity(quantity)
    lock_cart(cart.pk)
    line = CartLine.objects.select_related("book").filter(cart=cart, book_id=book_id).first()
    if line is None:
        raise CartError("That book is no longer in your cart.", code="not_in_cart", field="book")
    _check_stock(line.book, quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    cart.save(update_fields=["updated_at"])
    return line


@transaction.atomic
def cart_remove(*, cart: Cart, book_id: int) -> None:
    lock_cart(cart.pk)
    deleted, _ = CartLine.objects.filter(cart=cart, book_id=book_id).delete()
    if not deleted:
        raise CartError("That book is no longer in your cart.", code="not_in_cart", field="book")
    cart.save(update_fields=["updated_at"])


@transaction.atomic
def cart_merge(*, guest_cart: Cart, user) -> Cart:
    """Fold a guest's cart into the signed-in user's; quantities add up, capped at stock and the line limit."""
    user_cart, _ = Cart.objects.get_or_create(user=user)
    if guest_cart.pk == user_cart.pk:
        return user_cart
    lock_cart(user_cart.pk)
    existing = {line.book_id: line for line in lock_cart_lines(user_cart)}
    limit = settings.CART_MAX_QUANTITY_PER_LINE
    for guest_line in guest_cart.lines.select_related("book"):
        book = guest_line.book
        line = existing.get(book.pk)
        wanted = guest_line.quantity + (line.quantity if line else 0)
        quantity = min(wanted, book.stock, limit)
        if quantity < 1:
            continue
        if line is None:
            CartLine.objects.create(cart=user_cart, book=book, quantity=quantity)
        elif quantity != line.quantity:
            line.quantity = quantity
            line.save(update_fields=["quantity"])
    # Orders placed as a guest keep pointing at the cart they came from, so a later
    # payment clears the merged cart instead of the vanished guest one.
    guest_cart.orders.update(cart=user_cart)
    guest_cart.delete()
    user_cart.save(update_fields=["updated_at"])
    return user_cart


@transaction.atomic
def cart_remove_purchased(*, cart_id: int, quantities: Mapping[int, int]) -> None:
    """Take paid-for copies ({book_id: quantity}) out of the cart, keeping anything added since."""
    cart = lock_cart(cart_id)
    if cart is None:
        return
    for line in lock_cart_lines(cart):
        bought = quantities.get(line.book_id, 0)
        if bought >= line.quantity:
            line.delete()
        elif bought:
            line.quantity -= bought
            line.save(update_fields=["quantity"])
    cart.save(update_fields=["updated_at"])
