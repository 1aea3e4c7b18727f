"""Test data for the ferry network. `sailing_factory()` gives a bookable sailing with its inventory."""

import datetime as dt

import factory
from django.utils import timezone

from ferries.choices import USUAL_FARE_FAMILIES, Accommodation, PassengerType, VehicleCategory
from ferries.models import (
    AccommodationFare,
    Fare,
    FareFamily,
    Operator,
    PassengerFare,
    Port,
    Route,
    Sailing,
    VehicleFare,
    Vessel,
    VesselAccommodation,
)
from ferries.services import sailing_schedule


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"OP{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Operator {o.code}")


class PortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Port
        django_get_or_create = ("code",)

    code = "TNTUN"
    name = factory.LazyAttribute(
        lambda o: {"TNTUN": "Tunis", "FRMRS": "Marseille", "ITGOA": "Genoa"}.get(o.code, o.code)
    )
    country = factory.LazyAttribute(lambda o: o.code[:2])
    time_zone = factory.LazyAttribute(
        lambda o: {"TN": "Africa/Tunis", "FR": "Europe/Paris", "IT": "Europe/Rome"}.get(o.code[:2], "Europe/Paris")
    )


def _imo(n: int) -> str:
    head = f"{900000 + n % 99999:06d}"
    return head + str(sum(int(d) * w for d, w in zip(head, range(7, 1, -1), strict=True)) % 10)


class VesselFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vessel
        skip_postgeneration_save = True

    operator = factory.SubFactory(OperatorFactory)
    name = factory.Sequence(lambda n: f"Vessel {n}")
    imo = factory.Sequence(_imo)
    passenger_capacity = 100
    lane_metres = 50
    max_vehicle_height_cm = 400
    priority_boarding_places = 2
    kennels = 4

    @factory.post_generation
    def accommodations(self, create, extracted, **kwargs):
        """accommodations={"seat": 20, "inside_2": 5} (the default)."""
        units = extracted if extracted is not None else {Accommodation.SEAT: 20, Accommodation.INSIDE_2: 5}
        if create:
            VesselAccommodation.objects.bulk_create(
                VesselAccommodation(vessel=self, kind=kind, units=n) for kind, n in units.items()
            )


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    operator = factory.SubFactory(OperatorFactory)
    origin = factory.SubFactory(PortFactory, code="TNTUN")
    destination = factory.SubFactory(PortFactory, code="FRMRS")


class FareFactory(factory.django.DjangoModelFactory):
    """A year-long fare: adult 100.00, child 50.00, senior 85.00, infant free; car 150.00; cabins 80.00; sold as
    Basic (85 %), Standard (100 %) and Flex (125 %); dinner 25.00, breakfast 12.00 per person, priority boarding
    15.00, cancellation protection 8.00 per passenger."""

    class Meta:
        model = Fare
        skip_postgeneration_save = True

    route = factory.SubFactory(RouteFactory)
    name = "All year"
    valid_from = factory.LazyFunction(lambda: timezone.now().date() - dt.timedelta(days=1))
    valid_to = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=365))
    pet_amount_minor = 2000
    dinner_amount_minor = 2500
    breakfast_amount_minor = 1200
    priority_amount_minor = 1500
    protection_amount_minor = 800

    @factory.post_generation
    def prices(self, create, extracted, **kwargs):
        if not create:
            return
        PassengerFare.objects.bulk_create(
            PassengerFare(fare=self, passenger_type=kind, amount_minor=amount)
            for kind, amount in (
                (PassengerType.ADULT, 10000),
                (PassengerType.CHILD, 5000),
                (PassengerType.SENIOR, 8500),
                (PassengerType.INFANT, 0),
            )
        )
        VehicleFare.objects.bulk_create(
            [
                VehicleFare(fare=self, category=VehicleCategory.CAR, max_length_cm=500, amount_minor=15000),
                VehicleFare(fare=self, category=VehicleCategory.CAR, max_length_cm=600, amount_minor=20000),
                VehicleFare(fare=self, category=VehicleCategory.MOTORCYCLE, max_length_cm=350, amount_minor=5000),
            ]
        )
        AccommodationFare.objects.bulk_create(
            AccommodationFare(fare=self, accommodation=kind, amount_minor=amount)
            for kind, amount in (
                (Accommodation.DECK, 0),
                (Accommodation.SEAT, 1500),
                (Accommodation.INSIDE_2, 8000),
            )
        )
        FareFamily.objects.bulk_create(FareFamily(fare=self, **family) for family in USUAL_FARE_FAMILIES)


def local_time(route: Route, *, days: int, hour: int) -> dt.datetime:
    """`hour` o'clock at the route's port of departure on the day `days` from today's date (UTC), the day a test
    searches: a sailing placed at now + days + a few hours changes day when the test runs late in the evening."""
    day = timezone.now().date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=route.origin.tz)


def sailing_factory(
    *, route: Route | None = None, vessel: Vessel | None = None, departs_in: dt.timedelta = dt.timedelta(days=10),
    departs_at: dt.datetime | None = None, hours: float = 21, ref: str | None = None, with_fare: bool = True,
) -> Sailing:  # fmt: skip
    """A scheduled sailing (inventory included) on a route that has a fare, leaving at `departs_at` or else
    `departs_in` from now."""
    route = route or RouteFactory()
    if with_fare and not route.fares.exists():
        FareFactory(route=route)
    vessel = vessel or VesselFactory(operator=route.operator)
    departs = (departs_at or timezone.now() + departs_in).replace(microsecond=0)
    ref = ref or f"{route.operator.code}{departs:%y%m%d%H%M%S}{route.origin.code[2:]}{route.destination.code[2:]}"
    return sailing_schedule(
        route=route, vessel=vessel, ref=ref, departs_at=departs, arrives_at=departs + dt.timedelta(hours=hours)
    )
