"""Forgetting who travelled (bookings.privacy), on the booking, on the e-mails it was sent, on its e-tickets kept and
on the Stripe events stored about its payments: daily by beat for the bookings whose retention period is over, and at
once for those of an account being deleted."""

import datetime as dt

from django.db import transaction

from bookings import privacy
from bookings.models import Booking
from notifications.documents import documents_forget
from notifications.services import emails_forget
from payments.models import Payment
from payments.webhooks import webhook_events_forget


def booking_forget(*, booking_id: int, now: dt.datetime | None = None) -> bool:
    """Anonymise the booking, its e-mails and the payment events about it; False if it was anonymised already."""
    with transaction.atomic():
        if not privacy.booking_anonymise(booking_id=booking_id, now=now):
            return False
        booking = Booking.objects.get(pk=booking_id)
        emails_forget(booking_id=booking_id, recipient=booking.contact_email)
        intents = Payment.objects.filter(booking_id=booking_id, intent_id__isnull=False).values_list("intent_id")
        webhook_events_forget(intent_ids=[intent for (intent,) in intents])
    # Its e-tickets kept name its passengers (its invoices keep their buyer as issued, in the accounts).
    documents_forget(folder=f"etickets/{booking.reference}")
    return True


def bookings_forget_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Those whose retention period is over, a batch at a time (beat comes back the next day for more)."""
    due = privacy.bookings_due_forgetting(now=now).values_list("pk", flat=True)[:limit]
    return sum(booking_forget(booking_id=booking_id, now=now) for booking_id in list(due))
