"""A change of a booking as asked (website, API, admin): read into the booking it would make, compared leg by leg with
the booking as sold, and checked against each leg's rules for changes. Nothing is written here.

The change names only what changes, in the booking request's own fields (`return_sailing_id`, `passengers`,
`vehicle`, …); what it leaves out stays as booked. `passengers`, when given, is the whole new list: add, remove or
correct a passenger by sending the list as it should be.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField

from bookings.models import Booking, BookingLeg
from bookings.orders import booking_party, leg_order
from bookings.request_fields import CountField, FareFamilyField, SailingIdField, WordField
from bookings.requests import (
    MAX_PETS,
    ONWARD_LEGS,
    BookingRequest,
    Contact,
    ExtrasSerializer,
    LegChoice,
    PassengerDetails,
    PassengersField,
    VehicleDetails,
    VehicleSerializer,
    VehiclesField,
)
from ferries.choices import Accommodation
from ferries.models import Sailing
from ferries.operators.base import LegOrder
from ferries.party import NO_EXTRAS, pet_problem
from ferries.returns import Crossing, onward_problem, return_problem
from kernel import l10n
from kernel.api import InputSerializer, add_error, validation_error

# Each leg's fields in a change are named after it: outbound_sailing_id, return_fare_family, leg_2_extras…
PREFIX = {direction: str(direction) for direction in BookingLeg.Direction}


class ChangeRefused(Exception):
    """A rule forbids the change: `code` names the rule, `message` says why, for the traveller; `leg` is the leg it is
    about (outbound or return), when it is about one."""

    def __init__(self, code: str, message: str, *, leg: str = ""):
        super().__init__(message)
        self.code, self.message, self.leg = code, message, leg


@dataclass(frozen=True)
class LegChange:
    """One leg to be sold again: the leg as booked, and the sailing and order it becomes."""

    leg: BookingLeg
    sailing: Sailing
    order: LegOrder

    @property
    def prefix(self) -> str:
        return PREFIX[self.leg.direction]


@dataclass(frozen=True)
class ChangePlan:
    """What a change does to a booking: the legs sold again, and whether the travellers' details are corrected."""

    booking: Booking
    wanted: BookingRequest
    legs: tuple[LegChange, ...]
    details_changed: bool
    summary: str


