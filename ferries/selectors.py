"""Reads of the ferry network that more than one interface needs."""

import datetime as dt
import operator
from functools import reduce

from django.conf import settings
from django.db.models import IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from ferries.choices import CABIN_BERTHS, Resource
from ferries.models import CapacityHold, Port, Route, Sailing


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


def sailings_on_day(*, routes: list[Route], day: dt.date) -> QuerySet[Sailing]:
    """Scheduled, still bookable sailings of these routes (same origin) leaving on `day`, port time."""
    return sailings_on_days(routes=routes, first=day, last=day)


def sailings_on_days(*, routes: list[Route], first: dt.date, last: dt.date) -> QuerySet[Sailing]:
    """Scheduled, still bookable sailings of these routes (same origin) leaving from `first` to `last`, port time."""
    if not routes:
        return Sailing.objects.none()
    start, _end = local_day_bounds(routes[0].origin, first)
    _start, end = local_day_bounds(routes[0].origin, last)
    return (
        Sailing.objects.filter(
            route__in=routes,
            status=Sailing.Status.SCHEDULED,
            departs_at__gte=max(start, bookable_after()),
            departs_at__lt=end,
        )
        .select_related("vessel", "route")
        .prefetch_related("inventory")
        .order_by("departs_at")
    )


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
