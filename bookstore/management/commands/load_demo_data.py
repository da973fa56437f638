"""Demo data for `make run`: about fifty books, a staff user and a shopper.

Safe to run again: rows that exist are left as they are (stock sold since stays sold),
missing ones are created. Everything is generated from a fixed seed; no network.
"""

import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from bookstore.models import Book

BOOK_COUNT = 50
SEED = 2026

STAFF_USERNAME = "staff"
STAFF_PASSWORD = "lantern-staff-2026"
SHOPPER_USERNAME = "reader"
SHOPPER_PASSWORD = "lantern-reader-2026"
STAFF_GROUP = "Shop staff"
# (app label, codename); those of apps not yet migrated are skipped.
STAFF_PERMISSIONS = [
    ("bookstore", "view_book"),
    ("bookstore", "change_book"),
    ("orders", "view_order"),
    ("orders", "change_order"),
    ("orders", "refund_order"),
    ("payments", "view_payment"),
    ("payments", "view_refund"),
    ("payments", "view_receipt"),
    ("payments", "view_creditnote"),
    ("payments", "export_documents"),
]

ADJECTIVES = [
    "Silent", "Crimson", "Hidden", "Last", "Paper", "Northern", "Quiet", "Winter", "Golden", "Broken",
    "Distant", "Salt", "Lantern", "Iron", "Velvet", "Forgotten", "Little", "Wild",
]
NOUNS = [
    "Harbour", "Orchard", "Library", "River", "Cartographer", "Garden", "Lighthouse", "Letters", "Island",
    "Clockmaker", "Kingdom", "Summer", "Atlas", "Tide", "Bridge", "Archive", "Foxes", "Meridian",
]
PATTERNS = ["The {adj} {noun}", "{noun} of the {adj} Sea", "My {adj} {noun}", "After the {noun}", "Tales from the {adj} {noun}"]
FIRST_NAMES = ["Aoife", "Tomás", "Maren", "Idris", "Noor", "Felix", "Saoirse", "Kenji", "Lucía", "Oskar", "Ama", "Ruth"]
LAST_NAMES = ["Byrne", "Okafor", "Lindqvist", "Moreau", "Haddad", "Kowalski", "Ferreira", "Nakamura", "Walsh", "Adeyemi"]
BLURBS = [
    "A slow, luminous novel about the places we leave and the ones that never leave us.",
    "Part mystery, part love letter to the sea, told over one long summer.",
    "Short stories of small towns, late trains and unexpected kindness.",
    "A sweeping family saga across three generations and two continents.",
    "An essayist's walk through the history of maps, books and getting lost.",
]


def isbn13(body: str) -> str:
    """The 12-digit body with its ISBN-13 check digit."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def demo_books() -> list[dict]:
    rng = random.Random(SEED)
    titles: set[str] = set()
    books = []
    while len(books) < BOOK_COUNT:
        title = rng.choice(PATTERNS).format(adj=rng.choice(ADJECTIVES), noun=rng.choice(NOUNS))
        if title in titles:
            continue
        titles.add(title)
        index = len(books)
        books.append(
            {
                "isbn": isbn13(f"978190{index:06d}"),
                "title": title,
                "author": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "description": rng.choice(BLURBS),
                "published_year": rng.randint(1950, 2025),
                # Whole euros and 99-cent prices between 7.99 and 34.00, in minor units.
                "price_amount": rng.randint(7, 33) * 100 + rng.choice([0, 50, 99]),
                # A few sold out and a few nearly so, to show every stock state.
                "stock": rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 25, 40]),
                # Printed books are at the reduced rate; every eighth is a gift set with stationery,
                # at the standard rate, so receipts show how two VAT rates add up.
                "vat_category": Book.VatCategory.STANDARD if index % 8 == 7 else Book.VatCategory.REDUCED,
            }
        )
    return books


class Command(BaseCommand):
    help = "Load demo books, a staff user and a shopper account. Running it again changes nothing."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        created = 0
        for fields in demo_books():
            isbn = fields.pop("isbn")
            _, was_created = Book.objects.get_or_create(
                isbn=isbn, defaults={**fields, "currency": settings.SHOP_CURRENCY}
            )
            created += was_created
        self.stdout.write(f"Books: {created} created, {Book.objects.count()} in the catalogue.")

        group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
        for app_label, codename in STAFF_PERMISSIONS:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is None:
                self.stdout.write(f"  (permission {app_label}.{codename} does not exist yet: skipped)")
                continue
            group.permissions.add(permission)

        staff = self._user(STAFF_USERNAME, STAFF_PASSWORD, email="staff@bookstore.example", is_staff=True)
        staff.groups.add(group)
        self._user(SHOPPER_USERNAME, SHOPPER_PASSWORD, email="reader@bookstore.example", is_staff=False)

    def _user(self, username: str, password: str, *, email: str, is_staff: bool):
        user, was_created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email, "is_staff": is_staff}
        )
        if was_created:
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"User {username!r} created, password {password!r}" + (" (staff: /admin/)" if is_staff else ""))
        else:
            self.stdout.write(f"User {username!r} exists; its password is left as it is (demo: {password!r}).")
        return user
