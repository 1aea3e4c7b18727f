"""The operator cancels a sailing: each confirmed booking on it is offered re-routing or a refund of that leg (the
disruption flow); a booking not confirmed yet is cancelled with a full refund."""

from django.db import transaction

from bookings import selectors, services
from bookings.flows.cancelling import booking_cancel
from bookings.flows.disruption import booking_disrupted
from bookings.models import Booking, BookingLeg
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


def booking_cancel_for_sailing(*, booking_id: int) -> str | None:
    """A sailing of the booking was cancelled. Confirmed: the traveller is offered re-routing or a refund of each leg
    on a cancelled sailing (once; a leg with nowhere to go is refunded at once). Not confirmed yet (held, or paid and
    awaiting the operator): the booking is cancelled, everything paid refunded, the traveller e-mailed. Answers what
    became of it: the disruptions' statuses, or the booking's."""
    legs = list(
        BookingLeg.objects.filter(booking_id=booking_id, sailing__status=Sailing.Status.CANCELLED).values_list(
            "sailing_id", "sailing__ref"
        )
    )
    if not legs:
        return None  # the sailing runs after all
    if Booking.objects.filter(pk=booking_id, status=Booking.Status.CONFIRMED).exists():
        offered = [booking_disrupted(booking_id=booking_id, sailing_id=sailing_id) for sailing_id, _ref in legs]
        return ", ".join(disruption.status for disruption in offered if disruption) or None
    try:
        cancellation = booking_cancel(
            booking_id=booking_id, actor="operator", reason=f"sailing {', '.join(r for _s, r in legs)} cancelled",
            full_refund=True,
        )  # fmt: skip
    except services.TransitionNotAllowed:
        return None  # expired or failed meanwhile: nothing travels, and a failed booking is already refunded
    return cancellation.booking.status
