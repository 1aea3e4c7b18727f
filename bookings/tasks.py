"""Tasks of the bookings queue: thin — load by id, run a flow or a service. One retry budget for the queue:
3 retries, at least 1, 2 and 4 s apart (backoff capped at 180 s), for errors an operator or the database may cure.

What a task runs is imported when it runs: flows enqueue these tasks, so importing the flows here, at the top,
would make a loop.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ferries.errors import OperatorError, OperatorRefused
from kernel.tasks import Task

# The calls that change a remote operator's bookings are paced per operator, across workers, where they are made
# (ferries/operators/pacing.py), not by a Celery rate limit: the messages one holds back block the queue.


class BookingsTask(Task):
    # Worth another try: an operator or our database briefly unreachable.
    autoretry_for = (OperatorError, OperationalError, InterfaceError)
    retry_backoff = True
    retry_backoff_max = 180
    # At least 1, 2 and 4 s (kernel.tasks.Task): the budget outlasts a database restart, rather than failing (and
    # refunding) a paid booking for a blip.
    max_retries = 3


@shared_task(bind=True, base=BookingsTask)
def check_ferry_availability_task(
    self,
    *,
    operator: str,
    sailing_id: str,
    departure_port: str = "",
    arrival_port: str = "",
    departure_time: str = "",
    passenger_count: int = 1,
    vehicle_count: int = 0,
) -> dict:
    """The brief's availability check; payment_start waits up to 10 s for it before taking payment (`ask_all`: the
    brief's `.get(timeout=10)`, every leg asked at once)."""
    from bookings.availability import availability_check

    return availability_check(
        operator=operator,
        sailing_id=sailing_id,
        passenger_count=passenger_count,
        vehicle_count=vehicle_count,
        departure_time=departure_time,
    )


class ConfirmationTask(BookingsTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # The retry budget is spent (or the operator refused): the booking cannot stay "paid" forever.
        if self.failed_for_good(exc):
            from bookings.flows import confirmation

            confirmation.booking_confirmation_failed(
                booking_id=kwargs["booking_id"], reason=f"{type(exc).__name__}: {exc}"
            )


@shared_task(bind=True, base=ConfirmationTask, throws=(OperatorRefused,))
def confirm_booking_with_operator_task(self, *, booking_id: int) -> str:
    from bookings.flows import confirmation

    return confirmation.booking_confirm(booking_id=booking_id).status


@shared_task(bind=True, base=BookingsTask)
def release_booking_holds_task(self, *, booking_id: int) -> None:
    from bookings import services

    services.booking_release_remote_legs(booking_id=booking_id)


class ChangeTask(BookingsTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # The operators never answered within the retry budget: the change fails and its money goes back.
        if self.failed_for_good(exc):
            from bookings.flows import changing

            changing.change_failed(change_id=kwargs["change_id"], reason=f"{type(exc).__name__}: {exc}")


@shared_task(bind=True, base=ChangeTask)
def make_change_task(self, *, booking_id: int, change_id: int) -> str:
    """A paid change: its new places confirmed with the operators and the legs swapped (`booking_id` names the
    booking in the task's record)."""
    from bookings.flows import changing

    return changing.change_make(change_id=change_id).status


@shared_task(bind=True, base=BookingsTask)
def release_change_holds_task(self, *, change_id: int) -> None:
    from bookings.flows import changing

    changing.change_release_remote(change_id=change_id)


@shared_task(bind=True, base=BookingsTask)
def cancel_booking_for_sailing_task(self, *, booking_id: int) -> str | None:
    """The operator cancelled a sailing of the booking: the choice offered (confirmed), or the booking cancelled
    with a full refund (not confirmed yet); the sweeper retries it."""
    from bookings.flows import sailing_cancellation

    return sailing_cancellation.booking_cancel_for_sailing(booking_id=booking_id)


@shared_task(bind=True, base=BookingsTask)
def offer_disruption_task(self, *, booking_id: int, sailing_id: int) -> str | None:
    """A sailing of the booking was delayed beyond 90 minutes or cancelled: offer re-routing or a refund."""
    from bookings.flows import disruption

    offered = disruption.booking_disrupted(booking_id=booking_id, sailing_id=sailing_id)
    return offered and offered.status


@shared_task(bind=True, base=BookingsTask)
def send_manifest_task(self, *, booking_id: int) -> int:
    """A change touched the party: remote operators get the booking's passenger list again."""
    from bookings.services import booking_manifest_send

    return booking_manifest_send(booking_id=booking_id)


@shared_task
def poll_operator_sailings_task() -> dict:
    """Remote operators' new times and cancellations of sailings we have travellers on (beat)."""
    from bookings.flows.operator_reports import operator_sailings_poll

    return operator_sailings_poll()


@shared_task
def expire_disruptions_task() -> int:
    from bookings.flows import disruption

    return disruption.disruptions_expire()


@shared_task
def expire_holds_task() -> int:
    """Bookings and changes not paid in time."""
    from bookings.flows import changing, expiry

    return expiry.bookings_expire() + changing.changes_expire()


@shared_task
def retry_stalled_bookings_task() -> int:
    from bookings.flows import sweeps

    return sweeps.bookings_retry_stalled()


@shared_task
def send_departure_reminders_task() -> int:
    from bookings.flows.reminding import reminders_send

    return reminders_send()


@shared_task
def forget_personal_data_task() -> int:
    from bookings.flows.forgetting import bookings_forget_due

    return bookings_forget_due()
