"""Check-in and boarding at the quay: an agent working one sailing scans an e-ticket (or types a reference), is told
whether it boards this sailing and why not, then records each passenger and the vehicles checked in, then boarded.

Every scan is recorded (TicketScan): the record of who came through, and how a second scan is recognised. Check-in
and boarding are rows per traveller and leg (Boarding), written under the booking's row lock, so two agents
recording the same party at once write each row once.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings.converters import REFERENCE
from bookings.models import Boarding, Booking, BookingLeg, BookingVehicle, Passenger, TicketScan
from bookings.services import booking_lock
from bookings.tickets import TicketRefused, ticket_check, ticket_read
from ferries.models import Sailing

Outcome = TicketScan.Outcome
# What the agent reads for each outcome; the valid ones say nothing more than the party on screen does.
MESSAGES = {
    Outcome.VALID: gettext_lazy("Valid for this sailing."),
    Outcome.SCANNED_BEFORE: gettext_lazy("Scanned before: everyone on this ticket is already checked in."),
    Outcome.WRONG_SAILING: gettext_lazy("Not for this sailing."),
    Outcome.REPLACED: gettext_lazy("Old e-tickets: the booking was changed since. Ask for the new e-tickets."),
    Outcome.CANCELLED: gettext_lazy("Cancelled: this booking, or this leg of it, does not travel."),
    Outcome.NOT_CONFIRMED: gettext_lazy("Not confirmed: this booking has no e-tickets."),
    Outcome.INVALID: gettext_lazy("Not one of our e-tickets: the code is damaged or made up."),
    Outcome.UNKNOWN: gettext_lazy("No booking has this reference."),
}
BOARDS = {Outcome.VALID, Outcome.SCANNED_BEFORE}
REFUSALS = {"replaced": Outcome.REPLACED, "cancelled": Outcome.CANCELLED, "not_confirmed": Outcome.NOT_CONFIRMED}


class BoardingRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class AtTheQuay:
    """What the agent sees after a scan: the outcome, and the party of the leg on this sailing when there is one."""

    scan: TicketScan
    booking: Booking | None = None
    leg: BookingLeg | None = None
    other_legs: list[BookingLeg] = field(default_factory=list)  # the booking's legs on other sailings
    boardings: dict[int, Boarding] = field(default_factory=dict)  # passenger id → row
    vehicle_boardings: dict[int, Boarding] = field(default_factory=dict)  # vehicle id → row
    notes: list[str] = field(default_factory=list)

    @property
    def boards(self) -> bool:
        return self.scan.outcome in BOARDS

    @property
    def message(self) -> str:
        return str(MESSAGES[self.scan.outcome])

    @property
    def passengers(self) -> list[tuple[Passenger, Boarding | None]]:
        return [(p, self.boardings.get(p.pk)) for p in self.booking.passengers.all()] if self.leg else []

    @property
    def vehicles(self) -> list[tuple[BookingVehicle, Boarding | None]]:
        return [(v, self.vehicle_boardings.get(v.pk)) for v in self.booking.vehicles.all()] if self.leg else []

    @property
    def vehicle(self) -> BookingVehicle | None:
        """The first of the party's vehicles, the one measured when none is named."""
        return self.vehicles[0][0] if self.vehicles else None

    @property
    def vehicles_boarded(self) -> bool:
        return bool(self.vehicles) and all(row and row.boarded_at for _v, row in self.vehicles)


def ticket_scan(*, sailing_id: int, text: str, agent: str) -> TicketScan:
    """Record what the e-ticket's code (or a typed reference) means for this sailing."""
    text = text.strip()
    typed = len(text) <= 12 and bool(REFERENCE.fullmatch(text))
    booking, direction, outcome = _read(sailing_id, text, typed)
    return TicketScan.objects.create(
        sailing_id=sailing_id, booking=booking, direction=direction, typed=typed, outcome=outcome, agent=agent
    )


