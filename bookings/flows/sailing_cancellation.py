"""The operator cancels a sailing: every booking still travelling on it is cancelled with a full refund."""

from django.db import transaction

from bookings import selectors, services
from bookings.flows.cancelling import booking_cancel
from bookings.models import BookingLeg
from bookings.tasks import cancel_booking_for_sailing_task
from ferries.models import Sailing
from ferries.services import SailingCancellation, sailing_cancel


def sailing_cancelled(*, sailing_id: int, reason: str, actor: str) -> tuple[SailingCancellation, int]:
    """Cancel the sailing, then every booking still travelling on it, one task each on the bookings queue
    (in full: the policy does not apply when the operator cancels). Answers the sailing's cancellation and
    how many bookings were queued.

    Raises SailingNotCancellable for a sailing that has left. Asking again queues again the bookings still
    active (a lost message); the tasks are idempotent, and the beat sweeper does the same.
    """
    with transaction.atomic():
        cancellation = sailing_cancel(sailing_id=sailing_id, reason=f"{actor}: {reason}")
        booking_ids = selectors.bookings_on_sailing(sailing_id=sailing_id)
        for booking_id in booking_ids:
            cancel_booking_for_sailing_task.delay_on_commit(booking_id=booking_id)
    return cancellation, len(booking_ids)


def booking_cancel_for_sailing(*, booking_id: int) -> services.Cancellation | None:
    """A sailing of the booking was cancelled: cancel the booking, refund everything paid, e-mail the traveller."""
    refs = list(
        BookingLeg.objects.filter(booking_id=booking_id, sailing__status=Sailing.Status.CANCELLED).values_list(
            "sailing__ref", flat=True
        )
    )
    if not refs:
        return None  # the sailing runs after all
    try:
        return booking_cancel(
            booking_id=booking_id, actor="operator", reason=f"sailing {', '.join(refs)} cancelled", full_refund=True
        )
    except services.TransitionNotAllowed:
        return None  # expired or failed meanwhile: nothing travels, and a failed booking is already refunded
