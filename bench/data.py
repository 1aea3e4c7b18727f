"""The data set and the requests of the benchmarks (run inside the bench process, Django set up).

The network is the demo one (`seed_demo_data`: 8 operators, 13 ports, 28 routes, seasonal fares, 90 days of
sailings).
"""

import datetime as dt
import json
import random
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bench.stack import REMOTE_OPERATORS
from ferries.choices import Resource
from ferries.models import Route, Sailing, SailingInventory
from ferries.selectors import bookable_after

SEARCH = "/api/v1/sailings/search"
CALENDAR = "/api/v1/sailings/calendar"
BOOKINGS = "/api/v1/bookings"
# The search of figures 1 and 2: a short crossing sailed four times a day by an operator whose inventory we keep.
LOCAL_ROUTE = ("ESALG", "MAPTM")
# Figure 3: a route sailed only by an operator reached over HTTP (the simulator, 150 ms an answer).
REMOTE_ROUTE = ("ITGOA", "ITPMO")


def today() -> dt.date:
    return timezone.now().date()


def search_path(origin: str, destination: str, day: dt.date, **party) -> str:
    return f"{SEARCH}?" + urlencode({"from": origin, "to": destination, "date": day.isoformat(), **party})


def calendar_path(origin: str, destination: str, month: str, **party) -> str:
    return f"{CALENDAR}?" + urlencode({"from": origin, "to": destination, "month": month, **party})


def port_pairs(*, remote: bool) -> list[tuple[str, str]]:
    """Port pairs served only by local-inventory operators (or only by remote ones)."""
    by_pair: dict[tuple[str, str], set[bool]] = {}
    for route in Route.objects.filter(active=True).select_related("origin", "destination", "operator"):
        pair = (route.origin.code, route.destination.code)
        by_pair.setdefault(pair, set()).add(route.operator.code in REMOTE_OPERATORS)
    return sorted(pair for pair, kinds in by_pair.items() if kinds == {remote})


def distinct_searches(count: int, *, seed: int) -> list[str]:
    """`count` different searches on local routes: different routes, days and parties, never the same key."""
    rng = random.Random(seed)
    pairs = port_pairs(remote=False)
    seen: set[str] = set()
    paths = []
    while len(paths) < count:
        origin, destination = rng.choice(pairs)
        day = today() + dt.timedelta(days=rng.randint(2, 85))
        party = {"adults": rng.randint(1, 4), "children": rng.randint(0, 3), "seniors": rng.randint(0, 1)}
        if rng.random() < 0.3:
            party["vehicle"] = rng.choice(["car", "motorcycle", "van"])
        path = search_path(origin, destination, day, **party)
        if path not in seen:
            seen.add(path)
            paths.append(path)
    return paths


def zipf_sequence(queries: list[str], *, s: float, length: int, seed: int) -> list[str]:
    """`length` searches drawn from `queries` with Zipf's law: the query of rank k with weight 1/k**s."""
    rng = random.Random(seed)
    weights = [1 / (rank**s) for rank in range(1, len(queries) + 1)]
    return rng.choices(queries, weights=weights, k=length)


def booking_body(sailing_id: int, *, email: str = "bench@example.com", adults: int = 1) -> dict:
    passengers = [
        {
            "type": "adult",
            "first_name": "Amira",
            "last_name": "Ben Salah",
            "date_of_birth": "1985-04-12",
            "nationality": "TN",
            "document_number": f"X{1234567 + n}",
        }
        for n in range(adults)
    ]
    contact = {"name": "Amira Ben Salah", "email": email, "phone": "+216 71 000 000"}
    return {"outbound_sailing_id": sailing_id, "passengers": passengers, "accommodation": "deck", "contact": contact}


def booking_line(sailing_id: int) -> str:
    return f"POST {BOOKINGS} " + json.dumps(booking_body(sailing_id), separators=(",", ":"))


def local_sailing_ids(count: int, *, seed: int, exclude: set[int] = frozenset(), using: str = "default") -> list[int]:
    """Sailings of our own inventory, open for sale (a few days out), picked at random: their ids."""
    after = bookable_after() + dt.timedelta(days=2)
    candidates = list(
        Sailing.objects.using(using)
        .filter(status=Sailing.Status.SCHEDULED, departs_at__gt=after)
        .exclude(route__operator__code__in=REMOTE_OPERATORS)
        .exclude(pk__in=exclude)
        .values_list("pk", flat=True)
    )
    return random.Random(seed).sample(candidates, count)


def local_sailings(count: int, *, seed: int, exclude: set[int] = frozenset()) -> list[Sailing]:
    return list(Sailing.objects.filter(pk__in=local_sailing_ids(count, seed=seed, exclude=exclude)))


def same_sailings(ids: list[int], *, using: str) -> list[int | None]:
    """The sailings of `ids` (this database's) in the database `using` (another stack's, seeded alike): the same
    route's ports and departure; None for one it does not have."""

    def identity(rows) -> dict:
        return {(origin, destination, departs): pk for pk, origin, destination, departs in rows}

    fields = ("pk", "route__origin__code", "route__destination__code", "departs_at")
    ours = list(Sailing.objects.filter(pk__in=ids).values_list(*fields))
    theirs = identity(Sailing.objects.using(using).filter(departs_at__in={row[3] for row in ours}).values_list(*fields))
    by_id = {pk: theirs.get((origin, destination, departs)) for pk, origin, destination, departs in ours}
    return [by_id.get(pk) for pk in ids]


def sailing_legs(ids: list[int], *, using: str = "default") -> list[tuple[int, str, str, dt.date]]:
    """(sailing id, origin port, destination port, day of departure where it departs) of each sailing of `ids`,
    in that order; read from columns any version of the schema has (another commit's database, `using`)."""
    rows = (
        Sailing.objects.using(using)
        .filter(pk__in=ids)
        .values_list("pk", "departs_at", "route__origin__code", "route__destination__code", "route__origin__time_zone")
    )
    legs = {pk: (pk, origin, destination, departs.astimezone(ZoneInfo(zone)).date())
            for pk, departs, origin, destination, zone in rows}  # fmt: skip
    return [legs[pk] for pk in ids]


@transaction.atomic
def set_passenger_capacity(sailing_ids: list[int], capacity: int) -> None:
    SailingInventory.objects.filter(sailing_id__in=sailing_ids, resource=Resource.PASSENGERS).update(capacity=capacity)


def oversold() -> list[tuple[int, int, int]]:
    """(sailing, taken, capacity) for every resource taken beyond capacity: must be none."""
    rows = SailingInventory.objects.filter(taken__gt=F("capacity")).values_list("sailing_id", "taken", "capacity")
    return list(rows)


def passengers_taken(sailing_id: int) -> tuple[int, int]:
    row = SailingInventory.objects.get(sailing_id=sailing_id, resource=Resource.PASSENGERS)
    return row.taken, row.capacity
