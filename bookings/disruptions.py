"""Disruptions: a leg whose sailing the operator cancelled, or delayed beyond what passengers must accept, and the
choice the traveller is given (Regulation (EU) No 1177/2010, articles 16 to 18).

- The operator cancels a sailing, or its departure is delayed more than 90 minutes: each booking on it is offered
  re-routing on the next sailing between the same ports with room for the whole party and vehicle — its places held
  for the traveller, at no extra cost, the leg keeping the price and conditions it was sold with — or a refund of
  that leg (all it was sold for). A delayed leg may also be kept. Without a choice by the deadline, a cancelled leg
  is refunded and a delayed one kept.
- A leg already travelled is never refunded: only the disrupted leg is.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.change_requests import PREFIX, ChangePlan, ChangeRefused, LegChange, read_change
from bookings.changes import change_quote
from bookings.models import Booking, BookingChange, BookingLeg, Disruption
from bookings.orders import booking_party, leg_order
from bookings.services import OperatorUnavailable, booking_lock
from ferries.models import Sailing
from ferries.selectors import bookable_after

logger = logging.getLogger(__name__)

# Passengers are offered the choice when departure is delayed more than this (article 18).
DELAY_CHOICE_MINUTES = 90
# Re-routing looks this far ahead of the disrupted sailing's timetabled departure, soonest first.
REROUTE_DAYS = 3
REROUTE_CANDIDATES = 6
# The choice stays open this long at most (the re-routing's places held as long).
CHOICE_HOURS = 24


class DisruptionRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Offer:
    disruption: Disruption
    created: bool


def disruption_cause(sailing: Sailing) -> str | None:
    """Why the sailing's travellers are offered a choice, if they are."""
    if sailing.status == Sailing.Status.CANCELLED:
        return Disruption.Cause.CANCELLED
    if sailing.departure_delay_minutes > DELAY_CHOICE_MINUTES:
        return Disruption.Cause.DELAYED
    return None


def reroute_candidates(*, leg: BookingLeg, sailing: Sailing) -> list[Sailing]:
    """Sailings between the leg's ports on sale from now, leaving from the disrupted sailing's timetabled departure
    to REROUTE_DAYS after it, soonest first (the delayed sailing itself excluded)."""
    route = sailing.route
    start = max(bookable_after(), sailing.timetabled_departs_at)
    window = {
        "departs_at__gte": start,
        "departs_at__lte": sailing.timetabled_departs_at + dt.timedelta(days=REROUTE_DAYS),
    }
    return list(
        Sailing.objects.filter(
            route__origin=route.origin_id,
            route__destination=route.destination_id,
            route__active=True,
            status=Sailing.Status.SCHEDULED,
            **window,
        )
        .exclude(pk=sailing.pk)
        .select_related("route__origin", "route__destination", "route__operator", "vessel")
        .order_by("departs_at", "pk")[:REROUTE_CANDIDATES]
    )


def disruption_offer(*, booking_id: int, sailing_id: int, actor: str = "operator") -> Offer | None:
    """Offer the booking's traveller the choice for its leg on the disrupted sailing, once: re-routing held on the
    first candidate with room (remote operators asked outside any transaction), and the refund. None when the
    booking has no confirmed leg on it, or the sailing is not disrupted (any more)."""
    booking = Booking.objects.filter(pk=booking_id, status=Booking.Status.CONFIRMED).first()
    leg = booking and booking.legs.select_related("sailing__route").filter(sailing_id=sailing_id).first()
    if leg is None or (cause := disruption_cause(leg.sailing)) is None:
        return None
    existing = Disruption.objects.filter(booking=booking, direction=leg.direction, sailing_id=sailing_id).first()
    if existing:
        return Offer(existing, created=False)
    change, note = _reroute(booking, leg, actor)
    deadline = change.expires_at if change else timezone.now() + dt.timedelta(hours=CHOICE_HOURS)
    if cause == Disruption.Cause.DELAYED:
        deadline = min(deadline, max(leg.sailing.departs_at, timezone.now()))
    try:
        with transaction.atomic():
            disruption = Disruption.objects.create(
                booking=booking, direction=leg.direction, sailing_id=sailing_id, cause=cause, reroute=change,
                note=note, deadline=deadline,
            )  # fmt: skip
    except IntegrityError:  # offered meanwhile by another worker: its offer stands (this hold expires by itself)
        return Offer(Disruption.objects.get(booking=booking, direction=leg.direction, sailing_id=sailing_id), False)
    return Offer(disruption, created=True)


