"""The way back, and the way on: which return sailings can follow an outbound one, and which sailing can be the next
leg of a trip of several legs — one rule for the results page, the sailings chosen there, and every booking
request."""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ferries.models import Sailing


@dataclass(frozen=True)
class Crossing:
    """A sailing as the return rule reads it: from a search row or from the timetable."""

    origin: str
    destination: str
    departs_at: dt.datetime
    arrives_at: dt.datetime

    @classmethod
    def of_row(cls, row: dict) -> "Crossing":
        departs, arrives = (dt.datetime.fromisoformat(row[name]) for name in ("departs_at", "arrives_at"))
        return cls(row["from"]["code"], row["to"]["code"], departs, arrives)

    @classmethod
    def of_sailing(cls, sailing: Sailing) -> "Crossing":
        route = sailing.route
        return cls(route.origin.code, route.destination.code, sailing.departs_at, sailing.arrives_at)


def return_problem(*, outbound: Crossing, inbound: Crossing) -> str | None:
    """Why `inbound` cannot be the way back of `outbound`, or None when it can: the one rule for the results page,
    the sailings chosen there, and every booking request.

    The way back sails from where the outbound arrives to where it left, or — an open-jaw return — from or to
    another port (out Marseille → Tunis, back Tunis → Genoa; the traveller goes overland in between); never from
    where the outbound left nor to where it arrives, and never before the outbound arrives."""
    if inbound.origin == outbound.origin:
        return _("The return cannot leave from where the outbound leaves.")
    if inbound.destination == outbound.destination:
        return _("The return cannot sail to where the outbound arrives.")
    if inbound.departs_at < outbound.arrives_at:
        return _("The return must leave after the outbound arrives.")
    return None


def onward_problem(*, previous: Crossing, following: Crossing) -> str | None:
    """Why `following` cannot be the next leg of a trip of several legs (island hopping) after `previous`, or None
    when it can: it leaves after `previous` arrives. Its ports are the traveller's choice: between two legs they may
    stay on an island, or go overland to another port."""
    if following.departs_at < previous.arrives_at:
        return _("This leg must leave after the one before it arrives.")
    return None


def trip_stops(legs: list[tuple[str, str]]) -> list[str]:
    """The ports a trip of several legs calls at, in order, from each leg's (origin, destination): a leg leaving from
    another port than the last arrival (overland in between) adds it."""
    stops = [legs[0][0]]
    for origin, destination in legs:
        if origin != stops[-1]:
            stops.append(origin)
        stops.append(destination)
    return stops


def is_open_jaw(*, outbound_ports: tuple[str, str], inbound_ports: tuple[str, str]) -> bool:
    """The return does not sail straight back: it leaves from or sails to another port than the outbound's."""
    return inbound_ports != (outbound_ports[1], outbound_ports[0])


def returns_that_can_follow(*, outbound: list[dict], inbound: list[dict]) -> dict[int, list[int]]:
    """{outbound sailing id: ids of the return sailings that can follow it}, from search rows."""
    backs = [(row["sailing_id"], Crossing.of_row(row)) for row in inbound]
    follows = {}
    for row in outbound:
        out = Crossing.of_row(row)
        follows[row["sailing_id"]] = [i for i, back in backs if return_problem(outbound=out, inbound=back) is None]
    return follows
