"""The search cache: ferry searches for 5 minutes, sailing availability for 1 minute, the API's answers whole.

`cache_service` keeps the brief's interface (`get_ferry_search`, `set_ferry_search`,
`clear_all_ferry_searches`, availability get/set). The cache is for display only: holds and sales
are decided in the database under a lock, never from here.

How it is kept honest:
- keys come from the normalised query (`LegQuery`), so parameter order, case and spelled-out
  defaults all land on the same entry;
- every entry is indexed in sorted sets scored by expiry (all searches, per route, per date), so
  clearing never needs `KEYS` and counts exactly what it removed, and the indexes prune themselves;
- a burst of identical misses computes once: the first takes a short lock, the others wait for
  its result;
- hits and misses are counted in Redis, so the hit rate covers every process;
- the API's answer to a whole query (both legs, availability laid over) is also kept as the bytes sent, so a
  repeated search costs one Redis round trip and no JSON work. It contains availability, so it is kept no longer
  than any part it was made of (the legs, the availability, the first sailing's close of sales) and is dropped
  with the availability of any sailing it lists, and with the searches of its routes and dates; a day with nothing
  to book offers nearby dates, and the answer is made of their searches too, so they count as its parts. It names
  its price lines in the request's language, so it is kept once per language;
- when Redis fails, calls return "miss" at once for a few seconds instead of waiting on every
  request, and the failure is logged — search goes on without the cache.

With the embedded default (no Redis) the same logic runs on an in-process store.
"""

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import get_language
from django_redis import get_redis_connection

from ferries.queries import LegQuery, SearchQuery

logger = logging.getLogger(__name__)

SEARCH_TTL = 300
AVAILABILITY_TTL = 60
# An answer missing a slow or failing operator is kept briefly, so the operator is asked again soon.
PARTIAL_SEARCH_TTL = 30
# How long the waiting requests of a burst wait for the one computing, before computing themselves.
LOCK_WAIT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.02
# After a Redis error, how long to answer "miss" without trying Redis again.
BACKOFF_SECONDS = 5.0

SEARCH_INDEX = "ferry:index:search"
AVAILABILITY_INDEX = "ferry:index:availability"
ANSWER_INDEX = "ferry:index:answer"
SEARCH_LOOKUPS = "ferry:stats:search:lookups"

# Drops a sailing's availability and, atomically, every kept answer that lists the sailing.
_DROP_AVAILABILITY = """
local answers = redis.call('SMEMBERS', KEYS[2])
for _, key in ipairs(answers) do
  redis.call('DEL', key)
end
return redis.call('DEL', KEYS[1], KEYS[2])
"""


