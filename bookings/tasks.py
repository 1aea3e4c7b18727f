"""Tasks of the bookings queue: thin — load by id, call a service or a workflow. Retry budget on the decorator."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from bookings import services, workflows
from bookings.availability import availability_check
from ferries.errors import OperatorError, OperatorRefused
from maritime.celery import failed_for_good

# Worth another try: an operator or our database briefly unreachable.
TRANSIENT_ERRORS = (OperatorError, OperationalError, InterfaceError)
# Per worker: a sweep after an outage may queue many confirmations at once, and operators' APIs are small.
OPERATOR_RATE_LIMIT = "60/m"


@shared_task(bind=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=180, max_retries=3)
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
    """The brief's availability check; callers wait for it with `.get(timeout=10)` before taking payment."""
    return availability_check(
        operator=operator,
        sailing_id=sailing_id,
        passenger_count=passenger_count,
        vehicle_count=vehicle_count,
        departure_time=departure_time,
    )


class ConfirmationTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # The retry budget is spent (or the operator refused): the booking cannot stay "paid" forever.
        if not failed_for_good(self, exc, TRANSIENT_ERRORS):
            return
        workflows.booking_confirmation_failed(booking_id=kwargs["booking_id"], reason=f"{type(exc).__name__}: {exc}")


@shared_task(
    bind=True,
    base=ConfirmationTask,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=180,
    max_retries=3,
    throws=(OperatorRefused,),
    rate_limit=OPERATOR_RATE_LIMIT,
)
def confirm_booking_with_operator_task(self, *, booking_id: int) -> str:
    return workflows.booking_confirm(booking_id=booking_id).status


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=180,
    max_retries=3,
    rate_limit=OPERATOR_RATE_LIMIT,
)
def release_booking_holds_task(self, *, booking_id: int) -> None:
    services.booking_release_remote_legs(booking_id=booking_id)


@shared_task(bind=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=180, max_retries=3)
def cancel_booking_for_sailing_task(self, *, booking_id: int) -> str | None:
    """The operator cancelled a sailing of the booking: cancel it with a full refund (the sweeper retries it)."""
    cancellation = workflows.booking_cancel_for_sailing(booking_id=booking_id)
    return cancellation and cancellation.booking.status


@shared_task
def expire_holds_task() -> int:
    return workflows.bookings_expire()


@shared_task
def retry_stalled_bookings_task() -> int:
    return workflows.bookings_retry_stalled()
