"""The search cache's names and lifetimes: entry keys built from the normalised query, naming the searches each entry
is made of (what clearing reads: `made_of`), the counters of the hit rate."""

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable

import orjson
from django.utils.translation import get_language

from ferries.queries import NEARBY_DAYS, CalendarQuery, LegQuery, SearchQuery

SEARCH_TTL = 300
AVAILABILITY_TTL = 60
# An answer missing a slow or failing operator is kept briefly, so the operator is asked again soon.
PARTIAL_SEARCH_TTL = 30

SEARCH_LOOKUPS = "ferry:stats:search:lookups"
SEARCH_MISSES = "ferry:stats:search:misses"
AVAILABILITY_LOOKUPS = "ferry:stats:availability:lookups"
AVAILABILITY_MISSES = "ferry:stats:availability:misses"
COUNTERS = [SEARCH_LOOKUPS, SEARCH_MISSES, AVAILABILITY_LOOKUPS, AVAILABILITY_MISSES]

# The whole answers asked, scored by how often (halved at each warming, so old fame fades): the answer's key as
# member, its query kept beside the answer (`answer_query`) for as long as QUERY_NOTE_TTL.
POPULAR_ANSWERS = "ferry:popular:answers"
QUERY_NOTE_TTL = 3600


# Where the whole answers' keys start (searches', fare calendars'): the web processes' copies are of these.
ANSWER_PREFIX = "ferry:answer:"
CALENDAR_ANSWER_PREFIX = "ferry:calendar-answer:"
# Where the other entries' keys start: a leg's search, a fare calendar's prices, a sailing's availability.
SEARCH_PREFIX = "ferry:search:"
CALENDAR_PREFIX = "ferry:calendar:"
AVAILABILITY_PREFIX = "ferry:availability:"

# How far from a leg's day an answer's nearby days go (an answer is made of their searches too).
NEARBY_REACH = dt.timedelta(days=max(abs(n) for n in NEARBY_DAYS))


def _remembered(made, *args) -> str:
    """`made(*args)`, a key remembered by its functools.lru_cache: a repeated query (queries are equal and hashable)
    is not hashed again; one holding a list somewhere is made afresh, not remembered."""
    try:
        return made(*args)
    except TypeError:
        return made.__wrapped__(*args)


def search_key(params: LegQuery) -> str:
    return _remembered(_search_key, params)


@functools.lru_cache(maxsize=4000)  # a miss names its leg's entry twice (looked up, then kept): hashed once
def _search_key(params: LegQuery) -> str:
    digest = hashlib.sha256(_canonical(params.as_dict())).hexdigest()[:32]
    return f"{SEARCH_PREFIX}{_leg(params)}:{digest}"


def _leg(params: LegQuery) -> str:
    """A leg as keys name it (what `made_of` reads): its route and day."""
    return f"{params.origin}-{params.destination}:{params.day.isoformat()}"


def names_all(name: str, legs: Iterable[LegQuery]) -> bool:
    """Whether the key `name` names (`made_of`) each of the searches `legs`: clearing any of them then finds it."""
    return all(made_of_search(name, route=f"{leg.origin}-{leg.destination}", day=leg.day) for leg in legs)


def made_of_search(name: str, *, route: str | None = None, day: dt.date | None = None) -> bool:
    """Whether the entry kept under `name` is made of a search of `route` ("FROM-TO") on `day`, as its key names them
    (`made_of`); either left out: any. With both left out, every entry is, even one of no known kind."""
    if route is None and day is None:
        return True
    return any(
        (route is None or made == route) and (day is None or first <= day <= last)
        for made, first, last in made_of(name)
    )


def calendar_key(query: CalendarQuery) -> str:
    return _remembered(_calendar_key, query)


def calendar_answer_key(query: CalendarQuery) -> str:
    """The calendar's whole answer as sent, availability laid over (made of the same searches as its prices)."""
    return _remembered(_calendar_answer_key, query)


