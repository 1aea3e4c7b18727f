"""`cache_service`: the search cache's interface (ferries/cache/__init__.py says what it keeps and why)."""

import contextlib
import datetime as dt
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
import redis
from django.conf import settings

from ferries.cache import keys
from ferries.cache.first_level import Copy, FirstLevel, Listener
from ferries.cache.keys import AVAILABILITY_TTL, SEARCH_TTL
from ferries.cache.redis_store import LegLocks, RedisStore
from ferries.cache.stores import CacheStore
from ferries.queries import CalendarQuery, LegQuery, ResultsView, SearchQuery
from kernel.metrics import CACHE_LOOKUPS, CACHE_MISSES
from kernel.outage import cache_breaker
from kernel.throttling import Rider, send_counted_ahead

logger = logging.getLogger("ferries.cache")

# How long the waiting requests of a burst wait for the one computing, before computing themselves; how often
# they look for its result meanwhile.
LOCK_WAIT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.02

# The counters kept in Redis, and the Prometheus counter that counts the same (kernel/metrics.py), with its label.
PROMETHEUS_COUNTERS = {
    keys.SEARCH_LOOKUPS: (CACHE_LOOKUPS, "search"),
    keys.SEARCH_MISSES: (CACHE_MISSES, "search"),
    keys.AVAILABILITY_LOOKUPS: (CACHE_LOOKUPS, "availability"),
    keys.AVAILABILITY_MISSES: (CACHE_MISSES, "availability"),
}

# The answers this process keeps copies of (first_level.py), by the start of their keys: Redis tells of their changes.
COPIED = [keys.ANSWER_PREFIX, keys.CALENDAR_ANSWER_PREFIX]

# How the fame of the answers asked fades at each warming (a score multiplied by it), and below which it is forgotten.
POPULARITY_FADING = 0.75
POPULARITY_FORGOTTEN = 0.5


@dataclass
class AnswerLookup:
    """A whole answer looked up in one Redis round trip: its counts (the lookups of its legs, its fame) and its script
    (the entry's expiry, its bytes unless this process holds a copy that stands; when it is missing, its legs' entries,
    their locks taken for those missing), as `rider`, which goes in the request's rate-limit round trip
    (kernel.throttling.ride_along) or is sent alone by `get_search_answer`. It is answered once: asked again, it gives
    what it found the first time (`found`), without counting or reading anything. A miss then searches its legs with
    what it found of them (`legs_looked_up`); the locks no search used are given back (`give_back`)."""

    key: str
    legs: int
    copy: Copy | None
    rider: Rider
    told: bool = False  # whether Redis tells this process of the answers' changes: a copy is then sent as it is
    read_at: int | None = None  # the changes told before the read (FirstLevel.mark)
    leg_locks: LegLocks | None = None  # the legs' entries and locks, in the order the script looks them up
    leg_names: list[str] = field(default_factory=list)
    answered: bool = False
    found: bytes | None = None
    legs_found: dict[str, tuple] | None = None  # by leg entry, as `_lookup_or_lock` gives each, until a search uses it


# Set while warming (`FerryCacheService.warming`): the seconds below which an entry reads as missing.
_warming = threading.local()

# Set while a miss makes its answer (`FerryCacheService.legs_looked_up`): its legs' lookups made with the answer's.
_looked_up = threading.local()

# Set when this thread kept a whole answer whose writes are held back (`_keep_whole_answer`), until Redis's answer to
# them is read (`FerryCacheService.settle`).
_own_answer = threading.local()


