"""Tasks of our own inventory (the default queue): thin, what they run imported when they run."""

import datetime as dt

from celery import shared_task

# Long enough for a paid booking to be confirmed with its operator first.
HOLD_GRACE = dt.timedelta(minutes=30)


@shared_task
def release_expired_capacity_holds_task() -> int:
    """Our own inventory, acting as an operator, frees holds nobody confirmed or released (beat)."""
    from ferries.services import capacity_holds_expire

    return capacity_holds_expire(grace=HOLD_GRACE)


# Nothing to keep of a run every few seconds: its result is not written.
@shared_task(ignore_result=True)
def warm_popular_searches_task() -> int:
    """The most asked searches' answers made again shortly before they expire (beat)."""
    from ferries.api.views import answer_bytes
    from ferries.warming import warm_popular_searches

    return warm_popular_searches(render=answer_bytes)
