"""Holds that were not paid in time: places back, open PaymentIntents cancelled, the traveller told (beat)."""

import logging

from bookings import services
from bookings.flows.common import release_remote_holds
from bookings.models import Booking
from notifications.models import Email
from notifications.services import email_enqueue
from payments.tasks import cancel_open_payments_task

logger = logging.getLogger(__name__)


def bookings_expire() -> int:
    """Expire overdue holds (beat, every minute): places back, open payments cancelled; answers how many."""
    expired = services.bookings_expire_overdue()
    for booking in Booking.objects.filter(pk__in=expired):
        release_remote_holds(booking.pk)
        cancel_open_payments_task.delay_on_commit(booking_id=booking.pk)
        email_enqueue(booking=booking, kind=Email.Kind.HOLD_EXPIRED)
    if expired:
        logger.info("expired %d unpaid bookings", len(expired))
    return len(expired)