class RedisStore:
    """The cache's Redis (django-redis's connection pool), with keys under the cache's prefix."""

    _drop_script = None

    def __init__(self):
        self.client = get_redis_connection("default")

    def key(self, name: str) -> str:
        return cache.make_key(name)

    def get_and_count(self, key: str, counter: str, amount: int = 1) -> bytes | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.key(key))
        pipe.incrby(self.key(counter), amount)
        return pipe.execute()[0]

    def lookup(self, key: str, counter: str | None) -> tuple[bytes | None, float]:
        """(value, seconds it has left), counted as a lookup under `counter` when given."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.key(key))
        pipe.pttl(self.key(key))
        if counter:
            pipe.incr(self.key(counter))
        value, pttl = pipe.execute()[:2]
        return value, max(pttl, 0) / 1000

    def get_many_and_count(self, keys: list[str], counter: str) -> list[tuple[bytes | None, float]]:
        """[(value, seconds it has left)] of each key, all counted as lookups under `counter`."""
        pipe = self.client.pipeline(transaction=False)
        pipe.mget([self.key(k) for k in keys])
        for key in keys:
            pipe.pttl(self.key(key))
        pipe.incrby(self.key(counter), len(keys))
        values, *pttls = pipe.execute()[:-1]
        return [(value, max(pttl, 0) / 1000) for value, pttl in zip(values, pttls, strict=True)]

    def put_many(
        self,
        entries: dict[str, bytes],
        ttl: int,
        indexes: dict[str, list[str]],
        counter: str | None,
        sets: dict[str, list[str]] | None = None,
    ) -> None:
        """Store entries; index each under the given index names; count them as misses under `counter`; add them
        to the given sets (which outlive them by a minute)."""
        now = time.time()
        expires = now + ttl
        pipe = self.client.pipeline(transaction=False)
        for key, value in entries.items():
            pipe.set(self.key(key), value, ex=ttl)
        for index, keys in indexes.items():
            index_key = self.key(index)
            pipe.zadd(index_key, {self.key(k): expires for k in keys})
            pipe.zremrangebyscore(index_key, "-inf", now)
            pipe.expire(index_key, ttl + 60)
        for name, keys in (sets or {}).items():
            pipe.sadd(self.key(name), *[self.key(k) for k in keys])
            pipe.expire(self.key(name), ttl + 60)
        if counter:
            pipe.incrby(self.key(counter), len(entries))
        pipe.execute()

    def delete_with_set_members(self, key: str, set_name: str) -> None:
        """Delete `key`, every key listed in the set `set_name`, and the set."""
        if RedisStore._drop_script is None:
            RedisStore._drop_script = self.client.register_script(_DROP_AVAILABILITY)
        RedisStore._drop_script(keys=[self.key(key), self.key(set_name)], client=self.client)

    def delete_indexed(self, indexes: list[str]) -> int:
        """Delete the live entries present in every one of `indexes`; answers how many were deleted."""
        now = time.time()
        members = None
        for index in indexes:
            found = set(self.client.zrangebyscore(self.key(index), now, "+inf"))
            members = found if members is None else members & found
        if not members:
            return 0
        deleted = 0
        batch = list(members)
        for start in range(0, len(batch), 500):
            chunk = batch[start : start + 500]
            deleted += self.client.delete(*chunk)
            for index in indexes:
                self.client.zrem(self.key(index), *chunk)
        return deleted

    def count_indexed(self, index: str) -> int:
        return self.client.zcount(self.key(index), time.time(), "+inf")

    def counters(self, names: list[str]) -> list[int]:
        return [int(value or 0) for value in self.client.mget([self.key(n) for n in names])]

    def reset_counters(self, names: list[str]) -> None:
        self.client.delete(*[self.key(n) for n in names])

    def lock(self, name: str, ttl: float) -> str | None:
        token = secrets.token_hex(8)
        return token if self.client.set(self.key(name), token, nx=True, px=int(ttl * 1000)) else None

    def unlock(self, name: str, token: str) -> None:
        # Only the holder releases; a lock that expired and was taken again is left alone.
        if self.client.get(self.key(name)) == token.encode():
            self.client.delete(self.key(name))


class LocalStore:
    """The same operations in this process's memory, for the embedded default (no Redis)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, bytes]] = {}
        self._indexes: dict[str, dict[str, float]] = {}
        self._sets: dict[str, set[str]] = {}
        self._counters: dict[str, int] = {}

    def key(self, name: str) -> str:
        return name

    def get(self, key: str) -> bytes | None:
        with self._lock:
            expires, value = self._values.get(key, (0.0, None))
            return value if expires > time.time() else None

    def get_and_count(self, key: str, counter: str, amount: int = 1) -> bytes | None:
        self._count(counter, amount)
        return self.get(key)

    def lookup(self, key: str, counter: str | None) -> tuple[bytes | None, float]:
        if counter:
            self._count(counter, 1)
        with self._lock:
            expires, value = self._values.get(key, (0.0, None))
        left = expires - time.time()
        return (value, left) if left > 0 else (None, 0.0)

    def get_many_and_count(self, keys: list[str], counter: str) -> list[tuple[bytes | None, float]]:
        self._count(counter, len(keys))
        return [self.lookup(k, None) for k in keys]

    def put_many(
        self,
        entries: dict[str, bytes],
        ttl: int,
        indexes: dict[str, list[str]],
        counter: str | None,
        sets: dict[str, list[str]] | None = None,
    ) -> None:
        expires = time.time() + ttl
        with self._lock:
            for key, value in entries.items():
                self._values[key] = (expires, value)
            for index, keys in indexes.items():
                self._indexes.setdefault(index, {}).update(dict.fromkeys(keys, expires))
            for name, keys in (sets or {}).items():
                self._sets.setdefault(name, set()).update(keys)
        if counter:
            self._count(counter, len(entries))

    def delete_with_set_members(self, key: str, set_name: str) -> None:
        with self._lock:
            for member in [key, *self._sets.pop(set_name, ())]:
                self._values.pop(member, None)

    def delete_indexed(self, indexes: list[str]) -> int:
        now = time.time()
        with self._lock:
            sets = [{k for k, exp in self._indexes.get(i, {}).items() if exp > now} for i in indexes]
            members = set.intersection(*sets) if sets else set()
            for index in indexes:
                for key in members:
                    self._indexes.get(index, {}).pop(key, None)
            return sum(1 for key in members if self._values.pop(key, (0.0, None))[0] > now)

    def count_indexed(self, index: str) -> int:
        now = time.time()
        with self._lock:
            return sum(1 for exp in self._indexes.get(index, {}).values() if exp > now)

    def counters(self, names: list[str]) -> list[int]:
        with self._lock:
            return [self._counters.get(n, 0) for n in names]

    def reset_counters(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self._counters.pop(name, None)

    def lock(self, name: str, ttl: float) -> str | None:
        with self._lock:
            expires, _ = self._values.get(name, (0.0, None))
            if expires > time.time():
                return None
            token = secrets.token_hex(8)
            self._values[name] = (time.time() + ttl, token.encode())
            return token

    def unlock(self, name: str, token: str) -> None:
        with self._lock:
            if self._values.get(name, (0.0, b""))[1] == token.encode():
                del self._values[name]

    def _count(self, counter: str, n: int) -> None:
        with self._lock:
            self._counters[counter] = self._counters.get(counter, 0) + n


class FerryCacheService:
    def __init__(self):
        self._local = LocalStore()
        self._down_until = 0.0

    # --- searches -------------------------------------------------------------------------------

    def search_key(self, params: LegQuery) -> str:
        canonical = json.dumps(params.as_dict(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
        return f"ferry:search:{params.origin}-{params.destination}:{params.day.isoformat()}:{digest}"

    def get_ferry_search(self, params: LegQuery) -> dict | None:
        return self._lookup_search(params, counted=True)[0]

    def _lookup_search(self, params: LegQuery, *, counted: bool) -> tuple[dict | None, float]:
        """(the cached result or None, seconds it has left); `counted` as a lookup unless already counted."""
        if not settings.SEARCH_CACHE:
            return None, 0.0
        counter = SEARCH_LOOKUPS if counted else None
        raw, left = self._call(lambda store: store.lookup(self.search_key(params), counter)) or (None, 0.0)
        return (json.loads(raw), left) if raw else (None, 0.0)

    def set_ferry_search(self, params: LegQuery, results: dict, ttl: int = SEARCH_TTL) -> None:
        if not settings.SEARCH_CACHE:
            return
        key = self.search_key(params)
        indexes = {
            SEARCH_INDEX: [key],
            f"{SEARCH_INDEX}:route:{params.origin}-{params.destination}": [key],
            f"{SEARCH_INDEX}:date:{params.day.isoformat()}": [key],
        }
        payload = {key: json.dumps(results, separators=(",", ":")).encode()}
        self._call(lambda store: store.put_many(payload, ttl, indexes, "ferry:stats:search:misses"))

    def get_or_compute_ferry_search(self, params: LegQuery, compute: Callable[[], tuple[dict, int]]) -> dict:
        """The cached result, or `compute()`'s (result, ttl) — computed once for a burst of identical misses."""
        return self.ferry_search_entry(params, compute)[0]

    def ferry_search_entry(
        self, params: LegQuery, compute: Callable[[], tuple[dict, int]], *, counted: bool = True
    ) -> tuple[dict, float]:
        """(result, seconds it stays cached) as get_or_compute_ferry_search; 0 seconds when it was not cached."""
        if not settings.SEARCH_CACHE:
            return compute()[0], 0.0
        found, left = self._lookup_search(params, counted=counted)
        if found is not None:
            return found, left
        lock_name = f"ferry:lock:{self.search_key(params)}"
        token = self._call(lambda store: store.lock(lock_name, ttl=LOCK_WAIT_SECONDS))
        if token is None and not self._is_down():
            found, left = self._wait_for(params)
            if found is not None:
                return found, left
        try:
            results, ttl = compute()
            if ttl:
                self.set_ferry_search(params, results, ttl=ttl)
            return results, float(ttl) if not self._is_down() else 0.0
        finally:
            if token:
                self._call(lambda store: store.unlock(lock_name, token))

    # --- whole answers --------------------------------------------------------------------------

    def answer_key(self, query: SearchQuery) -> str:
        """The whole answer's key: the query, and the active language (the request's), in which the answer names
        its price lines. A key per language costs a hit nothing, where naming the lines of an answer kept in no
        language would parse and render it again on every hit."""
        legs = [leg.as_dict() for leg in (query.outbound, query.inbound) if leg]
        canonical = json.dumps(legs, sort_keys=True, separators=(",", ":"))
        return f"ferry:answer:{get_language()}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"

    def get_search_answer(self, query: SearchQuery) -> bytes | None:
        """The answer kept for the whole query, as sent; its legs count as lookups whether it is found or not."""
        if not settings.SEARCH_CACHE:
            return None
        legs = 2 if query.inbound else 1
        return self._call(lambda store: store.get_and_count(self.answer_key(query), SEARCH_LOOKUPS, legs))

    def set_search_answer(
        self, query: SearchQuery, body: bytes, *, ttl: int, sailing_ids: list[int], nearby: Iterable[LegQuery] = ()
    ) -> None:
        """Keep the answer `ttl` seconds at most, dropped earlier with the availability of any of `sailing_ids`, and
        with the searches of its legs and of the `nearby` searches it was made from (the dates it offers instead)."""
        if not settings.SEARCH_CACHE or ttl <= 0:
            return
        key = self.answer_key(query)
        indexes = {ANSWER_INDEX: [key]}
        for leg in (query.outbound, query.inbound, *nearby):
            if leg:
                indexes[f"{ANSWER_INDEX}:route:{leg.origin}-{leg.destination}"] = [key]
                indexes[f"{ANSWER_INDEX}:date:{leg.day.isoformat()}"] = [key]
        sets = {self._answers_listing(i): [key] for i in sailing_ids}
        self._call(lambda store: store.put_many({key: body}, ttl, indexes, None, sets))

    def clear_all_ferry_searches(self) -> int:
        return self.clear_ferry_searches()

    def clear_ferry_searches(self, *, route: str | None = None, date: str | None = None) -> int:
        """Remove cached searches (all, or of one route "FROM-TO" and/or one date); answers how many went."""

        def named(index: str) -> list[str]:
            return (
                [index]
                + ([f"{index}:route:{route.upper()}"] if route else [])
                + ([f"{index}:date:{date}"] if date else [])
            )

        # The whole answers made of these searches go too (not counted: they are copies, not searches).
        self._call(lambda store: store.delete_indexed(named(ANSWER_INDEX)), strict=True)
        return self._call(lambda store: store.delete_indexed(named(SEARCH_INDEX)), strict=True)

    # --- availability ---------------------------------------------------------------------------

    def get_availability(self, sailing_id: int) -> dict | None:
        return self.get_availabilities([sailing_id]).get(sailing_id)

    def get_availabilities(self, sailing_ids: list[int]) -> dict[int, dict]:
        return {i: found for i, (found, _left) in self.availability_entries(sailing_ids).items()}

    def availability_entries(self, sailing_ids: list[int]) -> dict[int, tuple[dict, float]]:
        """{sailing id: (availability, seconds it has left)} of the cached ones."""
        if not sailing_ids or not settings.SEARCH_CACHE:
            return {}
        keys = [self._availability_key(i) for i in sailing_ids]
        found = self._call(lambda store: store.get_many_and_count(keys, "ferry:stats:availability:lookups"))
        return {i: (json.loads(raw), left) for i, (raw, left) in zip(sailing_ids, found or [], strict=False) if raw}

    def set_availability(self, sailing_id: int, data: dict, ttl: int = AVAILABILITY_TTL) -> None:
        self.set_availabilities({sailing_id: data}, ttl=ttl)

    def set_availabilities(self, data: dict[int, dict], ttl: int = AVAILABILITY_TTL, *, after_miss=True) -> None:
        """Store availability; `after_miss=False` when refreshing without a lookup (not counted as misses)."""
        if not data or not settings.SEARCH_CACHE:
            return
        entries = {self._availability_key(i): json.dumps(d).encode() for i, d in data.items()}
        indexes = {AVAILABILITY_INDEX: list(entries)}
        counter = "ferry:stats:availability:misses" if after_miss else None
        self._call(lambda store: store.put_many(entries, ttl, indexes, counter))

    def invalidate_availability(self, sailing_id: int) -> None:
        """Called whenever a sailing's capacity changes, so the next display reads the database."""
        key, answers = self._availability_key(sailing_id), self._answers_listing(sailing_id)
        self._call(lambda store: store.delete_with_set_members(key, answers))

    # --- figures --------------------------------------------------------------------------------

    def stats(self) -> dict:
        """Entries, lookups, hits, misses and hit rate, for searches and availability."""
        names = [f"ferry:stats:{kind}:{what}" for kind in ("search", "availability") for what in ("lookups", "misses")]
        counts = self._call(lambda store: store.counters(names), strict=True)
        entries = self._call(lambda store: [store.count_indexed(i) for i in (SEARCH_INDEX, AVAILABILITY_INDEX)])
        figures = {}
        for i, kind in enumerate(("search", "availability")):
            lookups, misses = counts[2 * i], counts[2 * i + 1]
            hits = max(lookups - misses, 0)
            figures[kind] = {
                "entries": entries[i],
                "lookups": lookups,
                "hits": hits,
                "misses": lookups - hits,
                "hit_rate": round(hits / lookups, 4) if lookups else None,
            }
        return figures

    def reset_stats(self) -> None:
        names = [f"ferry:stats:{kind}:{what}" for kind in ("search", "availability") for what in ("lookups", "misses")]
        self._call(lambda store: store.reset_counters(names), strict=True)

    def forget_failures(self) -> None:
        """Try Redis again at the next call (after an outage is known to be over)."""
        self._down_until = 0.0

    # --- plumbing -------------------------------------------------------------------------------

    def _availability_key(self, sailing_id: int) -> str:
        return f"ferry:availability:{sailing_id}"

    def _answers_listing(self, sailing_id: int) -> str:
        return f"ferry:answers-listing:{sailing_id}"

    def _store(self):
        if settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
            return RedisStore()
        return self._local

    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, operation, *, strict: bool = False):
        """Run `operation(store)`; on a Redis failure log it, back off for a few seconds, answer None.

        `strict` operations (clearing, figures) are asked for by a person, who should see the error.
        """
        if self._is_down() and not strict:
            return None
        try:
            return operation(self._store())
        except redis.RedisError as exc:
            if strict:
                raise
            self._down_until = time.monotonic() + BACKOFF_SECONDS
            logger.warning("ferry cache unavailable, searching without it for %ss: %r", BACKOFF_SECONDS, exc)
            return None

    def _wait_for(self, params: LegQuery) -> tuple[dict | None, float]:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        key = self.search_key(params)
        while time.monotonic() < deadline:
            time.sleep(LOCK_POLL_SECONDS)
            raw, left = self._call(lambda store: store.lookup(key, None)) or (None, 0.0)
            if raw:
                return json.loads(raw), left
            if self._is_down():
                return None, 0.0
        return None, 0.0


cache_service = FerryCacheService()
