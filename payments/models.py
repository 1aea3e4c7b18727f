"""Payments, refunds and Stripe's webhook events, as we recorded them.

Stripe is the authority on money: webhooks only tell us to look, and the state we act on is what
Stripe answers when we fetch the PaymentIntent or Refund again.
"""

import re

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking
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
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        DEMO = "demo", _("Demo (no money moves)")

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["booking", "attempt"], name="payment_attempt_once")]

    def __str__(self) -> str:
        return self.intent_id or self.idempotency_key


class Refund(models.Model):
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

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


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
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.refund_id
