"""The search cache's storage, written once against Django's cache API: local memory for `make run`, and the base
of the Redis store (ferries/cache/redis_store.py), which replaces only the operations Redis does in fewer round
trips.

Entries are kept with their expiry beside them, since the cache API cannot tell how long a key has left. The sets
are cache entries read and written back; `_guard` makes each such change whole within the process, which is all a
local-memory cache is shared by. The cache API cannot list its keys either: the names of the entries kept, with their
expiry, are noted in the process (`_kept`), for clearing and counting.
"""

import secrets
import threading
import time
from collections.abc import Callable

from django.core.cache import cache

from ferries.cache.keys import QUERY_NOTE_TTL

# Read-modify-write of sets and of the names kept, and taking or releasing a lock: one at a time in this process.
_guard = threading.Lock()

# The names of the entries kept in this process's cache, with their expiry; those gone are forgotten as the number
# noted doubles (`_note_kept`).
_kept: dict[str, float] = {}
_forget_at = [1024]


class LocalLock:
    """A lock for the one computing a search, with redis-py `Lock`'s `acquire` (not blocking: nobody waits on it)
    and `release`, over `cache.add`."""

    def __init__(self, name: str, *, timeout: float):
        self.name, self.timeout = name, timeout
        self.token = secrets.token_hex(8)

    def acquire(self, *, blocking: bool = False) -> bool:
        if blocking:
            raise ValueError("a local lock is only tried, never waited on")
        with _guard:
            return cache.add(self.name, self.token, timeout=self.timeout)

    def release(self) -> None:
        # Only the holder releases; a lock that expired and was taken again is left alone.
        with _guard:
            if cache.get(self.name) == self.token:
                cache.delete(self.name)


class CacheStore:
    """The cache's operations on `django.core.cache.cache`."""

    def send_held(self) -> None:
        """Nothing is held back here: every write is made at once."""

    def release(self, lock: LocalLock) -> None:
        lock.release()

    def lookup(self, key: str, counter: str | None) -> tuple[bytes | None, float]:
        """(value, seconds it has left), counted as a lookup under `counter` when given."""
        if counter:
            self._count(counter, 1)
        return _live(cache.get(key))

    def lookup_or_lock(
        self, keys: list[str], counter: str | None, lock_names: list[str], *, timeout: float
    ) -> list[tuple[bytes | None, float, "LocalLock | None", bool]]:
        """For each key, (value, seconds it has left, None, False) when found; else (None, 0, the entry's lock,
        whether this call took it)."""
        found = []
        for key, lock_name in zip(keys, lock_names, strict=True):
            value, left = self.lookup(key, counter)
            if value is not None:
                found.append((value, left, None, False))
                continue
            lock = self.lock(lock_name, timeout=timeout)
            found.append((None, 0.0, lock, lock.acquire(blocking=False)))
        return found

    def get_and_count(self, key: str, counter: str, amount: int = 1) -> bytes | None:
        self._count(counter, amount)
        return _live(cache.get(key))[0]

    def get_many_and_count(
        self, keys: list[str], counter: str | None, *, timed: bool = True
    ) -> list[tuple[bytes | None, float | None]]:
        """[(value, seconds it has left, or None unless `timed`)] of each key, all counted as lookups under
        `counter` when given."""
        if counter:
            self._count(counter, len(keys))
        found = cache.get_many(keys)
        return [_live(found.get(key)) for key in keys]

    def put_many(
        self,
        entries: dict[str, bytes],
        ttl: int,
        counter: str | None,
        sets: dict[str, list[str]] | None = None,
        notes: dict[str, bytes] | None = None,
    ) -> None:
        """Store entries; count them as misses under `counter`; add them to the given sets (which outlive them by a
        minute); keep the `notes` about them for QUERY_NOTE_TTL."""
        expires = time.time() + ttl
        cache.set_many({key: (expires, value) for key, value in entries.items()}, timeout=ttl)
        if notes:
            cache.set_many(notes, timeout=QUERY_NOTE_TTL)
        with _guard:
            _note_kept(entries, expires)
            for name, keys in (sets or {}).items():
                cache.set(name, cache.get(name, set()) | set(keys), timeout=ttl + 60)
        if counter:
            self._count(counter, len(entries))

    def delete_with_set_members(self, key: str, set_name: str) -> None:
        """Delete `key`, every key listed in the set `set_name`, and the set."""
        with _guard:
            cache.delete_many([key, set_name, *cache.get(set_name, ())])

    def delete_kept(self, prefix: str, chosen: Callable[[str], bool]) -> int:
        """Delete the entries kept under names starting with `prefix` that are `chosen`; answers how many of them
        were there to delete."""
        with _guard:
            names = [name for name in _kept if name.startswith(prefix) and chosen(name)]
            if not names:
                return 0
            deleted = sum(1 for found in cache.get_many(names).values() if _live(found)[0] is not None)
            cache.delete_many(names)
            for name in names:
                del _kept[name]
            return deleted

    def count_kept(self, prefix: str) -> int:
        """How many entries are kept under names starting with `prefix` (read, not only noted: the cache may have
        been emptied since)."""
        now = time.time()
        with _guard:
            names = [name for name, expires in _kept.items() if expires > now and name.startswith(prefix)]
        return sum(1 for found in cache.get_many(names).values() if _live(found)[0] is not None)

    def counters(self, names: list[str]) -> list[int]:
        found = cache.get_many(names)
        return [int(found.get(name) or 0) for name in names]

    def reset_counters(self, names: list[str]) -> None:
        cache.delete_many(names)

    def lock(self, name: str, *, timeout: float) -> LocalLock:
        return LocalLock(name, timeout=timeout)

    def _count(self, counter: str, amount: int) -> None:
        if not cache.add(counter, amount, timeout=None):
            cache.incr(counter, amount)


def _live(entry: tuple[float, bytes] | None) -> tuple[bytes | None, float]:
    expires, value = entry or (0.0, None)
    left = expires - time.time()
    return (value, left) if left > 0 else (None, 0.0)


def _note_kept(entries: dict[str, bytes], expires: float) -> None:
    """Note the names of entries kept (under `_guard`), forgetting those gone as the number noted doubles."""
    _kept.update(dict.fromkeys(entries, expires))
    if len(_kept) >= _forget_at[0]:
        now = time.time()
        for name in [name for name, until in _kept.items() if until <= now]:
            del _kept[name]
        _forget_at[0] = max(1024, 2 * len(_kept))