# --- reading the change -------------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="BookingChangeRequest")
class BookingChangeRequestSerializer(InputSerializer):
    """Only what changes: every field left out stays as booked."""

    outbound_sailing_id = SailingIdField(
        required=False, help_text="Another outbound sailing between the same ports (`sailing_id` of a search result)."
    )
    return_sailing_id = SailingIdField(
        required=False, help_text="Another return sailing between the same ports; only on a return booking."
    )
    outbound_fare_family = FareFamilyField(help_text="Another fare family on the outbound sailing.")
    return_fare_family = FareFamilyField(help_text="Another fare family on the return sailing.")
    outbound_extras = ExtrasSerializer(
        required=False, allow_null=True, help_text="The outbound's meals and priority boarding as they should be."
    )
    return_extras = ExtrasSerializer(
        required=False, allow_null=True, help_text="The return's meals and priority boarding as they should be."
    )
    leg_2_sailing_id = SailingIdField(
        required=False, help_text="A trip of several legs: another second-leg sailing between the same ports."
    )
    leg_3_sailing_id = SailingIdField(required=False, help_text="Another third-leg sailing between the same ports.")
    leg_4_sailing_id = SailingIdField(required=False, help_text="Another fourth-leg sailing between the same ports.")
    leg_2_fare_family = FareFamilyField(help_text="Another fare family on the second leg.")
    leg_3_fare_family = FareFamilyField(help_text="Another fare family on the third leg.")
    leg_4_fare_family = FareFamilyField(help_text="Another fare family on the fourth leg.")
    leg_2_extras = ExtrasSerializer(required=False, allow_null=True, help_text="The second leg's extras.")
    leg_3_extras = ExtrasSerializer(required=False, allow_null=True, help_text="The third leg's extras.")
    leg_4_extras = ExtrasSerializer(required=False, allow_null=True, help_text="The fourth leg's extras.")
    passengers = PassengersField(
        help_text="The whole party as it should be: add, remove or correct passengers by sending the new list."
    )
    vehicles = VehiclesField(help_text="All the vehicles as they should be; an empty list or null for none.")
    vehicle = VehicleSerializer(
        required=False, allow_null=True, help_text="One vehicle as it should be, as before `vehicles`; null for none."
    )
    accommodation = WordField(choices=Accommodation.choices, required=False)
    pets = CountField(min_value=0, max_value=MAX_PETS, required=False, help_text="Pets in all, dogs and cats included.")
    dogs = CountField(min_value=0, max_value=MAX_PETS, required=False, help_text="How many of the pets are dogs.")
    cats = CountField(min_value=0, max_value=MAX_PETS, required=False, help_text="How many of the pets are cats.")

    def to_internal_value(self, data):
        unknown = [key for key in data if key not in self.fields] if isinstance(data, Mapping) else []
        errors = {key: [_("This cannot be changed.")] for key in unknown}
        try:
            result = super().to_internal_value(data)
        except ValidationError as error:
            raise ValidationError({**errors, **error.detail}) from None
        if errors:
            raise ValidationError(errors)
        return result

    def read_field(self, field, data, values):
        if field.field_name not in data:
            raise SkipField  # left as booked
        if field.field_name == "passengers":
            return field.read(field.get_value(data), travel_day=self._outbound(values).local_day)
        return super().read_field(field, data, values)

    def _outbound(self, values: dict) -> Sailing:
        return values.get("outbound_sailing_id") or self.context["legs"][BookingLeg.Direction.OUTBOUND].sailing

    def check(self, values: dict, errors: dict) -> BookingRequest | None:
        booking, legs = self.context["booking"], self.context["legs"]
        outbound_leg, return_leg = legs[BookingLeg.Direction.OUTBOUND], legs.get(BookingLeg.Direction.RETURN)
        if not values and not errors:
            add_error(errors, "non_field_errors", _("Say what to change."))
        for direction in ("return", *ONWARD_LEGS):
            missing = (
                _("This booking is one way: book a return separately.")
                if direction == "return" and len(legs) == 1
                else _("This booking has no such leg: book it separately.")
            )
            for name in (f"{direction}_sailing_id", f"{direction}_fare_family", f"{direction}_extras"):
                if direction not in legs and name in values:
                    add_error(errors, name, missing)
        if return_leg and "return_sailing_id" in values and values["return_sailing_id"] is None:
            add_error(errors, "return_sailing_id", _("Choose the return sailing; a change keeps both legs."))
        for direction, leg in legs.items():
            name = f"{direction}_sailing_id"
            if (sailing := values.get(name)) and not _same_ports(sailing, leg.sailing):
                add_error(errors, name, _("Choose a sailing from %(origin)s to %(destination)s.") % {
                    "origin": leg.sailing.route.origin.name, "destination": leg.sailing.route.destination.name,
                })  # fmt: skip
        outbound = self._outbound(values)
        inbound = values.get("return_sailing_id") or (return_leg and return_leg.sailing)
        moved = any(f"{direction}_sailing_id" in values for direction in legs)
        if moved and inbound and not errors:
            problem = return_problem(outbound=Crossing.of_sailing(outbound), inbound=Crossing.of_sailing(inbound))
            if problem:
                add_error(errors, "return_sailing_id", problem)
        onward = [(d, values.get(f"{d}_sailing_id") or legs[d].sailing) for d in ONWARD_LEGS if d in legs]
        if moved and not errors:
            for (before, previous), (direction, sailing) in zip(
                [("outbound", outbound), *onward], onward, strict=False
            ):
                following = Crossing.of_sailing(sailing)
                if problem := onward_problem(previous=Crossing.of_sailing(previous), following=following):
                    # Named on the leg the traveller moved: the later one, unless only the earlier one moved.
                    moved_later = f"{direction}_sailing_id" in values
                    add_error(errors, f"{direction if moved_later else before}_sailing_id", problem)
        passengers = values.get("passengers")
        if passengers is None:
            passengers = booked_passengers(booking)
            if "outbound_sailing_id" in values:  # ages are read on the day of the outbound departure
                try:
                    booked = [{**vars(p), "date_of_birth": p.date_of_birth.isoformat()} for p in passengers]
                    PassengersField().read(booked, travel_day=outbound.local_day)
                except ValidationError as error:
                    errors["passengers"] = error.detail
        party = booking_party(booking)
        extras = {}
        for prefix in ("outbound", "return", *ONWARD_LEGS):
            leg = legs.get(prefix)
            booked = replace(leg_order(leg, party).extras, protection=False) if leg else None
            extras[prefix] = values.get(f"{prefix}_extras", booked)
            for meal in ("dinners", "breakfasts"):
                if extras[prefix] and getattr(extras[prefix], meal) > len(passengers):
                    add_error(errors, f"{prefix}_extras.{meal}", _("At most one for each passenger (%(n)d).") % {
                        "n": len(passengers)
                    })  # fmt: skip
        pets = _wanted_pets(values, booking)
        if "pets" not in errors and (problem := pet_problem(**pets)):
            add_error(errors, "pets", problem)
        if "vehicles" in values and "vehicle" in values:
            add_error(errors, "vehicle", _("Give the vehicles in `vehicles` only, not also in `vehicle`."))
        if errors:
            return None
        return BookingRequest(
            outbound=outbound,
            inbound=inbound,
            passengers=tuple(passengers),
            vehicles=_wanted_vehicles(values, booking),
            vehicles_field="vehicle" if "vehicle" in values else "vehicles",
            accommodation=values.get("accommodation", booking.accommodation),
            **pets,
            contact=Contact(booking.contact_name, booking.contact_email, booking.contact_phone),
            outbound_fare_family=values.get("outbound_fare_family", outbound_leg.fare_family),
            return_fare_family=values.get("return_fare_family", return_leg.fare_family if return_leg else "standard"),
            outbound_extras=extras["outbound"],
            return_extras=extras["return"] or NO_EXTRAS,
            cancellation_protection=booking.cancellation_protection,
            # A new accommodation is every leg's; else each leg keeps the one it was sold in.
            leg_accommodations=()
            if "accommodation" in values
            else tuple((direction, leg.accommodation) for direction, leg in legs.items() if leg.accommodation),
            onward=tuple(
                LegChoice(
                    direction,
                    sailing,
                    values.get(f"{direction}_fare_family", legs[direction].fare_family),
                    extras[direction],
                )
                for direction, sailing in onward
            ),
        )