class FerryCacheService:
    def __init__(self):
        self._local = CacheStore()
        self.first_level = FirstLevel()
        self.listener = Listener(self.first_level)

    # --- searches -------------------------------------------------------------------------------

    def search_key(self, params: LegQuery) -> str:
        return keys.search_key(params)

    def get_ferry_search(self, params: LegQuery) -> dict | None:
        return self._lookup_search(params, counted=True)[0]

    def _lookup_search(self, params: LegQuery, *, counted: bool) -> tuple[dict | None, float]:
        """(the cached result or None, seconds it has left); `counted` as a lookup unless already counted."""
        if not settings.SEARCH_CACHE:
            return None, 0.0
        return self._lookup(keys.search_key(params), keys.SEARCH_LOOKUPS if counted else None)

    def _lookup(self, key: str, counter: str | None) -> tuple[dict | None, float]:
        margin = _warming_margin()
        counter = counter if margin is None else None
        raw, left = self._call(lambda store: store.lookup(key, counter), counted=(counter, 1)) or (None, 0.0)
        if margin is not None and left < margin:
            return None, 0.0
        return (orjson.loads(raw), left) if raw else (None, 0.0)

    def set_ferry_search(self, params: LegQuery, results: dict, ttl: int = SEARCH_TTL) -> None:
        if not settings.SEARCH_CACHE:
            return
        payload = {keys.search_key(params): _dumps(results)}
        misses = keys.SEARCH_MISSES if _warming_margin() is None else None
        self._call(lambda store: store.put_many(payload, ttl, misses), counted=(misses, 1))

    def get_or_compute_ferry_search(self, params: LegQuery, compute: Callable[[], tuple[dict, int]]) -> dict:
        """The cached result, or `compute()`'s (result, ttl) — computed once for a burst of identical misses."""
        return self.ferry_search_entry(params, compute)[0]

    def ferry_search_entry(
        self, params: LegQuery, compute: Callable[[], tuple[dict, int]], *, counted: bool = True
    ) -> tuple[dict, float]:
        """(result, seconds it stays cached) as get_or_compute_ferry_search; 0 seconds when it was not cached.

        The first miss of a burst takes the search's lock and computes; the others read the entry every
        LOCK_POLL_SECONDS until it is there, or until the lock is free with nothing stored (then one of them takes
        the lock and computes). Waiting on the entry, not on the lock: a burst's waiters all read the answer as
        soon as it is stored, where taking the lock in turn would serve them one by one. A wait is bounded: past
        LOCK_WAIT_SECONDS, or with Redis away, a request computes without the lock."""
        return self.ferry_search_entries([params], lambda _params: compute(), counted=counted)[0]

    def ferry_search_entries(
        self, params: list[LegQuery], compute: Callable[[LegQuery], tuple[dict, int]], *, counted: bool = True
    ) -> list[tuple[dict, float]]:
        """`ferry_search_entry` of each search (the days around a day, say), looked up in one round trip, which takes
        the locks of those missing: this request makes those it took first, then waits for the others'."""
        if not settings.SEARCH_CACHE or not params:  # none to look up (no day around with sailings): no round trip
            return [(compute(leg)[0], 0.0) for leg in params]
        names = [keys.search_key(leg) for leg in params]
        looked_up = self._lookup_or_lock(names, keys.SEARCH_LOOKUPS if counted else None)
        made = {}
        for i in sorted(range(len(params)), key=lambda i: not looked_up[i][3]):  # those it holds the locks of first

            def store(results: dict, ttl: int, leg: LegQuery = params[i]) -> None:
                self.set_ferry_search(leg, results, ttl=ttl)

            made[i] = self._settle(names[i], looked_up[i], lambda leg=params[i]: compute(leg), store)
        return [made[i] for i in range(len(params))]

    def _entry(
        self,
        key: str,
        compute: Callable[[], tuple[dict, int]],
        store: Callable[[dict, int], None],
        *,
        counter: str | None = None,
    ) -> tuple[dict, float]:
        """(the entry `key`, seconds it stays cached), computed once for a burst of misses and kept by `store`."""
        return self._settle(key, self._lookup_or_lock([key], counter)[0], compute, store)

    def _settle(
        self,
        key: str,
        looked_up: tuple[dict | None, float, object | None, bool],
        compute: Callable[[], tuple[dict, int]],
        store: Callable[[dict, int], None],
    ) -> tuple[dict, float]:
        """(the entry `key`, seconds it stays cached) after its lookup (`_lookup_or_lock`'s): found; or computed and
        kept by `store`, its lock (if this request took it) given back; or waited for while another computes it."""
        found, left, lock, held = looked_up
        if found is not None:
            return found, left
        try:
            if lock is not None and not held:
                # What this request made so far, and the locks it took for it, go out before it waits: another miss
                # may be waiting for them while holding what this one waits for (two searches of the same party on
                # days near each other, each searching the other's day), and would otherwise wait out the timeout.
                self._call(lambda store: store.send_held())
                found, left, held = self._wait_for(key, lock)
                if found is not None:
                    return found, left
            results, ttl = compute()
            if ttl:
                store(results, ttl)
            return results, float(ttl) if not cache_breaker.is_open() else 0.0
        finally:
            if held:
                self._call(lambda store: store.release(lock))

    def _lookup_or_lock(
        self, names: list[str], counter: str | None
    ) -> list[tuple[dict | None, float, object | None, bool]]:
        """For each entry, (the entry or None, seconds it has left, its lock, whether this request took it): on a
        miss the lock is taken in the lookup's round trip, one for them all. While warming (an entry with too little
        left reads as missing), each lock is taken after its lookup."""
        if _warming_margin() is not None:
            return [self._lookup_then_lock(name) for name in names]
        known = getattr(_looked_up, "legs", None) or {}
        if counter is None and all(name in known for name in names):  # looked up with the answer, counted there
            found = [known.pop(name) for name in names]
        else:
            lock_names = [keys.lock_for(name) for name in names]
            found = self._call(
                lambda store: store.lookup_or_lock(names, counter, lock_names, timeout=LOCK_WAIT_SECONDS),
                counted=(counter, len(names)),
            )
        if found is None:  # Redis away: computed without a lock
            return [(None, 0.0, None, False)] * len(names)
        return [
            (orjson.loads(raw), left, None, False) if raw else (None, 0.0, lock, held)
            for raw, left, lock, held in found
        ]

    def _lookup_then_lock(self, name: str) -> tuple[dict | None, float, object | None, bool]:
        found, left = self._lookup(name, None)
        if found is not None:
            return found, left, None, False
        lock = self._call(lambda store: store.lock(keys.lock_for(name), timeout=LOCK_WAIT_SECONDS))
        held = lock is not None and bool(self._call(lambda _store: lock.acquire(blocking=False)))
        return None, 0.0, lock, held

    def _wait_for(self, key: str, lock) -> tuple[dict | None, float, bool]:
        """(the entry another request computed, seconds it has left, whether this one took the lock instead)."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while time.monotonic() < deadline and not cache_breaker.is_open():
            time.sleep(LOCK_POLL_SECONDS)
            found, left = self._lookup(key, None)
            if found is not None:
                return found, left, False
            if self._call(lambda _store: lock.acquire(blocking=False)):
                # Stored and released since the read above, or freed with nothing stored: read once more to know.
                found, left = self._lookup(key, None)
                if found is None:
                    return None, 0.0, True
                self._call(lambda store: store.release(lock))
                return found, left, False
        return None, 0.0, False

    # --- fare calendars -------------------------------------------------------------------------

    def calendar_entry(self, query: CalendarQuery, compute: Callable[[], tuple[dict, int]]) -> tuple[dict, float]:
        """The fare calendar's prices kept for `query` (availability is laid over them at every read), or
        `compute()`'s, kept one answer for all its days; dropped with the searches of its route or of any of its
        days (clear_ferry_searches)."""
        if not settings.SEARCH_CACHE:
            return compute()[0], 0.0
        return self._entry(
            keys.calendar_key(query), compute, lambda results, ttl: self._set_calendar(query, results, ttl)
        )

    def _set_calendar(self, query: CalendarQuery, results: dict, ttl: int) -> None:
        payload = {keys.calendar_key(query): _dumps(results)}
        self._call(lambda store: store.put_many(payload, ttl, None))

    def calendar_answer_lookup(self, query: CalendarQuery) -> AnswerLookup | None:
        """As `answer_lookup`, for the calendar's whole answer (its lookups are not counted as searches')."""
        if not self._lookups_ride():
            return None
        return self._kept_lookup(keys.calendar_answer_key(query), 0, lambda _store: [])

    def get_calendar_answer(self, query: CalendarQuery, lookup: AnswerLookup | None = None) -> bytes | None:
        """The calendar's whole answer as sent, availability laid over, while none of it has changed."""
        if not settings.SEARCH_CACHE:
            return None
        lookup = lookup or self.calendar_answer_lookup(query)
        if lookup is None:
            found = self._call(lambda store: store.lookup(keys.calendar_answer_key(query), None))
            return found[0] if found else None
        return self._kept_answer(lookup, None)

    def set_calendar_answer(self, query: CalendarQuery, body: bytes, *, ttl: int, sailing_ids: list[int]) -> None:
        """Keep the calendar's whole answer `ttl` seconds at most, dropped earlier with the availability of any of
        `sailing_ids` and with the searches of its route or of any of its days, as its prices are."""
        if not settings.SEARCH_CACHE or ttl <= 0:
            return
        key = keys.calendar_answer_key(query)
        self._keep_whole_answer(key, body, ttl, sets={keys.answers_listing(i): [key] for i in sailing_ids})

    # --- whole answers --------------------------------------------------------------------------

    def answer_key(self, query: SearchQuery) -> str:
        return keys.answer_key(query)

    def answer_lookup(self, query: SearchQuery, *, with_legs: bool = True) -> AnswerLookup | None:
        """The lookup of the answer kept for the whole query, to send in the request's rate-limit round trip (with,
        should the answer be missing, its legs' lookups and locks, for the miss to use: `legs_looked_up`, or to give
        back: `give_back`); None where the cache is not Redis's (or is off, or away): `get_search_answer` then looks
        up on its own."""
        if not self._lookups_ride():  # before any key is made: a search not cached pays nothing here
            return None
        key = keys.answer_key(query)
        legs = 2 if query.inbound else 1
        names = list(dict.fromkeys(keys.search_key(leg) for leg in (query.outbound, query.inbound) if leg))
        return self._kept_lookup(
            key,
            legs,
            lambda store: [
                ("INCRBY", store.key(keys.SEARCH_LOOKUPS), legs),
                ("ZINCRBY", store.key(keys.POPULAR_ANSWERS), 1, key),
            ],
            names if with_legs else [],
        )

    def get_search_answer(self, query: SearchQuery, lookup: AnswerLookup | None = None) -> bytes | None:
        """The answer kept for the whole query, as sent; its legs count as lookups whether it is found or not.
        `lookup`: this query's `answer_lookup`, already sent with the rate limits when its rider has answers."""
        if not settings.SEARCH_CACHE:
            return None
        lookup = lookup or self.answer_lookup(query, with_legs=False)  # no locks: nothing here would give them back
        if lookup is None:
            legs = 2 if query.inbound else 1
            return self._call(
                lambda store: store.get_and_count(keys.answer_key(query), keys.SEARCH_LOOKUPS, legs),
                counted=(keys.SEARCH_LOOKUPS, legs),
            )
        return self._kept_answer(lookup, keys.SEARCH_LOOKUPS)

    def _kept_lookup(
        self, key: str, legs: int, counts: Callable[[RedisStore], list[tuple]], leg_names: list[str] = ()
    ) -> AnswerLookup | None:
        """The lookup of the answer kept as sent under `key`, with `counts` made in the same round trip, and the
        entries `leg_names` looked up (their locks taken) should the answer be missing."""
        store = _redis_store()
        copy = self.first_level.get(key)
        if copy is not None or not self.listener.standing():
            told = self.told_of_changes(store)  # what Redis said, read before the copy is looked at again
            copy = copy and self.first_level.get(key)
        else:
            # No copy to use: the lookup goes to Redis, and what Redis said meanwhile is left for the next lookup
            # that has one (or the idle read). A copy made from this read is checked against all Redis said after
            # it (`mark`, read before any use): reading it now would cost each web process every miss in the fleet.
            told = False
        if copy and told:  # nothing to read: the request may need no round trip at all
            return AnswerLookup(key, legs, copy, Rider(counts(store)), told=True)
        leg_names = list(leg_names)
        script, script_keys, args, locks = store.answer_script(
            key,
            copy.expires_at_ms if copy else None,
            leg_names,
            [keys.lock_for(name) for name in leg_names],
            timeout=LOCK_WAIT_SECONDS,
        )
        rider = Rider(counts(store), script, script_keys, args)
        return AnswerLookup(key, legs, copy, rider, told, self.first_level.mark(), locks, leg_names)

    def _lookups_ride(self) -> bool:
        """Whether a whole answer's lookup can go with the rate limits: the cache on, in Redis, and Redis there."""
        return settings.SEARCH_CACHE and self._in_redis() and not cache_breaker.is_open()

    def told_of_changes(self, store: RedisStore | None = None) -> bool:
        """Whether Redis tells this process of the kept answers' changes (its copies then stand as they are): made
        so at the first lookup, and again after the connection is lost."""
        if settings.SEARCH_ANSWER_LOCAL_TTL <= 0 or not self._in_redis():
            return False
        store = store or _redis_store()
        return self.listener.listening(store.client, store.key(""), COPIED)

    def _kept_answer(self, lookup: AnswerLookup, counter: str | None) -> bytes | None:
        """The answer `lookup` finds, sending it first unless it went with the rate limits."""
        if lookup.answered:
            return lookup.found
        rider = lookup.rider
        if rider.pending and self._call(lambda store: rider.run(store.client)) is None:
            return None  # Redis away
        _count_in_prometheus(counter, lookup.legs)
        lookup.found, lookup.answered = self._found(lookup), True
        return lookup.found

    def _found(self, lookup: AnswerLookup) -> bytes | None:
        """The answer the lookup found: this process's copy while Redis still keeps the entry it was copied from (as
        Redis told, or as the expiry read says), else the bytes read (then copied); None when it is gone, its legs
        then looked up."""
        if lookup.copy is not None and lookup.told:
            return lookup.copy.body
        expires_at, body, _legs = lookup.rider.answer
        if lookup.copy is not None:
            if body is None and expires_at == lookup.copy.expires_at_ms:
                return lookup.copy.body
            self.first_level.drop(lookup.key)  # dropped or kept again in Redis since copied
        if body is None:
            self._legs_found(lookup)
            return None
        self.first_level.put(
            lookup.key,
            body,
            expires_at_ms=expires_at,
            ttl=settings.SEARCH_ANSWER_LOCAL_TTL,
            size=settings.SEARCH_ANSWER_LOCAL_SIZE,
            read_at=lookup.read_at,
        )
        return body

    @staticmethod
    def _legs_found(lookup: AnswerLookup) -> dict[str, tuple]:
        """The legs' lookups the answer's script made (it found the answer missing), by leg entry, as
        `RedisStore.lookup_or_lock` gives each; those a search used are gone from it."""
        if lookup.legs_found is None:
            answer = lookup.rider.answer if lookup.rider.answered else None
            legs = lookup.leg_locks.found(answer[2]) if answer and answer[2] and lookup.leg_locks else []
            lookup.legs_found = dict(zip(lookup.leg_names, legs, strict=False))
        return lookup.legs_found

    @contextlib.contextmanager
    def legs_looked_up(self, lookup: AnswerLookup | None):
        """Within it (in this thread), the searches of the legs `lookup` looked up (its answer missing) use what it
        found of them, and the locks it took: no round trip of their own. Those not used are given back as it ends."""
        if lookup is None or not lookup.rider.answered:
            yield
            return
        _looked_up.legs = self._legs_found(lookup)
        try:
            yield
        finally:
            _looked_up.legs = None
            self.give_back(lookup)

    def give_back(self, lookup: AnswerLookup | None) -> None:
        """Give back the locks `lookup` took for its legs that no search used (the request refused by its limits, say,
        or failed before searching them), in one round trip, or with the writes held back if any."""
        if lookup is None or not lookup.rider.answered:
            return
        found = self._legs_found(lookup)
        held = [lock for _raw, _left, lock, taken in found.values() if taken]
        found.clear()
        if held:
            with self.writes_together():
                for lock in held:
                    self._call(lambda store, lock=lock: store.release(lock))

    def set_search_answer(
        self, query: SearchQuery, body: bytes, *, ttl: int, sailing_ids: list[int], nearby: Iterable[LegQuery] = ()
    ) -> None:
        """Keep the answer `ttl` seconds at most, dropped earlier with the availability of any of `sailing_ids`, and
        with the searches of its legs and of the `nearby` searches it was made from (the dates it offers instead)."""
        if not settings.SEARCH_CACHE or ttl <= 0:
            return
        key = keys.answer_key(query)
        if not keys.names_all(key, nearby):  # cleared with the searches its key names only: never kept stale
            logger.error("an answer made of searches its key does not name was not kept: %s", key)
            return
        sets = {keys.answers_listing(i): [key] for i in sailing_ids}
        notes = {keys.answer_query(key): keys.answer_canonical(query).encode()}
        self._keep_whole_answer(key, body, ttl, sets=sets, notes=notes)

    def _keep_whole_answer(self, key: str, body: bytes, ttl: int, *, sets: dict, notes: dict | None = None) -> None:
        """Keep a whole answer; what Redis then says of it is read as soon as Redis has kept it (`settle`, as the
        request ends, when `writes_together` sent it): this process's next lookup of it, finding it in Redis, can copy
        it at once, where what Redis said left unread would drop that copy (the other processes read what is said in
        batches, when they next use a copy or idle)."""
        kept = self._call(lambda store: store.put_many({key: body}, ttl, None, sets, notes) or True)
        if not kept or not self._in_redis():
            return
        if _redis_store().holding():
            _own_answer.kept = True
        else:
            self._read_what_was_said()

    def _read_what_was_said(self) -> None:
        if self.listener.standing():
            self.told_of_changes()

    def settle(self, **_signal) -> None:
        """Read Redis's answers to what this thread sent without waiting (`writes_together`), then what Redis said of
        a whole answer it kept. Called as a request or a task ends (ferries/apps.py), when Redis has mostly answered."""
        if not self._in_redis() or not (_redis_store().unread() or getattr(_own_answer, "kept", False)):
            return
        if cache_breaker.is_open():  # Redis away: what it owes is not waited for, its connection closed
            _redis_store().abandon()
        else:
            self._call(lambda store: store.settle())
        if getattr(_own_answer, "kept", False):
            _own_answer.kept = False
            self._read_what_was_said()

    @contextlib.contextmanager
    def writes_together(self):
        """Within it (in this thread), what is kept in Redis and the locks given back are sent together as it ends,
        in one command whose answer is read later (`settle`): a miss, which keeps its search, its availability and its
        answer, and gives back its lock, sends them in one write and does not wait. The entries and locks are others'
        to see only then, or earlier when the request waits for another's search (`_entry`); a burst's waiters,
        polling, see the entry as the lock is given back."""
        if not settings.SEARCH_CACHE or not self._in_redis() or cache_breaker.is_open():
            yield
            return
        with _redis_store().writes_together() as held:
            try:
                yield
            finally:
                if held is not None:  # else another's, sent as that one ends
                    self._call(lambda store: store.send_held())

    # --- warming --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def warming(self, margin: float):
        """Within it (in this thread), nothing is counted, and entries with less than `margin` seconds left read as
        missing: what is made again is kept as long as its parts allow."""
        _warming.margin = margin
        try:
            yield
        finally:
            _warming.margin = None

    def popular_answers_due(self, *, top: int, within: float, least: float) -> list[tuple[str, SearchQuery]]:
        """(language, query) of the `top` most asked whole answers (asked at least `least` times, fading at each
        call) that are gone or have less than `within` seconds left; Redis only (a local-memory cache is no other
        process's)."""
        if not settings.SEARCH_CACHE or not self._in_redis():
            return []
        self._call(lambda _store: send_counted_ahead())  # the fame this process holds, counted first
        found = self._call(
            lambda store: store.popular_due(
                keys.POPULAR_ANSWERS,
                top=top,
                least=least,
                within=within,
                fading=POPULARITY_FADING,
                forgotten=POPULARITY_FORGOTTEN,
            )
        )
        due = []
        for _key, note in found or []:
            legs, view, language = json.loads(note)
            shown = ResultsView(view["sort"], tuple(view["operators"]), tuple(view["departs"]), view["available_only"])
            outbound, inbound = LegQuery.from_dict(legs[0]), LegQuery.from_dict(legs[1]) if len(legs) > 1 else None
            due.append((language, SearchQuery(outbound=outbound, inbound=inbound, view=shown)))
        return due

    def clear_all_ferry_searches(self) -> int:
        return self.clear_ferry_searches()

    def clear_ferry_searches(self, *, route: str | None = None, date: str | None = None) -> int:
        """Remove cached searches (all, or of one route "FROM-TO" and/or one date "YYYY-MM-DD"); answers how many
        went. Each entry's key names the searches it is made of (keys.made_of): the cache's keys are read for those
        of the route and date, nothing having been written beside the entries for it."""
        route = route.upper() if route else None
        day = dt.date.fromisoformat(date) if date else None
        chosen = functools.partial(keys.made_of_search, route=route, day=day)
        # The whole answers and the fare calendars made of these searches go too (not counted: they are copies of
        # searches, or their summaries).
        self.first_level.clear()
        for prefix in (keys.ANSWER_PREFIX, keys.CALENDAR_ANSWER_PREFIX, keys.CALENDAR_PREFIX):
            self._call(lambda store, prefix=prefix: store.delete_kept(prefix, chosen), strict=True)
        # A route's searches are found by the start of their keys; a day's among all.
        searches = keys.SEARCH_PREFIX + (f"{route}:" if route else "")
        return self._call(lambda store: store.delete_kept(searches, chosen), strict=True)

    # --- availability ---------------------------------------------------------------------------

    def get_availability(self, sailing_id: int) -> dict | None:
        return self.get_availabilities([sailing_id]).get(sailing_id)

    def get_availabilities(self, sailing_ids: list[int]) -> dict[int, dict]:
        return {i: found for i, (found, _left) in self.availability_entries(sailing_ids, timed=False).items()}

    def availability_entries(self, sailing_ids: list[int], *, timed: bool = True) -> dict[int, tuple[dict, float]]:
        """{sailing id: (availability, seconds it has left — None unless `timed`)} of the cached ones."""
        if not sailing_ids or not settings.SEARCH_CACHE:
            return {}
        names = [keys.availability_key(i) for i in sailing_ids]
        margin = _warming_margin()
        counter = keys.AVAILABILITY_LOOKUPS if margin is None else None
        found = self._call(
            lambda store: store.get_many_and_count(names, counter, timed=timed), counted=(counter, len(names))
        )
        return {
            i: (orjson.loads(raw), left)
            for i, (raw, left) in zip(sailing_ids, found or [], strict=False)
            if raw and (margin is None or left is None or left >= margin)
        }

    def set_availability(self, sailing_id: int, data: dict, ttl: int = AVAILABILITY_TTL) -> None:
        self.set_availabilities({sailing_id: data}, ttl=ttl)

    def set_availabilities(self, data: dict[int, dict], ttl: int = AVAILABILITY_TTL, *, after_miss=True) -> None:
        """Store availability; `after_miss=False` when refreshing without a lookup (not counted as misses)."""
        if not data or not settings.SEARCH_CACHE:
            return
        entries = {keys.availability_key(i): _dumps(d) for i, d in data.items()}
        counter = keys.AVAILABILITY_MISSES if after_miss and _warming_margin() is None else None
        self._call(lambda store: store.put_many(entries, ttl, counter), counted=(counter, len(entries)))

    def invalidate_availability(self, sailing_id: int) -> None:
        """Called whenever a sailing's capacity changes, so the next display reads the database."""
        key, answers = keys.availability_key(sailing_id), keys.answers_listing(sailing_id)
        self._call(lambda store: store.delete_with_set_members(key, answers))

    # --- figures --------------------------------------------------------------------------------

    def stats(self, *, entries: bool = True) -> dict:
        """Entries (unless `entries` is false: they are counted by reading the cache's keys, where the rest is a few
        counters), lookups, hits, misses and hit rate, for searches and availability."""
        if self._in_redis():
            self._call(lambda _store: send_counted_ahead(), strict=True)  # the lookups this process holds, first
        counts = self._call(lambda store: store.counters(keys.COUNTERS), strict=True)
        kept = [None, None]
        if entries:
            prefixes = (keys.SEARCH_PREFIX, keys.AVAILABILITY_PREFIX)
            kept = self._call(lambda store: [store.count_kept(prefix) for prefix in prefixes]) or kept
        figures = {}
        for i, kind in enumerate(("search", "availability")):
            lookups, misses = counts[2 * i], counts[2 * i + 1]
            hits = max(lookups - misses, 0)
            figures[kind] = {
                "entries": kept[i],
                "lookups": lookups,
                "hits": hits,
                "misses": lookups - hits,
                "hit_rate": round(hits / lookups, 4) if lookups else None,
            }
        return figures

    def reset_stats(self) -> None:
        self._call(lambda store: store.reset_counters(keys.COUNTERS), strict=True)

    def forget_failures(self) -> None:
        """Try Redis again at the next call (after an outage is known to be over)."""
        cache_breaker.reset()
        self.listener.try_again()

    # --- plumbing -------------------------------------------------------------------------------

    def _replace_counts_of_another_kind(self) -> list[str] | None:
        """After a key of another kind was met outside the scripts: the cache's counts (its counters, the answers'
        fame), which no entry's keeping replaces, are made afresh if that is what they hold; answers their names
        (None when Redis could not say). An entry of another kind is replaced as it is kept again."""
        kinds = dict.fromkeys(keys.COUNTERS, b"string") | {keys.POPULAR_ANSWERS: b"zset"}
        try:
            replaced = self._store().replace_of_another_kind(kinds)
        except redis.RedisError:
            return None
        if replaced:
            logger.warning("the search cache replaced a key of another kind: %s", ", ".join(replaced))
        return replaced

    def _in_redis(self) -> bool:
        return settings.CACHES["default"]["BACKEND"].startswith("django_redis.")

    def _store(self) -> CacheStore:
        return _redis_store() if self._in_redis() else self._local

    def _call(self, operation, *, strict: bool = False, counted: tuple[str | None, int] = (None, 0)):
        """Run `operation(store)`; on a Redis failure log it, leave Redis alone for a few seconds, answer None.

        `strict` operations (clearing, figures) are asked for by a person, who should see the error. `counted`: the
        Redis counter the operation adds to, and by how much — added to its Prometheus twin once the operation ran,
        in memory (no round trip of its own).
        """
        if cache_breaker.is_open() and not strict:
            return None
        try:
            result = operation(self._store())
        except redis.RedisError as exc:
            if strict:
                raise
            if _of_another_kind(exc):  # one key's trouble, not Redis's: the cache stands for every other search
                logger.error("the search cache met a key of another kind (searched without it): %s", exc)
                replaced = self._replace_counts_of_another_kind()
                if replaced is not None and counted[0] not in replaced:
                    # The round trip's commands all ran but the one refused: Redis counted it, and so does its twin.
                    _count_in_prometheus(*counted)
                return None
            cache_breaker.trip(exc, message="ferry cache unavailable, searching without it for %ss: %r", log=logger)
            return None
        _count_in_prometheus(*counted)
        return result