@functools.lru_cache(maxsize=1000)  # a hit names its answer's key at every request
def _calendar_key(query: CalendarQuery) -> str:
    digest = hashlib.sha256(_canonical(query.as_dict())).hexdigest()[:32]
    days = f"{query.first.isoformat()}:{query.last.isoformat()}"
    return f"{CALENDAR_PREFIX}{query.origin}-{query.destination}:{days}:{digest}"


@functools.lru_cache(maxsize=1000)
def _calendar_answer_key(query: CalendarQuery) -> str:
    return calendar_key(query).replace(CALENDAR_PREFIX, CALENDAR_ANSWER_PREFIX, 1)


def made_of(name: str) -> list[tuple[str, dt.date, dt.date]]:
    """The searches the entry kept under `name` was made of, as (route "FROM-TO", first day, last day), read from the
    name itself: clearing a route's or a day's searches needs no index written beside each entry. A leg's search is
    its route and day; a fare calendar (prices or answer) its route and days; a whole answer each leg's route, and
    the days around its day (NEARBY_REACH), whose searches it is made of when the day has nothing to book."""
    fields = name.split(":")
    try:
        if name.startswith(SEARCH_PREFIX):
            day = dt.date.fromisoformat(fields[3])
            return [(fields[2], day, day)]
        if name.startswith((CALENDAR_PREFIX, CALENDAR_ANSWER_PREFIX)):
            return [(fields[2], dt.date.fromisoformat(fields[3]), dt.date.fromisoformat(fields[4]))]
        if name.startswith(ANSWER_PREFIX):
            legs = fields[3:-1]  # after the language, before the digest: each leg's route and day
            days = [dt.date.fromisoformat(day) for day in legs[1::2]]
            return [(route, day - NEARBY_REACH, day + NEARBY_REACH) for route, day in zip(legs[::2], days, strict=True)]
    except (IndexError, ValueError):
        pass
    return []  # a name of no known kind: cleared only with all the searches


def lock_for(key: str) -> str:
    """The lock of the one computing the entry `key`."""
    return f"ferry:lock:{key}"


def answer_canonical(query: SearchQuery) -> str:
    """The query an answer answers, in the request's language, as text (`answer_query` keeps it, warming reads it)."""
    legs = [leg.as_dict() for leg in (query.outbound, query.inbound) if leg]
    return _canonical([legs, query.view.as_dict(), get_language()]).decode()


def answer_query(answer: str) -> str:
    """Where the query of the answer kept under `answer` is noted, for warming."""
    # Not under ANSWER_PREFIX: Redis tells every web process of each change there, and a note is nobody's copy.
    return answer.replace(ANSWER_PREFIX, "ferry:answer-query:", 1)


def answer_key(query: SearchQuery) -> str:
    """The whole answer's key: the query, and the active language (the request's), in which the answer names its
    price lines. A key per language costs a hit nothing, where naming the lines of an answer kept in no language
    would parse and render it again on every hit."""
    return _remembered(_answer_key, query, get_language())


@functools.lru_cache(maxsize=2000)  # a repeated search (queries are equal and hashable) does not hash again
def _answer_key(query: SearchQuery, language: str) -> str:
    legs = [leg.as_dict() for leg in (query.outbound, query.inbound) if leg]
    # The order and filters of the rows are part of the answer (the legs' searches are kept whatever they are).
    named = ":".join(_leg(leg) for leg in (query.outbound, query.inbound) if leg)
    digest = hashlib.sha256(_canonical([legs, query.view.as_dict()])).hexdigest()[:32]
    return f"{ANSWER_PREFIX}{language}:{named}:{digest}"


def _canonical(value) -> bytes:
    """A query as one text whatever the order of its parts: JSON, keys sorted (orjson: a tenth of `json`'s time)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def availability_key(sailing_id: int) -> str:
    return f"ferry:availability:{sailing_id}"


def answers_listing(sailing_id: int) -> str:
    """The set of the kept answers that list the sailing (dropped with its availability)."""
    return f"ferry:answers-listing:{sailing_id}"