def _wanted_pets(values: dict, booking: Booking) -> dict[str, int]:
    """The pets as the change makes them: the dogs and cats as sent, else as booked; in all as sent, else the pets of
    another kind as booked with the dogs and cats."""
    dogs, cats = values.get("dogs", booking.dogs), values.get("cats", booking.cats)
    others = booking.pets - booking.dogs - booking.cats
    return {"pets": values.get("pets", others + dogs + cats), "dogs": dogs, "cats": cats}


def _wanted_vehicles(values: dict, booking: Booking) -> tuple[VehicleDetails, ...]:
    if "vehicles" in values:
        return values["vehicles"]
    if "vehicle" in values:
        return (values["vehicle"],) if values["vehicle"] else ()
    return booked_vehicles(booking)


def _same_ports(new: Sailing, old: Sailing) -> bool:
    return (new.route.origin_id, new.route.destination_id) == (old.route.origin_id, old.route.destination_id)


def booked_legs(booking: Booking) -> dict[str, BookingLeg]:
    legs = booking.legs.select_related(
        "sailing__route__origin", "sailing__route__destination", "sailing__route__operator", "sailing__vessel"
    )
    return {leg.direction: leg for leg in legs}


def booked_passengers(booking: Booking) -> list[PassengerDetails]:
    """The passengers as booked, every detail kept (a change that leaves them out keeps them as they are)."""
    names = [field.name for field in fields(PassengerDetails)]
    return [PassengerDetails(**{name: getattr(p, name) for name in names}) for p in booking.passengers.all()]


def booked_vehicles(booking: Booking) -> tuple[VehicleDetails, ...]:
    names = [field.name for field in fields(VehicleDetails)]
    return tuple(VehicleDetails(**{name: getattr(v, name) for name in names}) for v in booking.vehicles.all())


def read_change(booking: Booking, data) -> BookingRequest:
    """The booking as the change `data` would make it, or a ValidationError naming each field in error;
    ChangeRefused for a booking whose outbound leg was cancelled (only its return travels: cancel or keep it)."""
    legs = booked_legs(booking)
    if BookingLeg.Direction.OUTBOUND not in legs:
        raise ChangeRefused(
            "booking_not_changeable", _("The outbound sailing of this booking was cancelled: its return can be kept "
                                        "or cancelled, not changed.")
        )  # fmt: skip
    serializer = BookingChangeRequestSerializer(context={"booking": booking, "legs": legs})
    try:
        return serializer.run_validation(data)
    except ValidationError as error:
        raise validation_error(error) from None


# --- what the change does, and whether the rules allow it ---------------------------------------------------------


