"""The e-mail outbox: one row per e-mail to send, so none is sent twice and none is lost.

A row is written in the same transaction as what the e-mail is about; its task is enqueued after
commit. Whatever happens to the message (a broker restart, a dead worker), the row stays queued
until a worker has sent it, and the sweeper enqueues it again.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking


class Email(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", _("Booking confirmation with e-tickets")
        PAYMENT_SUCCESS = "payment_success", _("Payment receipt")
        REFUND = "refund", _("Refund notice")
        CANCELLATION = "cancellation", _("Cancellation notice")
        HOLD_EXPIRED = "hold_expired", _("Hold expired notice")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=24, choices=Kind.choices)
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="emails")
    # Kinds that can happen more than once for a booking (refunds) tell their occurrences apart here.
    key = models.CharField(max_length=64, blank=True)
    recipient = models.EmailField()
    # Facts of the occasion that are not on the booking (a refund's amount); never personal data.
    details = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, default="en")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=255, blank=True, help_text=_("As sent."))
    body_text = models.TextField(blank=True, help_text=_("As sent."))
    body_html = models.TextField(blank=True, help_text=_("As sent."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("e-mail")
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind", "key"], name="email_once_per_booking_kind_key"),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="email_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.booking.reference}"
