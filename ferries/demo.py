"""The demo network: Mediterranean operators, ports, vessels, routes, fares and 90 days of sailings.

Deterministic for a given seed and idempotent: running it again only adds what is missing (new days
of sailings, a fare season that starts later), so it can run at every `make run`.
Sailings follow the vessels' rotations, as a real timetable does: a ship leaves from the port it arrived
at, after time in port, at the same local times from week to week, and a route takes as long every day.
Vessel names are real ships of these lines; IMO numbers are generated, not theirs.
"""

import datetime as dt
import random
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from ferries.choices import USUAL_FARE_FAMILIES, Accommodation, Amenity, PassengerType
from ferries.demo_network import (
    CABIN_EUR,
    CHECK_IN_MINUTES,
    EPOCH,
    LANE_RULES,
    OPERATOR_TERMINALS,
    OPERATORS,
    PORTS,
    ROTATIONS,
    ROUTES,
    SEASONS,
    TERMINALS,
    TRAVEL_DOCUMENTS,
    VEHICLE_BANDS,
    VESSELS,
    RouteSpec,
    VesselSpec,
)
from ferries.models import (
    AccommodationFare,
    Fare,
    FareFamily,
    Operator,
    OperatorTerminal,
    PassengerFare,
    Port,
    Route,
    Sailing,
    VehicleFare,
    Vessel,
    VesselAccommodation,
)
from ferries.services import sailings_schedule


@dataclass(frozen=True)
class PlannedSailing:
    operator: str
    origin: str
    destination: str
    vessel: str
    departs_local: dt.datetime  # in the origin port's time zone
    minutes: int


def timetable(*, today: dt.date, days: int) -> list[PlannedSailing]:
    """Every leg of every rotation that leaves in the `days` days from `today`, in the ports' local time."""
    operator_of = {spec.name: spec.operator for spec in VESSELS}
    minutes = {(s.operator, frozenset((s.a, s.b))): round(s.hours * 60) for s in ROUTES}
    zones = {code: zoneinfo.ZoneInfo(tz) for code, _name, _country, tz in PORTS}
    planned = []
    for offset in range(days):
        day = today + dt.timedelta(days=offset)
        for rotation in ROTATIONS:
            operator = operator_of[rotation.vessel]
            for cycle_day, time, origin, destination in rotation.legs:
                if (day - EPOCH).days % rotation.days != cycle_day:
                    continue
                departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=zones[origin])
                crossing = minutes[(operator, frozenset((origin, destination)))]
                planned.append(PlannedSailing(operator, origin, destination, rotation.vessel, departs, crossing))
    return planned


# Low, shoulder and high season: multiplier of the low-season fares.
def imo_number(rng: random.Random) -> str:
    digits = [rng.randint(0, 9) for _ in range(6)]
    digits[0] = rng.randint(1, 9)
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return "".join(map(str, digits)) + str(check)


def seed_network(*, seed: int, days: int, today: dt.date, progress: Callable[[Iterator], Iterator] = iter) -> dict:
    """Create what is missing of the demo network; answers how many rows of each kind were added."""
    rng = random.Random(seed)
    added = {"operators": 0, "ports": 0, "vessels": 0, "routes": 0, "fares": 0, "sailings": 0}
    with transaction.atomic():
        operators = {
            code: _get_or_create(Operator, added, "operators", code=code,
                                 defaults={"name": name, "check_in_closes_minutes": CHECK_IN_MINUTES[code]})
            for code, name in OPERATORS
        }  # fmt: skip
        ports = {
            code: _get_or_create(Port, added, "ports", code=code, defaults={"name": n, "country": c, "time_zone": tz})
            for code, n, c, tz in PORTS
        }
        _terminals(ports, operators)
        vessels = _vessels(operators, rng, added)
        routes = _routes(operators, ports, added)
        for spec_routes in routes.values():
            for route in spec_routes:
                added["fares"] += _fares(route, _spec_of(route), today)
    by_name = {vessel.name: vessel for fleet in vessels.values() for vessel in fleet}
    planned = timetable(today=today, days=days)
    for _spec, pair in progress(list(routes.items())):
        added["sailings"] += _sailings(pair, planned, by_name)
    return added


def _get_or_create(model, added: dict, kind: str, **lookup):
    obj, created = model.objects.get_or_create(**lookup)
    added[kind] += created
    return obj


