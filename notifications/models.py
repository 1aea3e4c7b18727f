"""The e-mail outbox: one row per e-mail to send, so none is sent twice and none is lost.

A row is written in the same transaction as what the e-mail is about; its task is enqueued after
commit. Whatever happens to the message (a broker restart, a dead worker), the row stays queued
until a worker has sent it, and the sweeper enqueues it again.

Travellers' e-mails belong to a booking. Staff alerts belong to none: one row per admin address, keyed
by the condition and the hour, so a condition alerts each admin at most once an hour. Nor do account e-mails
(address checks, password resets), which carry a one-time link: written when asked for, they are sent as written
and their text is not kept once sent — as with a claim code for a booking.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking


class Email(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", _("Booking confirmation with e-tickets")
        BOOKING_CHANGED = "booking_changed", _("Change made, with the new e-tickets")
        PAYMENT_SUCCESS = "payment_success", _("Payment receipt")
        REFUND = "refund", _("Refund notice")
        CANCELLATION = "cancellation", _("Cancellation notice")
        HOLD_EXPIRED = "hold_expired", _("Hold expired notice")
        DEPARTURE_REMINDER = "departure_reminder", _("Departure reminder")
        SAILING_RETIMED = "sailing_retimed", _("New sailing times (a delay)")
        SAILING_DISRUPTED = "sailing_disrupted", _("Sailing cancelled or delayed: re-routing or refund")
        COMPENSATION = "compensation", _("Compensation for a late arrival")
        CHANGE_PAYMENT = "change_payment", _("A change to pay for (e.g. a vehicle measured larger)")
        STAFF_ALERT = "staff_alert", _("Staff alert")
        ACCOUNT = "account", _("Account e-mail (address check, password reset…)")
        BOOKING_CLAIM = "booking_claim", _("Code to add a booking to an account")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=24, choices=Kind.choices)
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="emails", null=True, blank=True)
    # Kinds that can happen more than once for a booking (refunds) tell their occurrences apart here; a staff
    # alert's key is its condition and hour ("queue-backlog:emails@2026-12-01T14").
    key = models.CharField(max_length=64, blank=True)
    recipient = models.EmailField()
    # Facts of the occasion that are not on the booking (a refund's amount, a staff alert's subject and message);
    # never personal data.
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
            models.UniqueConstraint(
                fields=["booking", "kind", "key"],
                condition=Q(booking__isnull=False),
                name="email_once_per_booking_kind_key",
            ),
            # The database, not a check before writing, keeps two alert checks racing from both sending.
            models.UniqueConstraint(
                fields=["kind", "key", "recipient"],
                condition=Q(booking__isnull=True),
                name="email_staff_alert_once_per_key_recipient",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["staff_alert", "account"], booking__isnull=True)
                | (~Q(kind__in=["staff_alert", "account"]) & Q(booking__isnull=False)),
                name="email_booking_unless_staff_alert_or_account",
            ),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="email_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.booking.reference if self.booking_id else self.key}"
