"""Departure reminders (beat, every minute): each one due is claimed on its leg and queued in the e-mail outbox in one
transaction, so a reminder is sent once, and is not lost if the worker dies before sending it."""

import datetime as dt

from django.db import transaction

from bookings.models import BookingLeg
from bookings.reminders import reminder_claim, reminders_due
from notifications.models import Email
from notifications.services import email_enqueue


def reminders_send(*, now: dt.datetime | None = None) -> int:
    """Queue the reminders due now; answers how many were queued."""
    queued = 0
    for reminder in reminders_due(now=now):
        with transaction.atomic():
            if not reminder_claim(reminder=reminder):
                continue
            leg = BookingLeg.objects.select_related("booking").get(pk=reminder.leg_id)
            email_enqueue(
                booking=leg.booking,
                kind=Email.Kind.DEPARTURE_REMINDER,
                key=reminder.key(direction=leg.direction, sailing_id=leg.sailing_id),
                details={"leg": leg.direction, "window": reminder.window},
            )
            queued += 1
    return queued
