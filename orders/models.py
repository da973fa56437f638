import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


def new_access_key() -> str:
    # 32 bytes of randomness: a guest's link to their order cannot be guessed or enumerated.
    return secrets.token_urlsafe(32)


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"
        CANCELED = "canceled", "Canceled"

    # Statuses of an order that was paid once, refunds or not.
    PAID_STATUSES = (Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED)

    number = models.CharField(max_length=16, unique=True, editable=False)
    access_key = models.CharField(max_length=64, unique=True, default=new_access_key, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # The cart the order was placed from: cleared only once a payment is confirmed.
    # The checkout form's one-time token: a double-submitted form returns the first order.
    checkout_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    cart = models.ForeignKey("cart.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True)

    email = models.EmailField()
    shipping_name = models.CharField(max_length=200)
    shipping_line1 = models.CharField("Address", max_length=200)
    shipping_line2 = models.CharField("Address (line 2)", max_length=200, blank=True)
    shipping_city = models.CharField("City", max_length=100)
    shipping_postal_code = models.CharField("Postal code", max_length=20)
    shipping_country = models.CharField("Country", max_length=2, help_text="ISO 3166-1 alpha-2 code.")

    currency = models.CharField(max_length=3)
    subtotal_amount = models.PositiveIntegerField()
    tax_amount = models.PositiveIntegerField(default=0)
    total_amount = models.PositiveIntegerField()
    refunded_amount = models.PositiveIntegerField(default=0)

    reserved_until = models.DateTimeField(help_text="Unpaid after this, the order is canceled and its stock released.")
    stock_released = models.BooleanField(default=False)
    needs_attention = models.BooleanField(default=False, db_index=True)
    attention_reason = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_order", "Can refund orders")]
        indexes = [models.Index(fields=["user", "-created_at"]), models.Index(fields=["status", "reserved_until"])]
        constraints = [
            models.CheckConstraint(condition=Q(refunded_amount__lte=models.F("total_amount")), name="order_refund_le_total"),
            models.CheckConstraint(
                condition=Q(total_amount=models.F("subtotal_amount") + models.F("tax_amount")), name="order_total_adds_up"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:order_detail", args=[self.number])

    def get_guest_url(self) -> str:
        return reverse("orders:order_guest_detail", args=[self.number, self.access_key])

    @property
    def is_awaiting_payment(self) -> bool:
        return self.status == self.Status.PENDING_PAYMENT

    @property
    def refundable_amount(self) -> int:
        return self.total_amount - self.refunded_amount

    def can_refund(self) -> bool:
        return self.status in (self.Status.PAID, self.Status.PARTIALLY_REFUNDED) and self.refundable_amount > 0


class OrderLine(models.Model):
    """A snapshot of what was bought: later price or title changes do not touch it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    book = models.ForeignKey("bookstore.Book", null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255)
    isbn = models.CharField(max_length=13)
    unit_price_amount = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    # The book's VAT rate when the order was placed, in basis points (2300 is 23 %); prices
    # include it. Lines of orders placed before VAT was recorded are at 0.
    vat_rate = models.PositiveIntegerField(default=0)
    restocked_quantity = models.PositiveIntegerField(default=0, help_text="Copies put back on the shelf by refunds.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(restocked_quantity__lte=models.F("quantity")), name="order_line_restock_le_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total(self) -> int:
        return self.unit_price_amount * self.quantity


class OrderEvent(models.Model):
    """The order's history: every transition and notable fact, with who or what caused it."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Placed"
        PAYMENT_STARTED = "payment_started", "Payment started"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAID = "paid", "Paid"
        CANCELED = "canceled", "Canceled"
        FLAGGED = "flagged", "Flagged for staff"
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUND_SEEN = "refund_seen", "Refund seen at Stripe"
        REFUND_FAILED = "refund_failed", "Refund failed"
        REFUND = "refund", "Refunded"
        CONFIRMATION_SENT = "confirmation_sent", "Confirmation emailed"
        PAYMENT_PROCESSING = "payment_processing", "Payment processing at the bank"
        REINSTATED = "reinstated", "Reinstated"

    class Actor(models.TextChoices):
        SHOPPER = "shopper", "Shopper"
        STAFF = "staff", "Staff"
        WEBHOOK = "webhook", "Stripe webhook"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=50, choices=Kind.choices)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    stripe_event_id = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # The fact this event records, when it can happen only once per order: our refund row
    # (`refund-<id>`) for a refund, the Stripe id that caused a flag. The constraint, not a
    # search of the history's text, is what makes a repeated fact a no-op, even under a race.
    reference = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "reference"], condition=~Q(reference=""), name="order_event_fact_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class SavedAddress(models.Model):
    """A shipping address a signed-in shopper ordered to, kept to prefill the next checkout.

    Written when an order is placed (orders/addresses.py), the same address once per
    shopper; edited and deleted on the account page. Only its owner ever sees it.
    """

    ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_addresses")
    name = models.CharField("Full name", max_length=200)
    line1 = models.CharField("Address", max_length=200)
    line2 = models.CharField("Address line 2", max_length=200, blank=True)
    city = models.CharField("City", max_length=100)
    postal_code = models.CharField("Postal code", max_length=20)
    country = models.CharField("Country", max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    is_default = models.BooleanField(default=False)
    last_used_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-last_used_at", "-id"]
        verbose_name_plural = "saved addresses"
        constraints = [
            # The constraint, not a search, keeps one row per address when two orders of the
            # same shopper are placed at once.
            models.UniqueConstraint(
                fields=["user", "name", "line1", "line2", "city", "postal_code", "country"], name="saved_address_once"
            ),
            models.UniqueConstraint(fields=["user"], condition=Q(is_default=True), name="saved_address_one_default"),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.line1, self.line2, f"{self.postal_code} {self.city}", self.country) if part)