def _terminals(ports: dict[str, Port], operators: dict[str, Operator]) -> None:
    """Terminals for ports that have none yet, including those of a demo database made before ports had them."""
    for code, (terminal, address, minutes) in TERMINALS.items():
        if not ports[code].terminal:
            Port.objects.filter(pk=ports[code].pk).update(
                terminal=terminal, terminal_address=address, check_in_closes_minutes=minutes
            )
    for code, rules in LANE_RULES.items():
        Port.objects.filter(pk=ports[code].pk, vehicle_lane_rules="").update(vehicle_lane_rules=rules)
    for (port, operator), (terminal, address) in OPERATOR_TERMINALS.items():
        OperatorTerminal.objects.get_or_create(
            port=ports[port], operator=operators[operator], defaults={"terminal": terminal, "terminal_address": address}
        )


def vessel_amenities(spec: VesselSpec) -> list[str]:
    """What a demo ship offers: a café, a shop and lifts on every one; overnight ships a restaurant, Wi-Fi, a lounge,
    a play area, kennels and accessible cabins too; the lines' cruise ferries a pool and a cinema besides."""
    amenities = {Amenity.CAFE, Amenity.SHOP, Amenity.LIFTS}
    if spec.cabins:
        amenities |= {Amenity.RESTAURANT, Amenity.WIFI, Amenity.LOUNGE, Amenity.PLAY_AREA, Amenity.PET_KENNELS,
                      Amenity.ACCESSIBLE_CABINS}  # fmt: skip
    if spec.name.startswith("Cruise"):
        amenities |= {Amenity.POOL, Amenity.CINEMA, Amenity.PET_CABINS}
    return [value for value in Amenity.values if value in amenities]


