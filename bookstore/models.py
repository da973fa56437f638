from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


def shop_currency() -> str:
    return settings.SHOP_CURRENCY


class Book(models.Model):
    class VatCategory(models.TextChoices):
        # The rate of each is a setting (SHOP_VAT_RATES): the categories are what the goods
        # are, the rates what the shop's country charges for them.
        STANDARD = "standard", "Standard rate"
        REDUCED = "reduced", "Reduced rate (printed books)"
        ZERO = "zero", "Zero rate"

    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255)
    isbn = models.CharField("ISBN", max_length=13, unique=True, help_text="ISBN-13, digits only.")
    description = models.TextField(blank=True)
    published_year = models.PositiveSmallIntegerField(null=True, blank=True)
    price_amount = models.PositiveIntegerField(help_text="In the currency's minor unit (cents for EUR).")
    currency = models.CharField(max_length=3, default=shop_currency)
    stock = models.PositiveIntegerField(default=0, help_text="Copies on the shelf, not counting reserved ones.")
    is_active = models.BooleanField(default=True, help_text="Inactive books are hidden from the catalogue.")
    vat_category = models.CharField(
        "VAT category",
        max_length=16,
        choices=VatCategory.choices,
        default=VatCategory.REDUCED,
        help_text="Printed books are at the reduced rate; the rate of each category is the SHOP_VAT_RATES setting.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["author"]), models.Index(fields=["title"])]
        constraints = [
            # The last line of defence against overselling: a reservation that would take
            # stock below zero fails in the database, whatever the code above it did.
            models.CheckConstraint(condition=Q(stock__gte=0), name="book_stock_not_negative"),
            models.CheckConstraint(condition=Q(price_amount__gt=0), name="book_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} by {self.author}"

    def get_absolute_url(self) -> str:
        return reverse("catalogue:book_detail", args=[self.pk])

    @property
    def vat_rate(self) -> int:
        """This book's VAT rate now, in basis points (2300 is 23 %); an order line keeps its own copy."""
        return settings.SHOP_VAT_RATES[self.vat_category]

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def stock_state(self) -> str:
        if self.stock == 0:
            return "Out of stock"
        if self.stock <= 3:
            return f"Only {self.stock} left"
        return "In stock"
