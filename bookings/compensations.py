"""Compensation for arriving late (Regulation (EU) No 1177/2010, article 19): a share of the leg's price, by how late
the sailing arrives against its timetable and how long the crossing is scheduled to take.

| scheduled crossing | 25 % from | 50 % from |
|---|---|---|
| up to 4 hours | 1 hour late | 2 hours late |
| over 4, up to 8 hours | 2 hours | 4 hours |
| over 8, up to 24 hours | 3 hours | 6 hours |
| over 24 hours | 6 hours | 12 hours |

Below 6 euros nothing is paid (article 19(4)). The operator may owe nothing where the delay was caused by weather
endangering the ship's safe operation or by extraordinary circumstances (article 20(4)): staff judge that, so each
compensation is proposed to them, and paid (as a refund to the card that paid) only once they approve it.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingLeg, Compensation
from bookings.services import booking_lock
from ferries.models import Sailing

# (scheduled crossing up to, in hours; None: any longer) → (25 % from, 50 % from), in hours late.
THRESHOLDS = [(4, (1, 2)), (8, (2, 4)), (24, (3, 6)), (None, (6, 12))]
MINIMUM_MINOR = {"EUR": 600}  # article 19(4): 6 euros


class CompensationRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def compensation_percent(*, scheduled_minutes: int, late_minutes: int) -> int:
    """The share of the ticket price due for arriving `late_minutes` late on a crossing scheduled to take
    `scheduled_minutes`: 0, 25 or 50."""
    for up_to, (quarter, half) in THRESHOLDS:
        if up_to is None or scheduled_minutes <= up_to * 60:
            if late_minutes >= half * 60:
                return 50
            return 25 if late_minutes >= quarter * 60 else 0
    return 0  # unreachable: the last band has no bound


@dataclass(frozen=True)
class Due:
    leg: BookingLeg
    late_minutes: int
    percent: int
    amount_minor: int


def compensation_due(*, leg: BookingLeg, sailing: Sailing) -> Due | None:
    """What the leg's travellers are owed for the sailing's late arrival, if anything worth paying."""
    late = sailing.arrival_delay_minutes
    scheduled = int((sailing.timetabled_arrives_at - sailing.timetabled_departs_at).total_seconds() // 60)
    percent = compensation_percent(scheduled_minutes=scheduled, late_minutes=late)
    amount = leg.price_minor * percent // 100
    if not percent or amount < MINIMUM_MINOR.get(leg.booking.currency, 0):
        return None
    return Due(leg, late, percent, amount)


def compensations_propose(*, sailing_id: int) -> list[Compensation]:
    """Propose to staff, or bring up to date while still proposed, the compensation of every confirmed booking on the
    sailing for its late arrival (caller's transaction). A proposal no longer due (the sailing caught up) is
    withdrawn. Answers the proposals as they stand."""
    sailing = Sailing.objects.get(pk=sailing_id)
    proposed = []
    legs = BookingLeg.objects.filter(sailing_id=sailing_id, booking__status=Booking.Status.CONFIRMED).select_related(
        "booking"
    )
    for leg in legs:
        due = compensation_due(leg=leg, sailing=sailing)
        existing = Compensation.objects.filter(booking=leg.booking, direction=leg.direction, sailing=sailing).first()
        if existing and existing.status != Compensation.Status.PROPOSED:
            continue  # decided: a later retiming does not reopen it
        if due is None:
            if existing:
                existing.delete()
            continue
        values = {"late_minutes": due.late_minutes, "percent": due.percent, "amount_minor": due.amount_minor,
                  "currency": leg.booking.currency}  # fmt: skip
        compensation, _created = Compensation.objects.update_or_create(
            booking=leg.booking, direction=leg.direction, sailing=sailing, defaults=values
        )
        proposed.append(compensation)
    return proposed


def compensation_decide(*, compensation_id: int, approve: bool, actor: str, note: str = "") -> Compensation:
    """Staff approve (to be paid) or reject (with the reason) a proposed compensation, under the booking's lock;
    CompensationRefused when it was decided already."""
    with transaction.atomic():
        booking_id = Compensation.objects.values_list("booking_id", flat=True).get(pk=compensation_id)
        booking_lock(booking_id=booking_id)
        compensation = Compensation.objects.select_for_update().get(pk=compensation_id)
        if compensation.status != Compensation.Status.PROPOSED:
            raise CompensationRefused("already_decided", f"{compensation} is {compensation.get_status_display()}")
        compensation.status = Compensation.Status.APPROVED if approve else Compensation.Status.REJECTED
        compensation.decided_by, compensation.decided_at, compensation.note = actor[:64], timezone.now(), note[:255]
        compensation.save(update_fields=["status", "decided_by", "decided_at", "note"])
    return compensation


def compensation_mark_paid(*, compensation: Compensation, refunded_minor: int) -> None:
    """The refund for it was asked (caller's transaction)."""
    Compensation.objects.filter(pk=compensation.pk).update(status=Compensation.Status.PAID, paid_minor=refunded_minor)
