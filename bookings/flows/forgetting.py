"""Forgetting who travelled (bookings.privacy), on the booking and on the e-mails it was sent: daily by beat for
the bookings whose retention period is over, and at once for those of an account being deleted."""

import datetime as dt

from django.db import transaction

from bookings import privacy
from bookings.models import Booking
from notifications.services import emails_forget


def booking_forget(*, booking_id: int, now: dt.datetime | None = None) -> bool:
    """Anonymise the booking and its e-mails; False if it was anonymised already."""
    with transaction.atomic():
        if not privacy.booking_anonymise(booking_id=booking_id, now=now):
            return False
        booking = Booking.objects.get(pk=booking_id)
        emails_forget(booking_id=booking_id, recipient=booking.contact_email)
    return True


def bookings_forget_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Those whose retention period is over, a batch at a time (beat comes back the next day for more)."""
    due = privacy.bookings_due_forgetting(now=now).values_list("pk", flat=True)[:limit]
    return sum(booking_forget(booking_id=booking_id, now=now) for booking_id in list(due))
