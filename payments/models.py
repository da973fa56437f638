from django.conf import settings
from django.db import models
from django.db.models import Q

from payments.paying.methods import DELAYED_METHODS, card_words


class Payment(models.Model):
    """Links an order to its Stripe PaymentIntent (mirrored by dj-stripe).

    One per order: every attempt (a declined card, then another) confirms the same
    PaymentIntent, so an order can never be charged through two of them.
    """

    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method", "Awaiting card details"
        REQUIRES_CONFIRMATION = "requires_confirmation", "Awaiting confirmation"
        REQUIRES_ACTION = "requires_action", "Awaiting authentication"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        CANCELED = "canceled", "Canceled"

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="payment")
    # Empty while `payment_start` waits for Stripe: the row is committed before Stripe is called.
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    payment_intent = models.ForeignKey(
        "djstripe.PaymentIntent", to_field="id", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    charge = models.ForeignKey(
        "djstripe.Charge", to_field="id", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_secret = models.CharField(max_length=255, blank=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.REQUIRES_PAYMENT_METHOD)
    last_error_code = models.CharField(max_length=100, blank=True)
    last_decline_code = models.CharField(max_length=100, blank=True)
    last_error_message = models.TextField(blank=True)
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    # The PaymentMethod's type ("card", "sepa_debit", "ideal", ...) once the shopper chose one,
    # and how they paid in words, from the charge (payments/paying/methods.py).
    method_type = models.CharField(max_length=32, blank=True)
    method_description = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.stripe_payment_intent_id or f"payment of order {self.order_id}, awaiting Stripe"

    @property
    def method_words(self) -> str:
        """"Visa ending in 4242", "SEPA Direct Debit ending in 3000", "iDEAL, ING"; "" before a charge."""
        return self.method_description or card_words(self.card_brand, self.card_last4)

    @property
    def is_settling(self) -> bool:
        """The bank is still settling it (SEPA Direct Debit: days): the order holds its books."""
        return self.status == self.Status.PROCESSING and self.method_type in DELAYED_METHODS


class Refund(models.Model):
    """A refund of (part of) an order's payment.

    The row is written before Stripe is called, and its id is the idempotency key, so a
    retried or doubled request can never refund twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        REQUIRES_ACTION = "requires_action", "Requires action"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
        DUPLICATE = "duplicate", "Duplicate"
        FRAUDULENT = "fraudulent", "Fraudulent"

    class Origin(models.TextChoices):
        SHOP = "shop", "Made in the shop"
        STRIPE = "stripe", "Made in Stripe"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    djstripe_refund = models.ForeignKey(
        "djstripe.Refund", to_field="id", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    note = models.TextField(blank=True, help_text="Internal; never shown to the shopper.")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SHOP)
    failure_reason = models.TextField(blank=True)
    # {order_line_id: quantity} to put back on the shelf once the refund succeeds.
    restock = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    shopper_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return self.stripe_refund_id or f"refund #{self.pk}"


class ReceiptCounter(models.Model):
    """One row per series; locked to hand out receipt numbers with no gaps."""

    series = models.CharField(max_length=16, unique=True)
    last_number = models.PositiveIntegerField(default=0)


class Receipt(models.Model):
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="receipt")
    number = models.PositiveIntegerField(unique=True)
    pdf = models.FileField(upload_to="receipts/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Set when delivery failed in a way retrying cannot fix (a refused address, a broken
    # template): the sweep leaves such receipts to staff, who retry them from the admin.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        permissions = [("export_documents", "Can export receipts and credit notes for the accountant")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"R-{self.number:06d}"


class CreditNote(models.Model):
    """A correction of an issued receipt, in its own gap-free series (C-000001), never changed once issued.

    A succeeded refund issues one credit note for its amount. A refund that fails after it
    had succeeded issues a cancellation of that credit note (same series, `cancels` set):
    issued documents are corrected by new documents, never edited. A model beside `Receipt`
    rather than one generalised `Document`: receipts keep their table, numbers and links, and
    a credit note carries what a receipt has not (its refund, the original, its VAT split).
    """

    class Kind(models.TextChoices):
        CREDIT_NOTE = "credit_note", "Credit note"
        CANCELLATION = "cancellation", "Cancellation of a credit note"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CREDIT_NOTE)
    number = models.PositiveIntegerField(unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="credit_notes")
    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="credit_notes", help_text="The original.")
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="credit_notes")
    cancels = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="cancellation"
    )
    amount = models.PositiveIntegerField(help_text="Tax included, in minor units; a credit to the shopper.")
    currency = models.CharField(max_length=3)
    # [{"rate", "gross", "net", "vat"}, ...] as issued (payments/documents/vat.py): the split
    # depends on the credit notes before it, so it is kept, not recomputed.
    vat_lines = models.JSONField(default=list)
    pdf = models.FileField(upload_to="credit_notes/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            # One credit note per refund, and at most one cancellation of it, whoever reports it.
            models.UniqueConstraint(fields=["refund", "kind"], name="credit_note_once_per_refund"),
            models.CheckConstraint(
                condition=Q(kind="credit_note", cancels__isnull=True) | Q(kind="cancellation", cancels__isnull=False),
                name="credit_note_cancellation_names_its_note",
            ),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"C-{self.number:06d}"

    @property
    def is_cancellation(self) -> bool:
        return self.kind == self.Kind.CANCELLATION


class WebhookMessage(models.Model):
    """A Stripe event as it reached our webhook endpoint, stored once before it is processed.

    The endpoint answers Stripe as soon as this row is committed; a Celery task processes it
    (payments/paying/inbox.py). Unique by Stripe's event id, so a redelivered event is a
    lookup, not a second round of work.
    """

    class State(models.TextChoices):
        RECEIVED = "received", "Received"  # waiting for, or between, processing attempts
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (not about this shop's payments)"
        FAILED = "failed", "Failed (retries used up)"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    endpoint = models.ForeignKey(
        "djstripe.WebhookEndpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker processes the row: another task for it (a sweep, a redelivered
    # message) leaves it alone until then. Cleared when the attempt ends.
    processing_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The sweep's question: what is still waiting? Few rows ever are.
            models.Index(fields=["received_at"], condition=Q(state="received"), name="webhook_message_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"
