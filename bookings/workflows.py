"""Flows that span apps, written once: the only place that knows the whole sequence.

Interfaces (views, API, admin, tasks) call these; these call each app's services and enqueue tasks
by name after commit (maritime.queue), so task modules can call back here without an import loop.
"""

import datetime as dt
import logging

from django.core.mail import mail_admins
from django.utils import timezone

from bookings import selectors, services
from bookings.models import Booking
from maritime.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

# Work untouched this long is taken to be lost, and enqueued again.
STALLED_AFTER = dt.timedelta(minutes=5)


def booking_cancel(*, booking_id: int, actor: str, reason: str) -> services.Cancellation:
    """Cancel, give every operator its places back, and answer the refund due by the policy."""
    cancellation = services.booking_cancel(booking_id=booking_id, actor=actor, reason=reason)
    if cancellation.changed:
        _release_remote_holds(booking_id)
    return cancellation


def bookings_expire() -> int:
    """Expire overdue holds (beat, every minute); answers how many expired."""
    expired = services.bookings_expire_overdue()
    for booking_id in expired:
        _release_remote_holds(booking_id)
    if expired:
        logger.info("expired %d unpaid bookings", len(expired))
    return len(expired)


def bookings_retry_stalled(*, quiet_for: dt.timedelta = STALLED_AFTER) -> int:
    """Enqueue again what a lost message or a dead worker left undone (beat): holds to give back,
    paid bookings to confirm. Both tasks are idempotent, so a duplicate is harmless."""
    before = timezone.now() - quiet_for
    releases = selectors.bookings_awaiting_release(before=before)
    for booking_id in releases:
        _release_remote_holds(booking_id)
    confirmations = selectors.bookings_awaiting_confirmation(before=before)
    for booking_id in confirmations:
        booking_paid(booking_id=booking_id)
    return len(releases) + len(confirmations)


def booking_paid(*, booking_id: int) -> None:
    """After payment: confirm the sale with each operator, on the bookings queue."""
    enqueue_on_commit("bookings.tasks.confirm_booking_with_operator_task", booking_id=booking_id)


def booking_confirmation_failed(*, booking_id: int, reason: str) -> None:
    """The operator refused, or never answered within the retry budget: fail the booking and tell staff."""
    if not Booking.objects.filter(pk=booking_id, status=Booking.Status.PAID).exists():
        return  # cancelled or confirmed meanwhile: nothing has failed
    booking = services.booking_fail(booking_id=booking_id, reason=reason[:255])
    _release_remote_holds(booking_id)
    logger.error("booking %s failed at the operator: %s", booking.reference, reason)
    mail_admins(
        f"Booking {booking.reference} failed at the operator",
        f"Booking {booking.reference} was paid but could not be confirmed: {reason}\n"
        "It is marked failed; the traveller is owed a refund.",
        fail_silently=True,
    )


def _release_remote_holds(booking_id: int) -> None:
    if services.booking_has_remote_holds(booking_id=booking_id):
        enqueue_on_commit("bookings.tasks.release_booking_holds_task", booking_id=booking_id)
