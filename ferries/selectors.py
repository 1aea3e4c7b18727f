"""Reads of the ferry network that more than one interface needs."""

import datetime as dt
import functools
import operator
from functools import reduce

from django.conf import settings
from django.db import router
from django.db.models import IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from ferries.choices import CABIN_BERTHS, Resource
from ferries.models import CapacityHold, Port, Route, Sailing
from kernel.compiled import Compiled, Joined, compile_read, id_marks, id_values, keep_rows_of, rows_of


def bookable_after() -> dt.datetime:
    """Sales close BOOKING_CUTOFF_MINUTES before departure."""
    return timezone.now() + dt.timedelta(minutes=settings.BOOKING_CUTOFF_MINUTES)


def port_list() -> QuerySet[Port]:
    """Ports with at least one active route from or to them, for search forms and the API."""
    departing = Q(departures__active=True, departures__operator__active=True)
    arriving = Q(arrivals__active=True, arrivals__operator__active=True)
    return Port.objects.filter(departing | arriving).distinct()


def route_list() -> QuerySet[Route]:
    return Route.objects.filter(active=True, operator__active=True).select_related("operator", "origin", "destination")


def local_day_bounds(port: Port, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which `day` starts and ends in the port's time zone."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=port.tz)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


def routes_between(origin: str, destination: str) -> list[Route]:
    """The active routes of active operators from port `origin` to port `destination` (codes), with their
    operators (logos left unread: their bytes are served apart) and ports, in one read compiled once per process."""
    read = _routes_read(router.db_for_read(Route))
    shared: dict = {}  # the same two ports for every route found
    return [ROUTE.build(read.alias, row, shared) for row in read.rows({"origin": origin, "destination": destination})]


# A route as the search reads it: with its operator, but not the operator's logo, and its ports.
ROUTE = Joined(Route, ("operator", "origin", "destination"), unread=("operator__logo",))


@functools.lru_cache(maxsize=4)
def _routes_read(alias: str) -> Compiled:
    marks = {"origin": "(origin)", "destination": "(destination)"}  # no port's code
    routes = Route.objects.using(alias).filter(
        origin__code=marks["origin"], destination__code=marks["destination"], active=True, operator__active=True
    )
    # No order: the default one joins the ports and operators by name, and nobody here needs it.
    return compile_read(routes.values_list(*ROUTE.names).order_by(), marks)


def sailing_with_route(pk: int) -> Sailing | None:
    """The sailing `pk` with its vessel and route, the route's ports and operator (not its logo), or None: one
    read compiled once per process (a booking reads each of its sailings so)."""
    read = _sailing_read(router.db_for_read(Sailing))
    rows = read.rows({"pk": pk})
    return SAILING_WITH_ROUTE.build(read.alias, rows[0]) if rows else None


SAILING_WITH_ROUTE = Joined(
    Sailing, ("vessel", "route", "route__origin", "route__destination", "route__operator"),
    unread=("route__operator__logo",),
)  # fmt: skip


@functools.lru_cache(maxsize=4)
def _sailing_read(alias: str) -> Compiled:
    marks = {"pk": -1}
    return compile_read(Sailing.objects.using(alias).filter(pk=-1).values_list(*SAILING_WITH_ROUTE.names).order_by(),
                        marks)  # fmt: skip


def sailings_on_days(*, routes: list[Route], first: dt.date, last: dt.date) -> list[Sailing]:
    """Scheduled, still bookable sailings of these routes (same origin) leaving from `first` to `last`, port time,
    by departure, with their vessels and inventory: one read, compiled once per process (per number of routes)."""
    if not routes:
        return []
    start, _end = local_day_bounds(routes[0].origin, first)
    _start, end = local_day_bounds(routes[0].origin, last)
    read = _sailings_read(router.db_for_read(Sailing), len(routes))
    values = id_values("route", [route.pk for route in routes]) | {"after": max(start, bookable_after()), "end": end}
    sailings = []
    for row in read.rows(values):
        sailing = SAILING_WITH_VESSEL.build(read.alias, row)
        keep_rows_of(sailing, "inventory", row[-1])
        sailings.append(sailing)
    return sailings


SAILING_WITH_VESSEL = Joined(Sailing, ("vessel",))


@functools.lru_cache(maxsize=32)
def _sailings_read(alias: str, route_count: int) -> Compiled:
    far = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
    marks = id_marks("route", route_count) | {"after": far - dt.timedelta(days=1), "end": far}
    sailings = Sailing.objects.using(alias).filter(
        route_id__in=list(id_marks("route", route_count).values()),
        status=Sailing.Status.SCHEDULED,
        departs_at__gte=marks["after"],
        departs_at__lt=marks["end"],
    )
    rows = sailings.annotate(inventory_rows=rows_of(Sailing, "inventory"))
    return compile_read(rows.values_list(*SAILING_WITH_VESSEL.names, "inventory_rows").order_by("departs_at", "pk"),
                        marks)  # fmt: skip


def sailing_availability(sailing: Sailing) -> dict:
    """{"status", "remaining": {resource: amount}} from a sailing with its inventory loaded."""
    return {"status": sailing.status, "remaining": {row.resource: row.remaining for row in sailing.inventory.all()}}


# The resources that are cabins, added up in one "cabins" figure.
CABINS = [str(kind) for kind in CABIN_BERTHS]


def sailing_loads(*, sailing_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """What holds take from each sailing, split into held (awaiting sale) and sold (confirmed), in one query:
    {sailing_id: {"held": {"passengers": n, "lane_cm": n, "cabins": n}, "sold": {...}}}."""

    def taken(*resources: str):
        amounts = [Coalesce(Cast(KT(f"quantities__{resource}"), IntegerField()), 0) for resource in resources]
        return Coalesce(Sum(reduce(operator.add, amounts)), 0)

    rows = (
        CapacityHold.objects.filter(
            sailing_id__in=sailing_ids, status__in=[CapacityHold.Status.HELD, CapacityHold.Status.CONFIRMED]
        )
        .values("sailing_id", "status")
        .annotate(passengers=taken(Resource.PASSENGERS), lane_cm=taken(Resource.LANE_CM), cabins=taken(*CABINS))
        .order_by()
    )
    figures = ("passengers", "lane_cm", "cabins")
    loads = {pk: {part: dict.fromkeys(figures, 0) for part in ("held", "sold")} for pk in sailing_ids}
    for row in rows:
        part = "sold" if row["status"] == CapacityHold.Status.CONFIRMED else "held"
        loads[row["sailing_id"]][part] = {figure: row[figure] for figure in figures}
    return loads
