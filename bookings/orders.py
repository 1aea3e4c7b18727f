"""What a booking asks of its operators, read back from what it holds: its party, and each leg's order (fare
family and extras) — to take its places again as they were sold."""

from dataclasses import replace

from bookings.models import Booking, BookingLeg
from ferries.choices import Extra, PassengerType
from ferries.operators.base import MANIFEST_PASSENGER, MANIFEST_VEHICLE_FIELDS, LegOrder, PartyManifest
from ferries.party import Extras, Party, Vehicle


def booking_party(booking: Booking) -> Party:
    """The party a booking holds places for, as the operators see it."""
    types = [passenger.type for passenger in booking.passengers.all()]  # prefetched, where the caller did
    return Party(
        adults=types.count(PassengerType.ADULT),
        children=types.count(PassengerType.CHILD),
        infants=types.count(PassengerType.INFANT),
        seniors=types.count(PassengerType.SENIOR),
        vehicles=tuple(Vehicle(v.category, v.length_cm, v.height_cm, v.load) for v in booking.vehicles.all()),
        accommodation=booking.accommodation,
        pets=booking.pets,
        dogs=booking.dogs,
        cats=booking.cats,
    )


def leg_order(leg: BookingLeg, party: Party) -> LegOrder:
    """What the leg asked of its operator when it was sold: the party, its fare family and its extras (read back
    from its price lines)."""
    quantities = {line["code"]: int(line["quantity"]) for line in leg.price_lines}
    extras = Extras(
        dinners=quantities.get(Extra.DINNER, 0),
        breakfasts=quantities.get(Extra.BREAKFAST, 0),
        priority_boarding=Extra.PRIORITY_BOARDING in quantities,
        protection=Extra.PROTECTION in quantities,
    )
    if leg.accommodation:  # chosen for this leg; else the booking's, as the party has it
        party = replace(party, accommodation=leg.accommodation)
    return LegOrder(party, fare_family=leg.fare_family, extras=extras)


def booking_manifest(booking: Booking, *, without: int | None = None) -> PartyManifest:
    """The booking's party as operators' passenger lists carry it (`without` one passenger, by id)."""
    passengers = [p for p in booking.passengers.order_by("pk") if p.pk != without]
    return party_manifest({
        "passengers": [{field: getattr(p, field) for field in MANIFEST_PASSENGER} for p in passengers],
        "vehicles": [{field: getattr(v, field) for field in MANIFEST_VEHICLE_FIELDS} for v in booking.vehicles.all()],
    })  # fmt: skip


def party_manifest(party: dict) -> PartyManifest:
    """A party as a change records it (`BookingChange.party`), as operators' passenger lists carry it."""
    # A change recorded before passengers asked for assistance has none.
    passengers = tuple({field: str(p.get(field, "")) for field in MANIFEST_PASSENGER} for p in party["passengers"])
    return PartyManifest(passengers, tuple(
        {field: str(v.get(field, "")) if field == "load" else v[field] for field in MANIFEST_VEHICLE_FIELDS}
        for v in party_vehicles(party)
    ))  # fmt: skip


def party_vehicles(party: dict) -> list[dict]:
    """The vehicles of a party as a change records it: a list, or (recorded before bookings had several) one
    `vehicle` or null."""
    if "vehicles" in party:
        return list(party["vehicles"])
    return [party["vehicle"]] if party.get("vehicle") else []