# This thread's RedisStore, with the CACHES setting it was made for: made again when the setting changes.
_stores = threading.local()


def _redis_store() -> RedisStore:
    """This thread's RedisStore (the thread's cache client, as `caches["default"]` gives it): made once, not at
    every operation (a miss makes a dozen)."""
    made = getattr(_stores, "made", None)
    if made is None or made[0] is not settings.CACHES:
        made = _stores.made = (settings.CACHES, RedisStore())
    return made[1]


def _of_another_kind(exc: redis.RedisError) -> bool:
    """Whether Redis refused a command for the kind of value its key holds (WRONGTYPE): a key of the cache's made by
    hand or by a bug; its entry, made again, replaces it."""
    return isinstance(exc, redis.ResponseError) and str(exc).startswith("WRONGTYPE")


def _dumps(value) -> bytes:
    """An entry as kept: JSON by orjson (a leg's search ten times as fast as the standard library's, read again two
    and a half times as fast), keys not text (a resource, a sailing's id) written as text, as `json` writes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _count_in_prometheus(counter: str | None, amount: int) -> None:
    """Add to the Prometheus twin of a Redis counter what was added to it."""
    if counter and amount:
        _prometheus_twin(counter).inc(amount)


@functools.cache
def _prometheus_twin(counter: str):
    """The Prometheus counter, with its label, that counts what the Redis counter `counter` counts (looked up once: a
    label's lookup takes a lock and a tuple of its values at every call)."""
    metric, cache = PROMETHEUS_COUNTERS[counter]
    return metric.labels(cache=cache)


def _warming_margin() -> float | None:
    return getattr(_warming, "margin", None)


cache_service = FerryCacheService()
