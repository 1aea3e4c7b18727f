import datetime as dt

from celery import shared_task

from ferries.services import capacity_holds_expire

# Long enough for a paid booking to be confirmed with its operator first.
HOLD_GRACE = dt.timedelta(minutes=30)


@shared_task
def release_expired_capacity_holds_task() -> int:
    """Our own inventory, acting as an operator, frees holds nobody confirmed or released (beat)."""
    return capacity_holds_expire(grace=HOLD_GRACE)