def _read(sailing_id: int, text: str, typed: bool) -> tuple[Booking | None, str, str]:
    if typed:
        booking = Booking.objects.filter(reference=text.upper()).first()
        if booking is None:
            return None, "", Outcome.UNKNOWN
        # The leg on this sailing, else any: a typed reference is checked as the booking's current e-tickets.
        leg = booking.legs.filter(sailing_id=sailing_id).first() or booking.legs.first()
        if leg is None:
            return booking, "", Outcome.CANCELLED
        direction, version = leg.direction, booking.tickets_version
    else:
        try:
            data = ticket_read(text)
        except TicketRefused:
            return None, "", Outcome.INVALID
        booking = Booking.objects.filter(reference=data["booking"]).first()
        if booking is None:
            return None, "", Outcome.INVALID
        direction, version = data["leg"], data["v"]
    try:
        ticket_check(booking=booking, direction=direction, version=version)
    except TicketRefused as refusal:
        return booking, direction, REFUSALS.get(refusal.code, Outcome.INVALID)
    leg = booking.legs.get(direction=direction)
    if leg.sailing_id != sailing_id:
        return booking, direction, Outcome.WRONG_SAILING
    return booking, direction, Outcome.SCANNED_BEFORE if _all_checked_in(leg) else Outcome.VALID


def _all_checked_in(leg: BookingLeg) -> bool:
    expected = leg.booking.passengers.count() + leg.booking.vehicles.count()
    return leg.boardings.count() >= expected


def at_the_quay(*, scan: TicketScan, now: dt.datetime | None = None) -> AtTheQuay:
    """The scan with the booking's party and what is recorded of it on this sailing, and notes for the agent."""
    view = AtTheQuay(scan=scan)
    if scan.booking_id is None:
        return view
    view.booking = Booking.objects.prefetch_related("passengers", "vehicles").get(pk=scan.booking_id)
    legs = list(view.booking.legs.select_related("sailing__route__origin", "sailing__route__destination"))
    view.leg = next((leg for leg in legs if leg.sailing_id == scan.sailing_id and scan.outcome in BOARDS), None)
    view.other_legs = [leg for leg in legs if leg.sailing_id != scan.sailing_id]
    if view.leg is None:
        return view
    rows = list(view.leg.boardings.all())
    view.boardings = {b.passenger_id: b for b in rows if b.passenger_id}
    view.vehicle_boardings = {b.vehicle_id: b for b in rows if b.vehicle_id}
    sailing = view.leg.sailing
    now = now or timezone.now()
    if now > sailing.check_in_closes_at:
        closes = timezone.localtime(sailing.check_in_closes_at, sailing.route.origin.tz)
        view.notes.append(_("Check-in closed at %(time)s.") % {"time": closes.strftime("%H:%M")})
    if view.leg.changes_made or view.booking.tickets_version > 1:
        view.notes.append(_("Changed after booking: only the latest e-tickets are valid."))
    return view


def travellers_check_in(*, leg_id: int, passenger_ids: list[int], vehicle: bool, agent: str) -> list[Boarding]:
    """Record these passengers (and the party's vehicles) checked in on the leg; those already checked in stay as
    they were. Raises BoardingRefused when the leg does not travel or a passenger is not on the booking."""
    with transaction.atomic():
        leg = _leg_for_boarding(leg_id, passenger_ids, vehicle)
        done = set(leg.boardings.values_list("passenger_id", "vehicle_id"))
        now = timezone.now()
        wanted = _travellers(leg, passenger_ids, vehicle)
        rows = [
            Boarding(leg=leg, passenger_id=pid, vehicle_id=vid, checked_in_at=now, checked_in_by=agent)
            for pid, vid in dict.fromkeys(wanted)
            if (pid, vid) not in done
        ]
        try:
            Boarding.objects.bulk_create(rows)
        except IntegrityError as exc:  # the booking's lock makes this a bug, not a race: say so loudly
            raise BoardingRefused("conflict", _("Recorded twice; scan again.")) from exc
        return list(leg.boardings.all())


