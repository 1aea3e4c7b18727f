"""Warming the search cache: the whole answers asked most lately, made again shortly before they expire.

Each lookup of a whole answer adds to its fame (a sorted set, in the lookup's own round trip); every run of
`warm_popular_searches` (beat, every 15 seconds) makes the SEARCH_WARM_TOP most asked answers again when they are
gone or have less than SEARCH_WARM_WITHIN seconds left, then fades every fame a little, so what was asked long ago
stops being warmed. An answer is made as the API sends it (here, for the same bytes), in the language it was asked
in; its parts that would expire with it are made afresh (ferries.search.warm_search_answer).
"""

import logging

from django.conf import settings
from django.utils import translation

from ferries.api.views import answer_bytes
from ferries.cache import cache_service
from ferries.queries import searchable_days
from ferries.search import warm_search_answer

logger = logging.getLogger(__name__)

# Asked at least this often lately (fame fades at each run) to be warmed: a search asked once is not.
LEAST_ASKED = 2.0


def warm_popular_searches() -> int:
    """How many answers were made again."""
    first, last = searchable_days()
    warmed = 0
    due = cache_service.popular_answers_due(
        top=settings.SEARCH_WARM_TOP, within=settings.SEARCH_WARM_WITHIN, least=LEAST_ASKED
    )
    for language, query in due:
        days = [leg.day for leg in (query.outbound, query.inbound) if leg]
        if min(days) < first or max(days) > last:  # no longer searchable: let it go
            continue
        with translation.override(language):
            warm_search_answer(query=query, render=answer_bytes, margin=settings.SEARCH_WARM_WITHIN)
        warmed += 1
    if due:
        logger.info("search cache: %s of the most asked answers made again", warmed)
    return warmed
