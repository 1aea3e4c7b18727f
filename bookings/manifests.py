"""Who travels on a sailing, as the quay and the crew need it: the sailings an agent works on, how far check-in and
boarding have got, and the manifest — every confirmed traveller, vehicle, cabin and pet, with their status."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bookings.models import Boarding, Booking, BookingLeg, BookingVehicle, Passenger
from bookings.orders import booking_party, leg_order
from ferries.choices import Accommodation, Assistance, PassengerType, PetType, VehicleCategory, VehicleLoad
from ferries.models import Port, Sailing
from ferries.party import pets_in_words

# An agent works on sailings from a few hours before departure to the day ahead; a late one stays on the list.
QUAY_BEFORE, QUAY_AHEAD = dt.timedelta(hours=6), dt.timedelta(hours=24)


def quay_sailings(*, port: Port, now: dt.datetime | None = None) -> QuerySet[Sailing]:
    """The port's scheduled departures an agent may check in for now, soonest first."""
    now = now or timezone.now()
    return (
        Sailing.objects.filter(
            route__origin=port,
            status=Sailing.Status.SCHEDULED,
            departs_at__gte=now - QUAY_BEFORE,
            departs_at__lte=now + QUAY_AHEAD,
        )
        .select_related("route__origin", "route__destination", "route__operator", "vessel")
        .order_by("departs_at", "pk")
    )


def travelling_legs(*, sailing_id: int) -> QuerySet[BookingLeg]:
    """The legs of confirmed bookings on the sailing: those who may board it."""
    return BookingLeg.objects.filter(sailing_id=sailing_id, booking__status=Booking.Status.CONFIRMED)


@dataclass(frozen=True)
class Progress:
    passengers: int
    checked_in: int
    boarded: int
    vehicles: int
    vehicles_checked_in: int
    vehicles_boarded: int


def sailing_progress(*, sailing_id: int) -> Progress:
    """How many confirmed passengers and vehicles the sailing carries, and how many are checked in and boarded."""
    legs = travelling_legs(sailing_id=sailing_id)
    passengers = Passenger.objects.filter(booking__legs__in=legs).count()
    vehicles = BookingVehicle.objects.filter(booking__legs__in=legs).count()
    counts = Boarding.objects.filter(leg__in=legs).aggregate(
        checked_in=Count("pk", filter=Q(passenger__isnull=False)),
        boarded=Count("pk", filter=Q(passenger__isnull=False, boarded_at__isnull=False)),
        vehicles_checked_in=Count("pk", filter=Q(passenger__isnull=True)),
        vehicles_boarded=Count("pk", filter=Q(passenger__isnull=True, boarded_at__isnull=False)),
    )
    return Progress(passengers=passengers, vehicles=vehicles, **counts)


@dataclass(frozen=True)
class ManifestPassenger:
    reference: str
    first_name: str
    last_name: str
    type: str
    date_of_birth: dt.date
    nationality: str
    document_number: str
    accommodation: str
    checked_in_at: dt.datetime | None
    boarded_at: dt.datetime | None
    assistance: str = ""

    @property
    def type_label(self) -> str:
        return PassengerType(self.type).label

    @property
    def assistance_label(self) -> str:
        return Assistance(self.assistance).label if self.assistance else ""

    @property
    def accommodation_label(self) -> str:
        return Accommodation(self.accommodation).label


@dataclass(frozen=True)
class ManifestVehicle:
    reference: str
    category: str
    registration: str
    length_cm: int
    height_cm: int
    measured_at: dt.datetime | None  # the size is the one port staff measured
    checked_in_at: dt.datetime | None
    boarded_at: dt.datetime | None
    load: str = ""  # on the roof or at the back, beyond the size above

    @property
    def category_label(self) -> str:
        return VehicleCategory(self.category).label

    @property
    def load_label(self) -> str:
        return str(VehicleLoad(self.load).label) if self.load else ""


