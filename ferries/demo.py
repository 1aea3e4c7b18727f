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

from ferries.choices import Accommodation, PassengerType, VehicleCategory
from ferries.models import (
    AccommodationFare,
    Fare,
    Operator,
    PassengerFare,
    Port,
    Route,
    Sailing,
    VehicleFare,
    Vessel,
    VesselAccommodation,
)
from ferries.services import sailings_schedule

PORTS = [
    ("TNTUN", "Tunis (La Goulette)", "TN", "Africa/Tunis"),
    ("FRMRS", "Marseille", "FR", "Europe/Paris"),
    ("ITGOA", "Genoa", "IT", "Europe/Rome"),
    ("ITCIV", "Civitavecchia", "IT", "Europe/Rome"),
    ("ITPMO", "Palermo", "IT", "Europe/Rome"),
    ("ITCTA", "Catania", "IT", "Europe/Rome"),
    ("ITBRI", "Bari", "IT", "Europe/Rome"),
    ("ESBCN", "Barcelona", "ES", "Europe/Madrid"),
    ("ESALG", "Algeciras", "ES", "Europe/Madrid"),
    ("MAPTM", "Tanger Med", "MA", "Africa/Casablanca"),
    ("DZALG", "Algiers", "DZ", "Africa/Algiers"),
    ("MTMLA", "Valletta", "MT", "Europe/Malta"),
    ("GRPAS", "Patras", "GR", "Europe/Athens"),
]

# Where travellers check in at each port, and the ports whose border and customs controls make check-in close
# earlier than the operators' own time (minutes before departure).
TERMINALS = {
    "TNTUN": ("Gare maritime de La Goulette", "Port de La Goulette, 2060 La Goulette", 180),
    "FRMRS": ("Terminal Cap Janet", "Chemin du Littoral, 13015 Marseille", None),
    "ITGOA": ("Terminal Traghetti", "Via Milano 51, 16126 Genova", None),
    "ITCIV": ("Darsena Traghetti", "Porto di Civitavecchia, 00053 Civitavecchia", None),
    "ITPMO": ("Stazione Marittima", "Via Francesco Crispi, 90133 Palermo", None),
    "ITCTA": ("Stazione Marittima", "Via Dusmet, 95131 Catania", None),
    "ITBRI": ("Terminal Passeggeri, Molo San Vito", "Porto di Bari, 70122 Bari", None),
    "ESBCN": ("Terminal Ferry de Barcelona", "Moll de Sant Bertran 3, 08039 Barcelona", None),
    "ESALG": ("Estación Marítima", "Avenida de la Hispanidad 2, 11207 Algeciras", None),
    "MAPTM": ("Tanger Med Passagers", "Port Tanger Med, Ksar Sghir", 120),
    "DZALG": ("Gare maritime d'Alger", "Port d'Alger, 16000 Alger", 180),
    "MTMLA": ("Sea Passenger Terminal", "Valletta Waterfront, Floriana FRN 1913", None),
    "GRPAS": ("Νέος Λιμένας Πατρών", "Ακτή Δυμαίων, 263 33 Πάτρα", None),
}

OPERATORS = [
    ("CTN", "Compagnie Tunisienne de Navigation"),
    ("CLN", "Corsica Linea"),
    ("GNV", "Grandi Navi Veloci"),
    ("GRM", "Grimaldi Lines"),
    ("AFE", "Algérie Ferries"),
    ("VIR", "Virtu Ferries"),
    ("MIN", "Minoan Lines"),
    ("FRS", "FRS Iberia"),
]
# Minutes before departure at which each operator closes check-in (vehicles and foot passengers alike).
CHECK_IN_MINUTES = {"CTN": 120, "CLN": 90, "GNV": 120, "GRM": 120, "AFE": 120, "VIR": 45, "MIN": 90, "FRS": 60}


@dataclass(frozen=True)
class VesselSpec:
    operator: str
    name: str
    passengers: int
    lane_metres: int
    max_height_cm: int
    cabins: bool  # overnight ships have seats and cabins; short crossings only deck and seats