def change_plan(
    booking: Booking, wanted: BookingRequest, *, now: dt.datetime | None = None, rules: bool = True
) -> ChangePlan:
    """The legs the change sells again and the details it corrects; ChangeRefused when a rule forbids it (the fare's
    rules only with `rules`: a vehicle measured at the quay is not a traveller's change)."""
    now = now or timezone.now()
    if booking.status != Booking.Status.CONFIRMED:
        raise ChangeRefused(
            "booking_not_changeable",
            _("Only a confirmed booking can be changed; this one is %(status)s.")
            % {"status": booking.get_status_display().lower()},
        )
    legs = booked_legs(booking)
    party = booking_party(booking)
    changed = []
    for direction, leg in legs.items():
        sailing = wanted.leg(direction).sailing
        order = LegOrder(wanted.leg_party(direction), wanted.fare_family(direction), wanted.extras(direction))
        if sailing.pk != leg.sailing_id or order != leg_order(leg, party):
            if rules:
                check_leg_rules(leg, now=now)
            changed.append(LegChange(leg, sailing, order))
    details_changed = list(wanted.passengers) != booked_passengers(booking) or wanted.vehicles != booked_vehicles(
        booking
    )
    if not changed and not details_changed:
        raise ChangeRefused("no_change", _("This is the booking as it stands: nothing to change."))
    if not changed and all(leg.sailing.departs_at <= now for leg in legs.values()):
        raise ChangeRefused("change_cutoff_passed", _("Every sailing of this booking has left."))
    return ChangePlan(booking, wanted, tuple(changed), details_changed, _summary(booking, wanted, changed))


def check_leg_rules(leg: BookingLeg, *, now: dt.datetime) -> None:
    """The leg's fare family, as sold, allows one more change now; ChangeRefused naming the rule otherwise."""
    rules, prefix = leg.change_policy, PREFIX[leg.direction]
    names = {"fare": leg.fare_family_name, "leg": leg.get_direction_display().lower()}
    if not rules["allowed"] or not rules["max_changes"]:
        raise ChangeRefused(
            "fare_forbids_changes", _("The %(fare)s fare of the %(leg)s sailing cannot be changed.") % names, leg=prefix
        )
    cutoff = leg.sailing.departs_at - dt.timedelta(hours=rules["until_hours"])
    if now > cutoff:
        when = l10n.day_year_time(timezone.localtime(cutoff, leg.sailing.route.origin.tz))
        raise ChangeRefused(
            "change_cutoff_passed",
            _("The %(fare)s fare of the %(leg)s sailing could be changed until %(hours)d hours before departure "
              "(%(when)s).") % {**names, "hours": rules["until_hours"], "when": when},
            leg=prefix,
        )  # fmt: skip
    if leg.changes_made >= rules["max_changes"]:
        raise ChangeRefused(
            "max_changes_reached",
            _("The %(fare)s fare of the %(leg)s sailing allows %(n)d changes, and they have been made.")
            % {**names, "n": rules["max_changes"]},
            leg=prefix,
        )


def _summary(booking: Booking, wanted: BookingRequest, changed: list[LegChange]) -> str:
    """What the change does, in a line for the booking's history (staff read it in the admin)."""
    parts = []
    for item in changed:
        old, new = item.leg.sailing, item.sailing
        label = item.leg.get_direction_display()
        if new.pk != old.pk:
            parts.append(f"{label}: {old.ref} {_when(old)} → {new.ref} {_when(new)}")
        if item.order.fare_family != item.leg.fare_family:
            parts.append(f"{label}: fare {item.leg.fare_family} → {item.order.fare_family}")
    old_party = booking_party(booking)
    if old_party.persons != wanted.party.persons:
        parts.append(f"passengers {old_party.persons} → {wanted.party.persons}")
    elif list(wanted.passengers) != booked_passengers(booking):
        parts.append("passenger details corrected")
    booked = booked_vehicles(booking)
    if len(wanted.vehicles) != len(booked):
        parts.append(f"vehicles {len(booked)} → {len(wanted.vehicles)}")
    elif wanted.vehicles != booked:
        parts.append("vehicle changed" if len(booked) == 1 else "vehicles changed")
    if wanted.accommodation != booking.accommodation:
        parts.append(f"accommodation {booking.accommodation} → {wanted.accommodation}")
    if (wanted.pets, wanted.dogs, wanted.cats) != (booking.pets, booking.dogs, booking.cats):
        parts.append(f"pets {booking.pets} → {wanted.pets}")
    if any(item.order.extras != leg_order(item.leg, old_party).extras for item in changed):
        parts.append("extras changed")
    return "; ".join(parts)[:255] or "details corrected"


def _when(sailing: Sailing) -> str:
    return timezone.localtime(sailing.departs_at, sailing.route.origin.tz).strftime("%Y-%m-%d %H:%M")
