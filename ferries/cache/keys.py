"""The search cache's names and lifetimes: entry keys built from the normalised query, the indexes that clearing and
counting read, the counters of the hit rate."""

import functools
import hashlib
import json

from django.utils.translation import get_language

from ferries.queries import CalendarQuery, LegQuery, SearchQuery

SEARCH_TTL = 300
AVAILABILITY_TTL = 60
# An answer missing a slow or failing operator is kept briefly, so the operator is asked again soon.
PARTIAL_SEARCH_TTL = 30

SEARCH_INDEX = "ferry:index:search"
AVAILABILITY_INDEX = "ferry:index:availability"
ANSWER_INDEX = "ferry:index:answer"
CALENDAR_INDEX = "ferry:index:calendar"

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


def search_key(params: LegQuery) -> str:
    try:
        return _search_key(params)
    except TypeError:  # a query holding a list somewhere: not remembered
        return _search_key.__wrapped__(params)


@functools.lru_cache(maxsize=4000)  # a miss names its leg's entry twice (looked up, then kept): hashed once
def _search_key(params: LegQuery) -> str:
    canonical = json.dumps(params.as_dict(), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"ferry:search:{params.origin}-{params.destination}:{params.day.isoformat()}:{digest}"


def calendar_key(query: CalendarQuery) -> str:
    canonical = json.dumps(query.as_dict(), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"ferry:calendar:{query.origin}-{query.destination}:{query.first.isoformat()}:{digest}"


def calendar_answer_key(query: CalendarQuery) -> str:
    """The calendar's whole answer as sent, availability laid over (kept under the calendar's indexes)."""
    return calendar_key(query).replace("ferry:calendar:", CALENDAR_ANSWER_PREFIX, 1)


def lock_for(key: str) -> str:
    """The lock of the one computing the entry `key`."""
    return f"ferry:lock:{key}"


def answer_canonical(query: SearchQuery) -> str:
    """The query an answer answers, in the request's language, as text (`answer_query` keeps it, warming reads it)."""
    legs = [leg.as_dict() for leg in (query.outbound, query.inbound) if leg]
    return json.dumps([legs, query.view.as_dict(), get_language()], sort_keys=True, separators=(",", ":"))


def answer_query(answer: str) -> str:
    """Where the query of the answer kept under `answer` is noted, for warming."""
    # Not under ANSWER_PREFIX: Redis tells every web process of each change there, and a note is nobody's copy.
    return answer.replace(ANSWER_PREFIX, "ferry:answer-query:", 1)


def answer_key(query: SearchQuery) -> str:
    """The whole answer's key: the query, and the active language (the request's), in which the answer names its
    price lines. A key per language costs a hit nothing, where naming the lines of an answer kept in no language
    would parse and render it again on every hit."""
    try:
        return _answer_key(query, get_language())
    except TypeError:  # a query holding a list somewhere: not remembered
        return _answer_key.__wrapped__(query, get_language())


@functools.lru_cache(maxsize=2000)  # a repeated search (queries are equal and hashable) does not hash again
def _answer_key(query: SearchQuery, language: str) -> str:
    legs = [leg.as_dict() for leg in (query.outbound, query.inbound) if leg]
    # The order and filters of the rows are part of the answer (the legs' searches are kept whatever they are).
    canonical = json.dumps([legs, query.view.as_dict()], sort_keys=True, separators=(",", ":"))
    return f"{ANSWER_PREFIX}{language}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def availability_key(sailing_id: int) -> str:
    return f"ferry:availability:{sailing_id}"


def answers_listing(sailing_id: int) -> str:
    """The set of the kept answers that list the sailing (dropped with its availability)."""
    return f"ferry:answers-listing:{sailing_id}"