VESSELS = [
    VesselSpec("CTN", "Carthage", 2200, 2250, 450, True),
    VesselSpec("CTN", "Tanit", 3200, 2700, 450, True),
    VesselSpec("CLN", "Jean Nicoli", 1500, 2000, 450, True),
    VesselSpec("GNV", "La Suprema", 2900, 2600, 450, True),
    VesselSpec("GNV", "Excellent", 2250, 2200, 450, True),
    VesselSpec("GRM", "Cruise Roma", 3000, 3000, 450, True),
    VesselSpec("GRM", "Cruise Bonaria", 2800, 2800, 450, True),
    VesselSpec("AFE", "Tariq Ibn Ziyad", 1300, 1700, 420, True),
    VesselSpec("VIR", "Saint John Paul II", 900, 500, 220, False),
    VesselSpec("MIN", "Cruise Europa", 2500, 2800, 450, True),
    VesselSpec("FRS", "Tanger Express", 1000, 600, 400, False),
    VesselSpec("FRS", "Kattegat", 1200, 1000, 420, False),
    VesselSpec("GNV", "Splendid", 2300, 2200, 450, True),
    VesselSpec("GRM", "Cruise Sardegna", 2500, 2600, 450, True),
]


@dataclass(frozen=True)
class RouteSpec:
    operator: str
    a: str
    b: str
    hours: float  # crossing time, the same every day either way
    adult_eur: int  # adult deck fare in the low season, euros


ROUTES = [
    RouteSpec("CTN", "TNTUN", "FRMRS", 21, 140),
    RouteSpec("CTN", "TNTUN", "ITGOA", 24, 130),
    RouteSpec("CLN", "FRMRS", "TNTUN", 22, 135),
    RouteSpec("CLN", "FRMRS", "DZALG", 20, 150),
    RouteSpec("GNV", "ITGOA", "TNTUN", 24, 125),
    RouteSpec("GNV", "ITGOA", "ITPMO", 20, 85),
    RouteSpec("GNV", "ITGOA", "ESBCN", 19, 95),
    RouteSpec("GRM", "ITCIV", "TNTUN", 21, 120),
    RouteSpec("GRM", "ITPMO", "TNTUN", 11, 80),
    RouteSpec("GRM", "ITCIV", "ESBCN", 20, 90),
    RouteSpec("AFE", "DZALG", "FRMRS", 20, 145),
    RouteSpec("VIR", "ITCTA", "MTMLA", 3, 60),
    RouteSpec("MIN", "ITBRI", "GRPAS", 16, 75),
    RouteSpec("FRS", "ESALG", "MAPTM", 1.5, 40),
]


@dataclass(frozen=True)
class Rotation:
    """What one vessel sails, again every `days` days: legs of (day of the cycle, departure in the local time of
    the port it leaves, from, to). Cycles count from EPOCH, a Monday, so a weekly rotation's days are weekdays
    (Monday = 0). Each leg leaves from the port the one before arrived at, with time to turn the ship around
    however far apart the two ports' clocks are in the year (summer time, Ramadan in Morocco)."""

    vessel: str
    days: int
    legs: tuple[tuple[int, str, str, str], ...]


EPOCH = dt.date(2024, 1, 1)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