def _reroute(booking: Booking, leg: BookingLeg, actor: str) -> tuple[BookingChange | None, str]:
    """The re-routing held on the first candidate with room, or None with the reason."""
    candidates = reroute_candidates(leg=leg, sailing=leg.sailing)
    party = booking_party(booking)
    for candidate in candidates:
        prefix = PREFIX[leg.direction]
        data = {f"{prefix}_sailing_id": candidate.pk}
        try:
            wanted = read_change(booking, data)
        except (ValidationError, ChangeRefused):
            continue  # e.g. it would arrive after the return leaves
        summary = _("Re-routed: %(leg)s on %(ref)s") % {"leg": leg.get_direction_display(), "ref": candidate.ref}
        plan = ChangePlan(booking, wanted, (LegChange(leg, candidate, leg_order(leg, party)),), False, summary)
        minutes = _hold_minutes(candidate)
        try:
            change = change_quote(plan=plan, wanted=data, actor=actor, kind=BookingChange.Kind.REROUTED,
                                  minutes=minutes)  # fmt: skip
        except (ChangeRefused, OperatorUnavailable) as refusal:
            logger.info("booking %s: no re-routing on %s: %s", booking.reference, candidate.ref, refusal)
            continue
        return change, ""
    return None, _("No sailing in the next %(days)d days has room for the whole party.") % {"days": REROUTE_DAYS}


def _hold_minutes(candidate: Sailing) -> int:
    """The re-routing is held for CHOICE_HOURS, or until an hour before the candidate leaves if that is sooner."""
    until = min(timezone.now() + dt.timedelta(hours=CHOICE_HOURS), candidate.departs_at - dt.timedelta(hours=1))
    return max(int((until - timezone.now()).total_seconds() // 60), 15)


def disruption_lock(*, disruption_id: int) -> Disruption:
    """The disruption, its booking's row locked first (the order every flow keeps), then its own."""
    booking_id = Disruption.objects.values_list("booking_id", flat=True).get(pk=disruption_id)
    booking_lock(booking_id=booking_id)
    return Disruption.objects.select_for_update(of=("self",)).select_related("booking", "reroute").get(pk=disruption_id)


def disruption_check_choice(disruption: Disruption, choice: str) -> None:
    """DisruptionRefused unless the choice is open and allowed for this disruption."""
    if not disruption.is_open:
        raise DisruptionRefused("already_decided", _("This choice was made already: %(status)s.") % {
            "status": disruption.get_status_display().lower()})  # fmt: skip
    if choice == "reroute" and (disruption.reroute is None or not disruption.reroute.is_pending):
        raise DisruptionRefused("no_reroute", _("No re-routing is held for this booking; choose the refund."))
    if choice == "keep" and disruption.cause != Disruption.Cause.DELAYED:
        raise DisruptionRefused("sailing_cancelled", _("The sailing is cancelled: it cannot be kept."))


def disruption_decide(*, disruption: Disruption, status: str, actor: str) -> Disruption:
    """Record the choice made (caller's transaction, disruption locked)."""
    disruption.status, disruption.decided_by, disruption.decided_at = status, actor[:64], timezone.now()
    disruption.save(update_fields=["status", "decided_by", "decided_at"])
    return disruption


def disruptions_overdue(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    """Open choices past their deadline."""
    now = now or timezone.now()
    return list(
        Disruption.objects.filter(status=Disruption.Status.OFFERED, deadline__lte=now)
        .order_by("deadline")
        .values_list("pk", flat=True)[:limit]
    )
