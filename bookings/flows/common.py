"""What several flows share: how long work may stall, telling staff, giving operators their places back, and
the lock every flow takes first.

Locks are taken in one order everywhere: the booking's row, then its payment's, then its refund's.
"""

import datetime as dt
import logging

from bookings import services
from bookings.models import Booking
from bookings.tasks import release_booking_holds_task
from notifications.services import staff_alert_enqueue
from payments import services as payments

logger = logging.getLogger(__name__)


# Work untouched this long is taken to be lost, and enqueued again.
STALLED_AFTER = dt.timedelta(minutes=5)


def alert_staff(subject: str, message: str) -> None:
    logger.error("%s: %s", subject, message)
    # Through the outbox: sent after commit by the emails queue, retried, and at most once an hour per subject.
    staff_alert_enqueue(condition=subject, subject=subject, message=message)


def release_remote_holds(booking_id: int) -> None:
    if services.booking_has_remote_holds(booking_id=booking_id):
        release_booking_holds_task.delay_on_commit(booking_id=booking_id)


def locked_booking_of(intent_id: str) -> Booking | None:
    """The booking a PaymentIntent of ours pays for, its row locked before its payment's (the order every flow
    keeps); None when the intent is not ours."""
    booking_id = payments.payment_booking_id(intent_id=intent_id)
    return services.booking_lock(booking_id=booking_id) if booking_id else None
