"""The e-mail outbox: one row per e-mail to send, so none is sent twice and none is lost.

A row is written in the same transaction as what the e-mail is about; its task is enqueued after
commit. Whatever happens to the message (a broker restart, a dead worker), the row stays queued
until a worker has sent it, and the sweeper enqueues it again.

Travellers' e-mails belong to a booking. Staff alerts belong to none: one row per admin address, keyed
by the condition and the hour, so a condition alerts each admin at most once an hour. Nor do account e-mails
(address checks, password resets), which carry a one-time link: written when asked for, they are sent as written
and their text is not kept once sent — as with a claim code for a booking.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking
from ferries.models import CURRENCY_VALIDATOR, Sailing

# E-mails about no booking: staff alerts, account e-mails, travel alerts.
WITHOUT_BOOKING = ["staff_alert", "account", "travel_alert_confirm", "travel_alert"]


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
        TRAVEL_ALERT_CONFIRM = "travel_alert_confirm", _("Travel alert: confirm the address")
        TRAVEL_ALERT = "travel_alert", _("Travel alert: places free, or a price under the limit")

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
                condition=Q(kind__in=WITHOUT_BOOKING, booking__isnull=True)
                | (~Q(kind__in=WITHOUT_BOOKING) & Q(booking__isnull=False)),
                name="email_booking_unless_about_none",
            ),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="email_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.booking.reference if self.booking_id else self.key}"


class TravelAlert(models.Model):
    """A traveller's wish to hear of a change (notifications.travel_alerts): places freeing up on a sailing sold out
    for their party, or the lowest price of a day's crossings for their party falling to a limit. Checked by beat in
    batches, e-mailed at most once per change, stopped by the link in each e-mail."""

    class Kind(models.TextChoices):
        AVAILABILITY = "availability", _("Places free on a sold-out sailing")
        PRICE = "price", _("The lowest price at or under a limit")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    email = models.EmailField()
    language = models.CharField(max_length=8, default="en")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="travel_alerts",
        help_text=_("The account that set it, if any."),
    )  # fmt: skip
    query = models.JSONField(help_text=_("The search it watches: ports, day and party (a leg's search)."))
    sailing = models.ForeignKey(
        Sailing, null=True, blank=True, on_delete=models.CASCADE, related_name="travel_alerts",
        help_text=_("The sold-out sailing watched (availability alerts)."),
    )  # fmt: skip
    below_minor = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("The price limit for the whole party, in minor units (price alerts).")
    )
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])
    state = models.CharField(
        max_length=24, blank=True,
        help_text=_("What the last check saw: sold_out, available, above, or under:<price>."),
    )  # fmt: skip
    changes = models.PositiveIntegerField(default=0, help_text=_("Changes e-mailed so far."))
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text=_("When its address was confirmed."))
    stopped_at = models.DateTimeField(null=True, blank=True, help_text=_("When it was stopped (by its link)."))
    checked_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(help_text=_("The departure watched (or the end of the day): no check after it."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ends_at", "checked_at"], name="travel_alert_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="availability", sailing__isnull=False, below_minor__isnull=True)
                | Q(kind="price", sailing__isnull=True, below_minor__isnull=False),
                name="travel_alert_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_live(self) -> bool:
        return self.confirmed_at is not None and self.stopped_at is None
