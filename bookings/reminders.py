"""Departure reminders: one the day before each leg and one on the day, never twice, never for a booking that does
not travel.

The first is due 24 hours before departure. The second is due 2 hours before departure — or, where check-in closes
earlier than an hour before that (Tunis, Algiers: 3 hours before), an hour before check-in closes, so it still gives
the traveller time to get there. A reminder is not sent for a window the booking was made in (its confirmation just
said it all), nor once check-in has closed. Only the latest due is sent: a late beat does not send both at once.

`BookingLeg.reminded` records the latest sent; it is claimed with a conditional UPDATE in the transaction that queues
the e-mail, and the outbox's unique key (window, leg, sailing) is the backstop.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Q
from django.utils import timezone

from bookings.models import Booking, BookingLeg
from ferries.models import Operator, OperatorTerminal, Port, Sailing

DAY_BEFORE, ON_THE_DAY = "24h", "2h"
DAY_BEFORE_AHEAD = dt.timedelta(hours=24)
ON_THE_DAY_AHEAD = dt.timedelta(hours=2)
BEFORE_CHECK_IN_CLOSES = dt.timedelta(hours=1)
# What comes after what: a leg reminded on the day is not reminded the day before any more.
SENT_BEFORE = {DAY_BEFORE: {""}, ON_THE_DAY: {"", DAY_BEFORE}}


@dataclass(frozen=True)
class Reminder:
    leg_id: int
    booking_id: int
    window: str
    previous: str

    def key(self, *, direction: str, sailing_id: int) -> str:
        return f"{self.window}:{direction}:{sailing_id}"


def reminder_due(*, leg: BookingLeg, now: dt.datetime) -> str | None:
    """The window whose reminder the leg is due now, if any (the leg's sailing and booking loaded)."""
    sailing = leg.sailing
    closes = sailing.check_in_closes_at
    on_the_day = min(sailing.departs_at - ON_THE_DAY_AHEAD, closes - BEFORE_CHECK_IN_CLOSES)
    day_before = sailing.departs_at - DAY_BEFORE_AHEAD
    booked = leg.booking.created_at
    if now >= closes:
        return None
    if now >= on_the_day:
        return ON_THE_DAY if booked < on_the_day and leg.reminded in SENT_BEFORE[ON_THE_DAY] else None
    if now >= day_before:
        return DAY_BEFORE if booked < day_before and leg.reminded in SENT_BEFORE[DAY_BEFORE] else None
    return None


def reminders_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[Reminder]:
    """The reminders due now, soonest departure first: the legs of confirmed bookings on scheduled sailings that leave
    within a day and were not reminded on the day yet."""
    now = now or timezone.now()
    on_the_day_horizon = now + _furthest_on_the_day()
    legs = (
        BookingLeg.objects.filter(
            booking__status=Booking.Status.CONFIRMED,
            sailing__status=Sailing.Status.SCHEDULED,
            sailing__departs_at__gt=now,
            sailing__departs_at__lte=max(now + DAY_BEFORE_AHEAD, on_the_day_horizon),
        )
        # Reminded the day before, a leg waits quietly until its reminder on the day can be due.
        .filter(Q(reminded="") | Q(reminded=DAY_BEFORE, sailing__departs_at__lte=on_the_day_horizon))
        .select_related("booking", "sailing__route__origin", "sailing__route__operator")
        .order_by("sailing__departs_at", "pk")
    )
    due = []
    for leg in legs.iterator(chunk_size=200):
        window = reminder_due(leg=leg, now=now)
        if window:
            due.append(Reminder(leg_id=leg.pk, booking_id=leg.booking_id, window=window, previous=leg.reminded))
            if len(due) == limit:
                break
    return due


def _furthest_on_the_day() -> dt.timedelta:
    """How long before departure the earliest reminder on the day can be due: where check-in closes earliest."""
    minutes = [
        model.objects.aggregate(longest=Max("check_in_closes_minutes"))["longest"] or 0
        for model in (Operator, Port, OperatorTerminal)
    ]
    return dt.timedelta(minutes=max(minutes)) + BEFORE_CHECK_IN_CLOSES


def reminder_claim(*, reminder: Reminder) -> bool:
    """Record the reminder as sent; False when another beat tick (or a change of the leg) came first."""
    claimed = BookingLeg.objects.filter(pk=reminder.leg_id, reminded=reminder.previous).update(reminded=reminder.window)
    return claimed == 1
