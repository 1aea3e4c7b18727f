"""Warming the search cache: the whole answers asked most lately, made again shortly before they expire.

Each lookup of a whole answer adds to its fame (a sorted set, in the lookup's own round trip); every run of
`warm_popular_searches` (beat, every 15 seconds) makes the SEARCH_WARM_TOP most asked answers again when they are
gone or have less than SEARCH_WARM_WITHIN seconds left, then fades every fame a little, so what was asked long ago
stops being warmed. An answer is made as the API sends it (here, for the same bytes), in the language it was asked
in; its parts that would expire with it are made afresh (ferries.search.warm_search_answer).

One run at a time (a lock in the cache), and a run stops making answers after RUN_SECONDS, short of the next one:
warming runs on the `default` queue, which the bookings worker also takes, and must not hold its processes for long
(remote operators may take OPERATOR_TIMEOUT_SECONDS for each answer). What is left waits for the next run.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from ferries.cache import cache_service
from ferries.queries import searchable_days
from ferries.search import warm_search_answer

logger = logging.getLogger(__name__)

# Asked at least this often lately (fame fades at each run) to be warmed: a search asked once is not.
LEAST_ASKED = 2.0


# Less than the beat interval (15 s): a run is over before the next is sent.
RUN_SECONDS = 10.0
LOCK = "ferries:search-warming"


def warm_popular_searches(*, render: Callable[[dict], bytes]) -> int:
    """How many answers were made again (`render` makes an answer's bytes as the API sends them)."""
    if not cache.add(LOCK, 1, timeout=RUN_SECONDS + 5):  # another run is under way (or the cache is away)
        return 0
    try:
        return _warm(render, deadline=time.monotonic() + RUN_SECONDS)
    finally:
        cache.delete(LOCK)


def _warm(render: Callable[[dict], bytes], *, deadline: float) -> int:
    first, last = searchable_days()
    warmed = 0
    due = cache_service.popular_answers_due(
        top=settings.SEARCH_WARM_TOP, within=settings.SEARCH_WARM_WITHIN, least=LEAST_ASKED
    )
    for language, query in due:
        if time.monotonic() >= deadline:
            logger.info("search cache: warming stopped at its time limit, %s answers left", len(due) - warmed)
            break
        days = [leg.day for leg in (query.outbound, query.inbound) if leg]
        if min(days) < first or max(days) > last:  # no longer searchable: let it go
            continue
        with translation.override(language):
            warm_search_answer(query=query, render=render, margin=settings.SEARCH_WARM_WITHIN)
        warmed += 1
    if due:
        logger.info("search cache: %s of the most asked answers made again", warmed)
    return warmed
