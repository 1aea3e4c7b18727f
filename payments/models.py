"""Payments, refunds and Stripe's webhook events, as we recorded them.

Stripe is the authority on money: webhooks only tell us to look, and the state we act on is what
Stripe answers when we fetch the PaymentIntent or Refund again.
"""

import re

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking, BookingChange
from ferries.models import CURRENCY_VALIDATOR

# What a PaymentIntent's id can be at all (Stripe's and the demo provider's: letters, digits, underscores). An id
# taken from a URL is looked up only if it is one: PostgreSQL refuses even to compare a string with a NUL in it.
INTENT_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


class Payment(models.Model):
    """One attempt to take a booking's price: one PaymentIntent."""

    class Status(models.TextChoices):
        CREATED = "created", _("Awaiting the traveller")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        # The provider took an amount or a currency that is not ours: it confirms nothing and is given back.
        MISMATCHED = "mismatched", _("Amount not ours: refunded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        DEMO = "demo", _("Demo (no money moves)")

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    # The difference a change of the booking costs; empty for the booking's own price.
    change = models.ForeignKey(BookingChange, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    attempt = models.PositiveSmallIntegerField()
    # Stored before Stripe is called, so a retried call after a lost answer creates nothing new.
    idempotency_key = models.CharField(max_length=80, unique=True)
    intent_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=128, blank=True)
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED, db_index=True)
    last_error = models.CharField(max_length=255, blank=True)
    # What the provider says it took, once it took something: what a refund can give back at most.
    received_minor = models.PositiveIntegerField(null=True, blank=True)
    received_currency = models.CharField(max_length=3, blank=True)
    settled_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the booking side acted on the money taken: the booking paid, or the money given back."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["booking", "attempt"], name="payment_attempt_once")]

    def __str__(self) -> str:
        return self.intent_id or self.idempotency_key

    @property
    def taken(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.MISMATCHED}

    @property
    def taken_minor(self) -> int:
        """What the provider took: what it said, or our amount for a payment recorded before it said."""
        return self.received_minor if self.received_minor is not None else self.amount_minor

    @property
    def taken_currency(self) -> str:
        return self.received_currency or self.currency


class Refund(models.Model):
    class Cause(models.TextChoices):
        CANCELLATION = "cancellation", _("Cancelled by the traveller or staff")
        SAILING_CANCELLED = "sailing_cancelled", _("Sailing cancelled by the operator")
        OPERATOR_REFUSED = "operator_refused", _("Refused by the operator")
        NOT_HONOURED = "not_honoured", _("Paid for a booking that could no longer be sold")
        MISMATCH = "mismatch", _("Amount or currency not ours")
        CHANGE = "change", _("A change made the booking cheaper")
        PARTIAL = "partial", _("A leg or a passenger cancelled")
        STAFF = "staff", _("Given back by staff")
        PROVIDER = "provider", _("Made at the provider (Stripe dashboard)")
        COMPENSATION = "compensation", _("Compensation for a late arrival")

    class Status(models.TextChoices):
        PENDING = "pending", _("To be sent to Stripe")
        REQUESTED = "requested", _("Requested, awaiting Stripe")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    reason = models.CharField(max_length=255)
    cause = models.CharField(max_length=20, choices=Cause.choices, default=Cause.STAFF)
    # One refund per cause: a repeated trigger finds the row instead of refunding twice.
    idempotency_key = models.CharField(max_length=80, unique=True)
    refund_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_positive")]

    def __str__(self) -> str:
        return self.refund_id or self.idempotency_key


class WebhookEvent(models.Model):
    """A Stripe event as received (signature checked), processed once on the payments queue."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=255, blank=True, help_text=_("What processing made of it."))

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Dispute(models.Model):
    """A chargeback (or an inquiry before one) on a payment, as Stripe last told us."""

    # Stripe's dispute statuses, and whether the disputed money is out of our hands meanwhile.
    OPEN_STATUSES = {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
    NEEDS_RESPONSE = {"warning_needs_response", "needs_response"}
    FUNDS_HELD = OPEN_STATUSES | {"lost"}

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    dispute_id = models.CharField(max_length=64, unique=True)
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    reason = models.CharField(max_length=64, help_text=_("Stripe's reason code: fraudulent, product_not_received…"))
    status = models.CharField(max_length=32, db_index=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True, help_text=_("Respond in the Stripe dashboard by."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.dispute_id

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class DemoIntent(models.Model):
    """The demo provider's own record of a PaymentIntent (the stand-in for Stripe's, with DEBUG on only)."""

    intent_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, default="requires_payment_method")
    metadata = models.JSONField(default=dict)
    last_error = models.CharField(max_length=255, blank=True)
    amount_refunded = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.intent_id


class DemoRefund(models.Model):
    """The demo provider's own record of a refund."""

    refund_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    intent = models.ForeignKey(DemoIntent, on_delete=models.CASCADE, related_name="refunds")
    amount_minor = models.PositiveIntegerField()
    status = models.CharField(max_length=32, default="succeeded")
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.refund_id


class Invoice(models.Model):
    """An invoice for money taken, or a credit note for money given back: numbered in a series per kind and year with
    no gaps, its seller, buyer and lines kept as issued."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    PREFIXES = {Kind.INVOICE: "INV", Kind.CREDIT_NOTE: "CN"}

    kind = models.CharField(max_length=12, choices=Kind.choices)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField(help_text=_("1, 2, 3… in the kind's series for the year, with no gaps."))
    number = models.CharField(max_length=20, unique=True)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="invoices")
    # What the document is for: one invoice per payment, one credit note per refund.
    payment = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice")
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_note")
    issued_at = models.DateTimeField()
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    seller = models.JSONField(help_text=_("The company's details as on the document."))
    buyer = models.JSONField(help_text=_("The billing name, address, company and VAT number as on the document."))
    lines = models.JSONField(help_text=_("Description, VAT rate, net, VAT and gross of each line, in minor units."))
    total_minor = models.PositiveIntegerField(help_text=_("Gross, VAT included."))
    vat_minor = models.PositiveIntegerField()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "sequence"], name="invoice_number_once"),
            models.CheckConstraint(
                condition=Q(kind="invoice", payment__isnull=False, refund__isnull=True)
                | Q(kind="credit_note", refund__isnull=False, payment__isnull=True),
                name="invoice_for_a_payment_credit_note_for_a_refund",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceSeries(models.Model):
    """The last number given in a kind's series for a year: locked while the next document is issued, so numbers
    follow one another with no gap (a transaction that fails gives its number back)."""

    kind = models.CharField(max_length=12, choices=Invoice.Kind.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="invoice_series_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"