def _vessels(operators: dict, rng: random.Random, added: dict) -> dict[str, list[Vessel]]:
    by_operator: dict[str, list[Vessel]] = {}
    for spec in VESSELS:
        imo = imo_number(rng)  # drawn for every vessel, so the sequence does not depend on what exists
        vessel = Vessel.objects.filter(operator=operators[spec.operator], name=spec.name).first()
        if vessel is None:
            vessel = Vessel.objects.create(
                operator=operators[spec.operator],
                name=spec.name,
                imo=imo,
                passenger_capacity=spec.passengers,
                lane_metres=spec.lane_metres,
                max_vehicle_height_cm=spec.max_height_cm,
                priority_boarding_places=20 if spec.lane_metres else 0,
                kennels=12 if spec.cabins else 4,
                amenities=vessel_amenities(spec),
            )
            units = {Accommodation.SEAT: spec.passengers // 8}
            if spec.cabins:
                units |= {Accommodation.INSIDE_2: 60, Accommodation.INSIDE_4: 90, Accommodation.OUTSIDE_2: 45,
                          Accommodation.OUTSIDE_4: 55, Accommodation.ACCESSIBLE_2: 8}  # fmt: skip
            if spec.name.startswith("Cruise"):
                units[Accommodation.PET_4] = 12
            VesselAccommodation.objects.bulk_create(
                VesselAccommodation(vessel=vessel, kind=kind, units=n) for kind, n in units.items()
            )
            added["vessels"] += 1
        by_operator.setdefault(spec.operator, []).append(vessel)
    return by_operator


# VAT on domestic passenger crossings, by country, in the demo network.
DOMESTIC_VAT = {"IT": 10}


def _routes(operators: dict, ports: dict, added: dict) -> dict[RouteSpec, tuple[Route, Route]]:
    routes = {}
    for spec in ROUTES:
        pair = tuple(
            _get_or_create(
                Route, added, "routes", operator=operators[spec.operator], origin=ports[a], destination=ports[b]
            )
            for a, b in ((spec.a, spec.b), (spec.b, spec.a))
        )
        routes[spec] = pair
        for route in pair:
            # A crossing between two ports of one country is domestic transport, which bears VAT (Italy: 10 %);
            # an international one is exempt.
            country, other = route.origin.country.code, route.destination.country.code
            vat = DOMESTIC_VAT.get(country, 0) if country == other else 0
            if route.vat_percent != vat:
                Route.objects.filter(pk=route.pk).update(vat_percent=vat)
            documents = TRAVEL_DOCUMENTS.get(other, "")
            if documents and not route.travel_documents:
                Route.objects.filter(pk=route.pk).update(travel_documents=documents)
    return routes


def _spec_of(route: Route) -> RouteSpec:
    codes = {route.origin.code, route.destination.code}
    return next(s for s in ROUTES if s.operator == route.operator.code and {s.a, s.b} == codes)


def _season_of(month: int) -> tuple[str, float]:
    return next((name, factor) for name, months, factor in SEASONS if month in months)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _season_periods(today: dt.date) -> list[tuple[str, dt.date, dt.date, float]]:
    """Whole seasons, from the start of the current one until past a year ahead: the same on every run."""
    start = today.replace(day=1)
    while _season_of((start - dt.timedelta(days=1)).month)[0] == _season_of(start.month)[0]:
        start = (start - dt.timedelta(days=1)).replace(day=1)
    periods = []
    month = start
    while month <= today + dt.timedelta(days=366) or _season_of(month.month)[0] == periods[-1][0]:
        name, factor = _season_of(month.month)
        last_day = _next_month(month) - dt.timedelta(days=1)
        if periods and periods[-1][0] == name:
            periods[-1][2] = last_day
        else:
            periods.append([name, month, last_day, factor])
        month = _next_month(month)
    return [(_season_name(name, first), first, last, factor) for name, first, last, factor in periods]


def _season_name(name: str, first: dt.date) -> str:
    if name == "Winter":
        return f"Winter {first.year}/{(first.year + 1) % 100:02d}"
    return f"{name} {first.year}"


def _fares(route: Route, spec: RouteSpec, today: dt.date) -> int:
    added = 0
    cabins = spec.hours >= 8
    for name, start, end, factor in _season_periods(today):
        if end < today - dt.timedelta(days=1):
            continue
        # Meals on overnight crossings (breakfast on those of 8 hours or more); priority boarding and protection
        # on every route.
        extras = {"priority_amount_minor": 2000, "protection_amount_minor": 900}
        if spec.hours >= 8:
            extras |= {"dinner_amount_minor": 2200, "breakfast_amount_minor": 1100}
        fare, created = Fare.objects.get_or_create(
            route=route,
            valid_from=start,
            defaults={
                "name": name,
                "valid_to": end,
                "pet_amount_minor": 3000,
                "dog_amount_minor": 3500,
                "cat_amount_minor": 2500,
                **extras,
            },
        )
        if not created:
            continue
        added += 1
        adult = round(spec.adult_eur * factor) * 100
        PassengerFare.objects.bulk_create(
            PassengerFare(fare=fare, passenger_type=kind, amount_minor=amount)
            for kind, amount in (
                (PassengerType.ADULT, adult),
                (PassengerType.SENIOR, adult * 85 // 100),
                (PassengerType.CHILD, adult // 2),
                (PassengerType.INFANT, 0),
            )
        )
        VehicleFare.objects.bulk_create(
            VehicleFare(fare=fare, category=category, max_length_cm=length, amount_minor=round(eur * factor) * 100)
            for category, bands in VEHICLE_BANDS.items()
            for length, eur in bands
        )
        accommodation = {Accommodation.DECK: 0, Accommodation.SEAT: 1500}
        if cabins:
            accommodation |= {kind: round(eur * factor) * 100 for kind, eur in CABIN_EUR.items()}
        AccommodationFare.objects.bulk_create(
            AccommodationFare(fare=fare, accommodation=kind, amount_minor=amount)
            for kind, amount in accommodation.items()
        )
        FareFamily.objects.bulk_create(FareFamily(fare=fare, **family) for family in USUAL_FARE_FAMILIES)
    return added


def _sailings(pair: tuple[Route, Route], planned: list[PlannedSailing], vessels: dict[str, Vessel]) -> int:
    """The route's sailings both ways, as the timetable has them; those that exist already are kept."""
    routes = {(route.operator.code, route.origin.code, route.destination.code): route for route in pair}
    new = []
    for plan in planned:
        route = routes.get((plan.operator, plan.origin, plan.destination))
        if route is not None:
            new.append(_sailing(route, vessels[plan.vessel], plan))
    existing = set(Sailing.objects.filter(ref__in=[s.ref for s in new]).values_list("ref", flat=True))
    missing = [s for s in new if s.ref not in existing]
    sailings_schedule(sailings=missing)
    return len(missing)


def _sailing(route: Route, vessel: Vessel, plan: PlannedSailing) -> Sailing:
    local = plan.departs_local
    departs = local.astimezone(dt.UTC)
    ref = f"{route.operator.code}{local:%y%m%d%H%M}{route.origin.code[2:]}{route.destination.code[2:]}"
    return Sailing(
        route=route,
        vessel=vessel,
        ref=ref,
        departs_at=departs,
        arrives_at=departs + dt.timedelta(minutes=plan.minutes),
    )