@dataclass(frozen=True)
class ManifestBooking:
    """What a booking takes on board beyond its people: cabins of a kind, pets."""

    reference: str
    accommodation: str
    cabins: int
    pets: int
    dogs: int = 0
    cats: int = 0

    @property
    def accommodation_label(self) -> str:
        return Accommodation(self.accommodation).label

    @property
    def pet_counts(self) -> dict[str, int]:
        return {PetType.DOG: self.dogs, PetType.CAT: self.cats, PetType.OTHER: self.pets - self.dogs - self.cats}

    @property
    def pets_label(self) -> str:
        """Its pets in all and by kind, "2 (1 dog, 1 cat)"; "" for none."""
        return f"{self.pets} ({pets_in_words(self.pet_counts)})" if self.pets else ""


@dataclass(frozen=True)
class Manifest:
    sailing: Sailing
    passengers: list[ManifestPassenger]
    vehicles: list[ManifestVehicle]
    bookings: list[ManifestBooking]
    progress: Progress

    @property
    def cabins(self) -> dict[str, int]:
        """Cabins taken, by kind (its label)."""
        kinds: dict[str, int] = {}
        for booking in self.bookings:
            if booking.cabins:
                kinds[booking.accommodation_label] = kinds.get(booking.accommodation_label, 0) + booking.cabins
        return kinds

    @property
    def pets(self) -> int:
        return sum(booking.pets for booking in self.bookings)

    @property
    def pets_by_kind(self) -> str:
        """The sailing's pets by kind, in words."""
        counts: dict[str, int] = {}
        for booking in self.bookings:
            for kind, n in booking.pet_counts.items():
                counts[kind] = counts.get(kind, 0) + n
        return pets_in_words(counts)

    @property
    def assistance(self) -> list[ManifestPassenger]:
        """The passengers who asked for help, for the crew to meet them."""
        return [passenger for passenger in self.passengers if passenger.assistance]


def sailing_manifest(*, sailing_id: int) -> Manifest:
    """Everyone and everything confirmed on the sailing, by booking reference then name, with check-in and boarding
    times: a handful of queries whatever the sailing's size."""
    sailing = Sailing.objects.select_related("route__origin", "route__destination", "route__operator", "vessel").get(
        pk=sailing_id
    )
    legs = list(
        travelling_legs(sailing_id=sailing_id)
        .select_related("booking")
        .prefetch_related("booking__passengers", "booking__vehicles", "boardings")
        .order_by("booking__reference")
    )
    passengers, vehicles, bookings = [], [], []
    for leg in legs:
        booking = leg.booking
        rows = {row.passenger_id: row for row in leg.boardings.all() if row.passenger_id}
        vehicle_rows = {row.vehicle_id: row for row in leg.boardings.all() if row.vehicle_id}
        for p in sorted(booking.passengers.all(), key=lambda p: (p.last_name, p.first_name, p.pk)):
            row = rows.get(p.pk)
            passengers.append(ManifestPassenger(
                booking.reference, p.first_name, p.last_name, p.type, p.date_of_birth, p.nationality,
                p.document_number, leg.on_board, row and row.checked_in_at, row and row.boarded_at,
                p.assistance,
            ))  # fmt: skip
        for vehicle in booking.vehicles.all():
            row = vehicle_rows.get(vehicle.pk)
            vehicles.append(ManifestVehicle(
                booking.reference, vehicle.category, vehicle.registration, vehicle.length_cm, vehicle.height_cm,
                vehicle.measured_at, row and row.checked_in_at, row and row.boarded_at, vehicle.load,
            ))  # fmt: skip
        party = leg_order(leg, booking_party(booking)).party  # in the leg's own accommodation
        bookings.append(ManifestBooking(booking.reference, leg.on_board, party.cabins, booking.pets, booking.dogs,
                                        booking.cats))  # fmt: skip
    return Manifest(sailing, passengers, vehicles, bookings, sailing_progress(sailing_id=sailing_id))
