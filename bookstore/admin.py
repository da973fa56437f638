from django.contrib import admin

from bookstore.models import Book
from bookstore.money import format_money

LOW_STOCK = 3


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock_state"

    def lookups(self, request, model_admin):
        return [("out", "Out of stock"), ("low", f"Low (1–{LOW_STOCK})"), ("in", "In stock")]

    def queryset(self, request, queryset):
        if self.value() == "out":
            return queryset.filter(stock=0)
        if self.value() == "low":
            return queryset.filter(stock__gte=1, stock__lte=LOW_STOCK)
        if self.value() == "in":
            return queryset.filter(stock__gt=LOW_STOCK)
        return queryset


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "isbn", "price", "stock", "is_active"]
    list_editable = ["stock"]
    list_filter = ["is_active", StockFilter, "currency"]
    search_fields = ["title", "author", "isbn"]
    readonly_fields = ["price", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "author", "isbn", "description", "published_year", "is_active"]}),
        ("Price and stock", {"fields": ["price_amount", "currency", "price", "stock"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Price", ordering="price_amount")
    def price(self, book: Book) -> str:
        return format_money(book.price_amount, book.currency)
