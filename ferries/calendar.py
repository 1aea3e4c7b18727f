"""The fare calendar: the lowest price for the party on each day of a month (or of the days around one), for the fare
strip above the results and the month view.

Its prices are the search's: each operator prices the party's journey exactly as when one day is searched (our
own inventory answers every day at once, remote operators one request per day, side by side), and each day's lowest
is that of the sailings the party can book, as the search's nearby dates give it. The prices of all the days are
one cache entry (the search's lifetime, dropped with the searches of its route or of any of its days); availability
is laid over them at every read from the one-minute availability cache, so "sold out" is as fresh as in a search.
The API's answer, availability laid over, is also kept whole as sent (as a search's is) while every part of it holds.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ferries.cache import PARTIAL_SEARCH_TTL, SEARCH_TTL, cache_service
from ferries.cache.service import AnswerLookup
from ferries.queries import CalendarQuery
from ferries.search import (
    BOOKABLE,
    answer_ttl,
    ask_operators,
    availability_of,
    leg_routes,
    lowest_price,
    offer_rows,
    party_availability,
)
from ferries.selectors import bookable_after


class DayStatus(StrEnum):
    AVAILABLE = "available"  # a sailing the party can book; `lowest` is its price
    SOLD_OUT = "sold_out"  # sailings, none with room left for the party
    UNAVAILABLE = "unavailable"  # sailings, none that can take the party's vehicle or accommodation
    NO_SAILING = "no_sailing"  # nothing sails that day (or sales have closed)
    UNKNOWN = "unknown"  # nothing to book from those that answered, and an operator did not answer


def fare_calendar(*, query: CalendarQuery) -> dict:
    """{"from", "to", "complete": every operator answered, "days": [{"date", "lowest": money or None, "status",
    "cheapest": whether no other day asked for is cheaper}]} for each of the query's days, in order."""
    # How long each availability has left is of no use here: not read (a month's sailings are many keys).
    return _calendar(query, timed=False).calendar


def fare_calendar_answer(
    *, query: CalendarQuery, render: Callable[[dict], bytes], lookup: AnswerLookup | None = None
) -> bytes:
    """fare_calendar's answer as `render` makes it into bytes, kept whole in the cache while every part of it holds:
    its prices, the availability of each sailing it lists (dropped with it when a sailing's capacity changes), and
    the sales of its earliest sailing."""
    kept = kept_calendar_answer(query, lookup)
    if kept is not None:
        return kept
    with cache_service.writes_together():  # its prices, availability and answer kept in one round trip
        made = _calendar(query, timed=True)
        body = render(made.calendar)
        if made.known:  # else the operator is asked again next time
            ttl = answer_ttl(made.rows, made.fresh_for)
            sailing_ids = [row["sailing_id"] for row in made.rows]
            cache_service.set_calendar_answer(query, body, ttl=ttl, sailing_ids=sailing_ids)
    return body


def kept_calendar_answer(query: CalendarQuery, lookup: AnswerLookup | None = None) -> bytes | None:
    """The calendar's answer kept whole, as sent, or None (`lookup` answered once, as kept_search_answer's)."""
    return cache_service.get_calendar_answer(query, lookup)


def calendar_answer_lookup(query: CalendarQuery) -> AnswerLookup | None:
    """The lookup of the calendar's kept answer, to send with the request's rate limits (None: looked up alone)."""
    return cache_service.calendar_answer_lookup(query)


@dataclass(frozen=True)
class _Made:
    calendar: dict
    fresh_for: float  # seconds for which its prices and every availability laid over them stay cached
    rows: list[dict]  # every sailing of its days still on sale
    known: bool  # whether the availability of each of them is known


def _calendar(query: CalendarQuery, *, timed: bool) -> _Made:
    cached, prices_for = cache_service.calendar_entry(query, lambda: _compute(query))
    cutoff = bookable_after().isoformat()
    rows_by_day = {
        day: [row for row in cached["days"].get(day.isoformat(), []) if row["departs_at"] >= cutoff]
        for day in query.days
    }
    listed = [row for rows in rows_by_day.values() for row in rows]
    availability, availability_for = availability_of(listed, timed=timed)
    complete = all(operator["status"] == "ok" for operator in cached["operators"])
    days = []
    known = True
    for day, rows in rows_by_day.items():
        statuses = [party_availability(row, availability.get(row["sailing_id"]), query.party)["status"] for row in rows]
        known = known and "unknown" not in statuses
        bookable = [row for row, status in zip(rows, statuses, strict=True) if status in BOOKABLE]
        days.append(
            {
                "date": day.isoformat(),
                "lowest": lowest_price(bookable) if bookable else None,
                "status": _day_status(bookable, statuses, complete=complete),
            }
        )
    amounts = [day["lowest"]["amount_minor"] for day in days if day["lowest"]]
    for day in days:
        day["cheapest"] = bool(day["lowest"]) and day["lowest"]["amount_minor"] == min(amounts)
    calendar = {"from": query.origin, "to": query.destination, "complete": complete, "days": days}
    return _Made(calendar, min(prices_for, availability_for), listed, known)


def _day_status(bookable: list[dict], statuses: list[str], *, complete: bool) -> DayStatus:
    if bookable:
        return DayStatus.AVAILABLE
    if not complete:
        return DayStatus.UNKNOWN
    if "sold_out" in statuses:
        return DayStatus.SOLD_OUT
    return DayStatus.UNAVAILABLE if statuses else DayStatus.NO_SAILING


def _compute(query: CalendarQuery) -> tuple[dict, int]:
    """{"days": {iso day: [the rows the lowest price and availability need]}, "operators": statuses}, and its TTL."""
    origin, destination, routes = leg_routes(query.leg(query.first))
    operators = sorted({route.operator for route in routes}, key=lambda op: op.code)
    offers, statuses = ask_operators(operators, query, routes=routes)
    days: dict[str, list[dict]] = {}
    fresh = {}
    for day, day_offers in offers.items():
        rows = offer_rows(day_offers, origin, destination)
        fresh |= {row["sailing_id"]: offer.availability for row, offer in rows}
        days[day.isoformat()] = [_kept(row) for row, _offer in rows]
    cache_service.set_availabilities(fresh, after_miss=False)
    complete = all(status["status"] == "ok" for status in statuses)
    return {"days": days, "operators": statuses}, SEARCH_TTL if complete else PARTIAL_SEARCH_TTL


def _kept(row: dict) -> dict:
    """What the calendar keeps of a search row: enough to lay availability over it and find the lowest price."""
    keys = ("sailing_id", "sailing_ref", "departs_at", "max_vehicle_height_cm")
    return {key: row[key] for key in keys} | {
        "operator": {"code": row["operator"]["code"]},
        "fares": [{"price": fare["price"]} for fare in row["fares"]],
    }