ROTATIONS = [
    # Tunis ⇄ Marseille twice a week, Tunis ⇄ Genoa twice a week.
    Rotation("Carthage", 7, ((MON, "12:00", "TNTUN", "FRMRS"), (TUE, "18:00", "FRMRS", "TNTUN"),
                             (THU, "12:00", "TNTUN", "FRMRS"), (FRI, "18:00", "FRMRS", "TNTUN"))),
    Rotation("Tanit", 7, ((TUE, "11:00", "TNTUN", "ITGOA"), (WED, "17:00", "ITGOA", "TNTUN"),
                          (FRI, "11:00", "TNTUN", "ITGOA"), (SAT, "17:00", "ITGOA", "TNTUN"))),
    Rotation("Jean Nicoli", 7, ((MON, "19:00", "FRMRS", "TNTUN"), (TUE, "21:00", "TNTUN", "FRMRS"),
                                (THU, "19:00", "FRMRS", "DZALG"), (FRI, "20:00", "DZALG", "FRMRS"))),
    # Genoa ⇄ Palermo every evening both ways: two ships, each out one day and back the next.
    Rotation("La Suprema", 2, ((0, "20:00", "ITGOA", "ITPMO"), (1, "20:00", "ITPMO", "ITGOA"))),
    Rotation("Excellent", 2, ((0, "20:00", "ITPMO", "ITGOA"), (1, "20:00", "ITGOA", "ITPMO"))),
    Rotation("Splendid", 7, ((MON, "21:00", "ITGOA", "TNTUN"), (WED, "11:00", "TNTUN", "ITGOA"),
                             (THU, "22:00", "ITGOA", "ESBCN"), (FRI, "22:00", "ESBCN", "ITGOA"),
                             (SAT, "22:00", "ITGOA", "ESBCN"), (SUN, "22:00", "ESBCN", "ITGOA"))),
    # Civitavecchia ⇄ Barcelona every night both ways, as Genoa ⇄ Palermo.
    Rotation("Cruise Roma", 2, ((0, "22:00", "ITCIV", "ESBCN"), (1, "22:00", "ESBCN", "ITCIV"))),
    Rotation("Cruise Bonaria", 2, ((0, "22:00", "ESBCN", "ITCIV"), (1, "22:00", "ITCIV", "ESBCN"))),
    Rotation("Cruise Sardegna", 7, ((SUN, "22:00", "ITCIV", "TNTUN"), (MON, "21:00", "TNTUN", "ITPMO"),
                                    (TUE, "21:00", "ITPMO", "TNTUN"), (WED, "21:00", "TNTUN", "ITCIV"),
                                    (THU, "22:00", "ITCIV", "TNTUN"), (FRI, "21:00", "TNTUN", "ITCIV"))),
    Rotation("Tariq Ibn Ziyad", 7, ((MON, "12:00", "DZALG", "FRMRS"), (TUE, "17:00", "FRMRS", "DZALG"),
                                    (THU, "12:00", "DZALG", "FRMRS"), (FRI, "17:00", "FRMRS", "DZALG"))),
    # Short crossings: back and forth all day.
    Rotation("Saint John Paul II", 1, ((0, "06:30", "MTMLA", "ITCTA"), (0, "11:00", "ITCTA", "MTMLA"),
                                       (0, "16:00", "MTMLA", "ITCTA"), (0, "20:30", "ITCTA", "MTMLA"))),
    Rotation("Cruise Europa", 7, ((MON, "19:30", "ITBRI", "GRPAS"), (TUE, "17:30", "GRPAS", "ITBRI"),
                                  (WED, "19:30", "ITBRI", "GRPAS"), (THU, "17:30", "GRPAS", "ITBRI"),
                                  (FRI, "19:30", "ITBRI", "GRPAS"), (SAT, "17:30", "GRPAS", "ITBRI"))),
    # Algeciras ⇄ Tanger Med four times a day each way, two ships crossing each other.
    Rotation("Tanger Express", 1, ((0, "08:00", "ESALG", "MAPTM"), (0, "11:00", "MAPTM", "ESALG"),
                                   (0, "16:00", "ESALG", "MAPTM"), (0, "19:00", "MAPTM", "ESALG"))),
    Rotation("Kattegat", 1, ((0, "08:00", "MAPTM", "ESALG"), (0, "12:00", "ESALG", "MAPTM"),
                             (0, "15:00", "MAPTM", "ESALG"), (0, "20:00", "ESALG", "MAPTM"))),
]  # fmt: skip


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
SEASONS = [
    ("Winter", (11, 12, 1, 2, 3), 1.0),
    ("Spring", (4, 5, 6), 1.25),
    ("Summer", (7, 8), 1.7),
    ("Autumn", (9, 10), 1.25),
]

VEHICLE_BANDS = {  # category: ((up to cm, euros in low season), ...)
    VehicleCategory.CAR: ((500, 160), (600, 210)),
    VehicleCategory.CAR_TRAILER: ((1200, 320), (1800, 450)),
    VehicleCategory.VAN: ((600, 230), (800, 300)),
    VehicleCategory.CAMPER: ((800, 330), (1200, 460)),
    VehicleCategory.MOTORCYCLE: ((350, 60),),
    VehicleCategory.BICYCLE: ((300, 15),),
}
CABIN_EUR = {
    Accommodation.INSIDE_2: 90,
    Accommodation.INSIDE_4: 120,
    Accommodation.OUTSIDE_2: 130,
    Accommodation.OUTSIDE_4: 170,
}


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
        _terminals(ports)
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


def _terminals(ports: dict[str, Port]) -> None:
    """Terminals for ports that have none yet, including those of a demo database made before ports had them."""
    for code, (terminal, address, minutes) in TERMINALS.items():
        if not ports[code].terminal:
            Port.objects.filter(pk=ports[code].pk).update(
                terminal=terminal, terminal_address=address, check_in_closes_minutes=minutes
            )


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
            )
            units = {Accommodation.SEAT: spec.passengers // 8}
            if spec.cabins:
                units |= {Accommodation.INSIDE_2: 60, Accommodation.INSIDE_4: 90,
                          Accommodation.OUTSIDE_2: 45, Accommodation.OUTSIDE_4: 55}  # fmt: skip
            VesselAccommodation.objects.bulk_create(
                VesselAccommodation(vessel=vessel, kind=kind, units=n) for kind, n in units.items()
            )
            added["vessels"] += 1
        by_operator.setdefault(spec.operator, []).append(vessel)
    return by_operator


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
        fare, created = Fare.objects.get_or_create(
            route=route, valid_from=start, defaults={"name": name, "valid_to": end, "pet_amount_minor": 3000}
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