def travellers_board(*, leg_id: int, passenger_ids: list[int], vehicle: bool, agent: str) -> list[Boarding]:
    """Record these passengers (and the party's vehicles) boarded; a traveller not checked in is refused
    (BoardingRefused), one already boarded stays as it was."""
    with transaction.atomic():
        leg = _leg_for_boarding(leg_id, passenger_ids, vehicle)
        wanted = set(_travellers(leg, passenger_ids, vehicle))
        checked_in = {(b.passenger_id, b.vehicle_id): b for b in leg.boardings.all()}
        missing = wanted - checked_in.keys()
        if missing:
            raise BoardingRefused("not_checked_in", _("Check in first: %(who)s.") % {"who": _who(leg, missing)})
        now = timezone.now()
        Boarding.objects.filter(leg=leg, boarded_at__isnull=True, pk__in=[checked_in[p].pk for p in wanted]).update(
            boarded_at=now, boarded_by=agent
        )
        return list(leg.boardings.all())


def _travellers(leg: BookingLeg, passenger_ids: list[int], vehicle: bool) -> list[tuple[int | None, int | None]]:
    """(passenger id, vehicle id) of each traveller recorded: the passengers chosen, and every vehicle of the party
    when `vehicle` (they come through the gate together)."""
    vehicles = leg.booking.vehicles.values_list("pk", flat=True) if vehicle else []
    return [(pid, None) for pid in passenger_ids] + [(None, vid) for vid in vehicles]


def _leg_for_boarding(leg_id: int, passenger_ids: list[int], vehicle: bool) -> BookingLeg:
    leg = BookingLeg.objects.select_related("sailing").get(pk=leg_id)
    booking = booking_lock(booking_id=leg.booking_id)
    if booking.status != Booking.Status.CONFIRMED or not BookingLeg.objects.filter(pk=leg_id).exists():
        raise BoardingRefused("cancelled", str(MESSAGES[Outcome.CANCELLED]))
    if leg.sailing.status != Sailing.Status.SCHEDULED:
        raise BoardingRefused("sailing_not_scheduled", _("This sailing is %(status)s.") % {
            "status": leg.sailing.get_status_display().lower()})  # fmt: skip
    if not passenger_ids and not vehicle:
        raise BoardingRefused("nobody", _("Choose who to record."))
    if set(passenger_ids) - set(booking.passengers.values_list("pk", flat=True)):
        raise BoardingRefused("not_on_booking", _("A passenger chosen is not on this booking."))
    if vehicle and not booking.vehicles.exists():
        raise BoardingRefused("no_vehicle", _("This booking has no vehicle."))
    leg.booking = booking
    return leg


def _who(leg: BookingLeg, ids: set[tuple[int | None, int | None]]) -> str:
    names = [str(p) for p in leg.booking.passengers.filter(pk__in=[pid for pid, _vid in ids if pid])]
    vehicles = [str(v) for v in leg.booking.vehicles.filter(pk__in=[vid for _pid, vid in ids if vid])]
    return ", ".join(names + vehicles)


def leg_boarding_status(*, leg: BookingLeg) -> dict:
    """How far the leg's party is: counts of travellers checked in and boarded (the vehicles counted apart)."""
    rows = list(leg.boardings.all())
    people = [row for row in rows if row.passenger_id]
    vehicles = [row for row in rows if row.vehicle_id]
    count = leg.booking.vehicles.count()
    return {
        "passengers": leg.booking.passengers.count(),
        "checked_in": len(people),
        "boarded": sum(1 for row in people if row.boarded_at),
        "vehicle": bool(count),
        "vehicles": count,
        "vehicle_checked_in": bool(count) and len(vehicles) >= count,
        "vehicle_boarded": bool(count) and sum(1 for row in vehicles if row.boarded_at) >= count,
    }
