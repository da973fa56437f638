import re

from django.db.models import Q, QuerySet

from bookstore.models import Book

ISBN_SEPARATORS = re.compile(r"[\s-]")


def books_available() -> QuerySet[Book]:
    """Books shown in the catalogue; inactive ones are hidden."""
    return Book.objects.filter(is_active=True)


def book_search(*, query: str = "") -> QuerySet[Book]:
    """Available books whose title, author or ISBN contains the query; all of them for an empty query."""
    books = books_available()
    query = query.strip()
    if not query:
        return books
    # ISBNs are stored as bare digits but written with hyphens or spaces on covers.
    isbn = ISBN_SEPARATORS.sub("", query)
    matches = Q(title__icontains=query) | Q(author__icontains=query)
    if isbn:
        matches |= Q(isbn__icontains=isbn)
    return books.filter(matches)
