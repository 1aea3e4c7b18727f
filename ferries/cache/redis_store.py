"""The search cache's operations that Redis does in fewer round trips than Django's cache API: a lookup and its
count in one pipeline, the time an entry has left from Redis itself, all a request keeps — entries with their sets
and notes — written with the locks it gives back in one script, a sailing's availability dropped with the answers
listing it in one script, and redis-py's `Lock` for the one computing a search. Nothing is written beside an entry
for clearing or counting: its key names what it is made of (keys.py), and those rare operations read the keys
themselves (SCAN, never `KEYS`).

Entries are written here as raw bytes, under the cache's key prefix, through django-redis's own client: unlike the
cache API (IGNORE_EXCEPTIONS) it raises when Redis is away, which the service's breaker needs to know.
"""

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis
from django.core.cache import caches
from django.core.cache.backends.base import default_key_func
from redis.commands.core import Script
from redis.lock import Lock

from ferries.cache.keys import QUERY_NOTE_TTL, answer_query
from ferries.cache.stores import CacheStore
from kernel import process, redis_lane

logger = logging.getLogger("ferries.cache")

# Drops a sailing's availability and, atomically, every kept answer that lists the sailing (a list of another kind
# under the set's name, which can list none, is dropped with it).
_DROP_AVAILABILITY = """
local answers = redis.pcall('SMEMBERS', KEYS[2])
if not answers.err then
  for _, key in ipairs(answers) do
    redis.call('DEL', key)
  end
end
return redis.call('DEL', KEYS[1], KEYS[2])
"""


# The writes held back in this thread (`RedisStore.writes_together`): its `writes`, a _Held, or None.
_held = threading.local()


# Takes a lock: `take_lock(lock, token, timeout)` sets it to the token for `timeout` ms unless another holds it. A lock
# of the cache's is a string that always times out: a key under its name with no timeout, or of another kind (made by
# hand, say), is no one's lock, and is replaced — else every search of its entry would wait out the lock and compute
# without it, for as long as the key lives. Answers whether the lock was taken, and why a key was replaced (nil when
# none was): the refusal of the key's kind, or 'no timeout'.
_TAKE_LOCK_FUNCTION = (
    redis_lane.REPLACING
    + """
local function take_lock(lock, token, timeout)
  if redis.call('SET', lock, token, 'NX', 'PX', timeout) then
    return true, nil
  end
  local _, why = replacing('GET', lock)  -- of another kind: deleted
  if not why then
    if redis.call('PTTL', lock) ~= -1 then
      return false, nil  -- another request's
    end
    redis.call('DEL', lock)
    why = 'no timeout'
  end
  return redis.call('SET', lock, token, 'NX', 'PX', timeout) ~= false, why
end
"""
)

# Takes one lock (`CacheLock.acquire`): KEYS the lock; ARGV its token, its timeout (ms). Answers {taken (1/0)},
# followed by why a key under its name was replaced, if one was.
_TAKE_LOCK = (
    _TAKE_LOCK_FUNCTION
    + """
local taken, why = take_lock(KEYS[1], ARGV[1], ARGV[2])
return {taken and 1 or 0, why}
"""
)

# Looks up entries and takes the lock of each missing one (`take_lock`): `lookup_or_lock(first, entries, tokens,
# timeout)`, the entries KEYS[first], KEYS[first + 2], … each followed by its lock, their tokens ARGV[tokens],
# ARGV[tokens + 1], …, the locks' timeout in ms. For each entry, {1, value, ms left} when found, {0, '', 0, taken (1/0)}
# when not, followed by why a key under its lock's name was replaced, if one was. `entry` reads one: a key of another
# kind under its name (a hand's mistake, say) reads as missing, the entry made then replacing it.
_LOOKUP_OR_LOCK_FUNCTION = (
    _TAKE_LOCK_FUNCTION
    + """
local function entry(key)
  local value = redis.pcall('GET', key)
  if type(value) == 'table' and value.err then
    return false
  end
  return value
end
local function counted(key, amount)
  local answer, why = replacing('INCRBY', key, amount)
  if type(answer) == 'table' and answer.err then
    error(answer)
  end
  return why
end
local function lookup_or_lock(first, entries, tokens, timeout)
  local found = {}
  for i = 1, entries do
    local key, lock = KEYS[first + 2 * (i - 1)], KEYS[first + 2 * i - 1]
    local value = entry(key)
    if value then
      found[i] = {1, value, redis.call('PTTL', key)}
    else
      local taken, why = take_lock(lock, ARGV[tokens + i - 1], timeout)
      found[i] = {0, '', 0, taken and 1 or 0, why}
    end
  end
  return found
end
"""
)

# Lookups that take each missing entry's lock: KEYS each entry then its lock, then the counter (or none); ARGV the
# locks' tokens, then their timeout (ms). Answers {the lookups (`lookup_or_lock`), why a key under the counter's name
# was replaced, if one was}.
_LOOKUP_OR_LOCK = (
    _LOOKUP_OR_LOCK_FUNCTION
    + """
local entries = math.floor(#KEYS / 2)
local why = nil
if #KEYS > 2 * entries then
  why = counted(KEYS[#KEYS], entries)
end
return {lookup_or_lock(1, entries, 1, ARGV[entries + 1]), why}
"""
)

# A whole answer's lookup, and when it is missing its legs' (`lookup_or_lock`: what its computing needs first): KEYS
# the answer, then each leg followed by its lock; ARGV the expiry (ms since the epoch) of this process's copy of the
# answer ('' if none), the locks' tokens, their timeout (ms). Answers {the answer's expiry (PEXPIRETIME: -2 when gone),
# its bytes (nil when the copy stands or it is gone), the legs' lookups when it is gone (else none)}.
_ANSWER_OR_LEGS = (
    _LOOKUP_OR_LOCK_FUNCTION
    + """
local expires = redis.call('PEXPIRETIME', KEYS[1])
if expires > 0 and expires == tonumber(ARGV[1]) then
  return {expires, false, {}}
end
local body = entry(KEYS[1])
if body then
  return {expires, body, {}}
end
local legs = (#KEYS - 1) / 2
return {expires, false, lookup_or_lock(2, legs, 2, ARGV[legs + 2])}
"""
)


# What a request keeps — groups of entries with their sets and notes, as `RedisStore.put_many` describes each — and
# the locks it gives back, in one command: the entries first, then the locks, so that a request waiting on a lock
# finds the entry once the lock is free. KEYS: per group its entries, sets, notes and counter (if any); then the
# locks. ARGV: the notes' ttl, the number of groups; per group its ttl, then each part as its count followed by its
# items (a set's items: its count of members then the members), then 1 if it has a counter (else 0); then each lock's
# token (a lock is given back only while it still holds this request's token: held past its timeout, it may be
# another's since; a key of another kind under a lock's name is no one's lock, and goes). A key of another kind under
# a name written (a hand's mistake, say) is replaced: an entry's or a note's by SET itself, a set's or a counter's by
# DEL and the write again, said. A write Redis refuses all the same (no memory left) does not stop the others: every
# write is tried, every lock given back. Answers the count of entries kept, the keys replaced and the writes refused
# (each as its command, key and what Redis said), to be logged. A group's entries are dropped when one of its sets could
# not list them: they could not be dropped with what they are made of (a sailing's availability changed, say).
_KEEP = (
    redis_lane.REPLACING
    + """
local note_ttl = tonumber(ARGV[1])
local k, a = 1, 3
local function take()
  a = a + 1
  return ARGV[a - 1]
end
local replaced, refused = {}, {}
local function write(command, key, ...)
  local answer, other_kind = replacing(command, key, ...)
  if other_kind then
    replaced[#replaced + 1] = command .. ' ' .. key .. ': ' .. other_kind
  end
  if type(answer) == 'table' and answer.err then
    refused[#refused + 1] = command .. ' ' .. key .. ': ' .. answer.err
    return false
  end
  return true
end
local kept = 0
for _ = 1, tonumber(ARGV[2]) do
  local ttl = tonumber(take())
  local entries = tonumber(take())
  local first, written = k, 0
  for _ = 1, entries do
    if write('SET', KEYS[k], take(), 'EX', ttl) then
      written = written + 1
    end
    k = k + 1
  end
  local listed = true
  for _ = 1, tonumber(take()) do
    local members = tonumber(take())
    local added = true
    for start = 1, members, 500 do
      local batch = {}
      for _ = start, math.min(start + 499, members) do
        batch[#batch + 1] = take()
      end
      added = write('SADD', KEYS[k], unpack(batch)) and added
    end
    if added then
      write('EXPIRE', KEYS[k], ttl + 60)
    end
    listed = listed and added
    k = k + 1
  end
  if not listed and entries > 0 then
    redis.pcall('DEL', unpack(KEYS, first, first + entries - 1))
    written = 0
  end
  for _ = 1, tonumber(take()) do
    write('SET', KEYS[k], take(), 'EX', note_ttl)
    k = k + 1
  end
  if take() == '1' then
    write('INCRBY', KEYS[k], entries)
    k = k + 1
  end
  kept = kept + written
end
for i = k, #KEYS do
  local held = redis.pcall('GET', KEYS[i])
  if held == ARGV[a] or (type(held) == 'table' and held.err) then  -- this request's, or of another kind: no one's
    redis.call('DEL', KEYS[i])
  end
  a = a + 1
end
return {kept, replaced, refused}
"""
)


@dataclass
class _Group:
    """Entries to keep with their sets, notes and counter, as `_KEEP` takes them."""

    keys: list[str]
    args: list


@dataclass
class _Held:
    """What this thread keeps and gives back at the end of `RedisStore.writes_together`: groups of entries, and the
    locks as (name, token)."""

    groups: list[_Group] = field(default_factory=list)
    locks: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class LegLocks:
    """Entries looked up by `lookup_or_lock` (in Lua), each with its lock and this request's token for it."""

    keys: list[str]  # each entry's full key followed by its lock's
    locks: list[Lock]
    tokens: list[bytes]
    timeout_ms: int

    @classmethod
    def of(cls, store: "RedisStore", names: list[str], lock_names: list[str], *, timeout: float) -> "LegLocks":
        locks = [store.lock(name, timeout=timeout) for name in lock_names]
        keys = [key for name, lock in zip(names, locks, strict=True) for key in (store.key(name), lock.name)]
        tokens = [process.unique().encode() for _lock in locks]  # unique to this request, as redis-py's are
        return cls(keys, locks, tokens, int(timeout * 1000))

    @property
    def args(self) -> list:
        return [*self.tokens, self.timeout_ms]

    def found(self, answers: list) -> list[tuple[bytes | None, float, Lock | None, bool]]:
        """For each entry, (value, seconds it has left, None, False) when found; else (None, 0, its lock, whether this
        request took it, the lock then holding its token: `release` gives it back)."""
        found = []
        for (hit, value, pttl, *taken), lock, token in zip(answers, self.locks, self.tokens, strict=True):
            if hit:
                found.append((value, max(pttl, 0) / 1000, None, False))
                continue
            if len(taken) > 1:
                _log_replaced_lock(lock.name, taken[1])
            if taken[0]:
                lock.local.token = token
            found.append((None, 0.0, lock, bool(taken[0])))
        return found


class CacheLock(Lock):
    """redis-py's `Lock`, taken as the lookups take theirs (`take_lock`, in Lua, on this thread's connection): a key
    under its name with no timeout, or of another kind, is no one's lock and is replaced, said in the log. Its
    `timeout` is required: a lock of the cache's always times out."""

    _script: Script | None = None

    def do_acquire(self, token: bytes) -> bool:
        if CacheLock._script is None:
            CacheLock._script = self.redis.register_script(_TAKE_LOCK)
        args = [token, int(self.timeout * 1000)]
        taken, *why = redis_lane.run_script(self.redis, CacheLock._script, [self.name], args)
        if why:
            _log_replaced_lock(self.name, why[0])
        return bool(taken)


class RedisStore(CacheStore):
    """The cache's Redis (django-redis's client: its pool, and for the request path's round trips a connection of each
    thread's own, kernel/redis_lane.py), with keys under the cache's prefix."""

    _drop_script = None
    _lookup_script = None
    _answer_script = None
    _keep_script = None

    def __init__(self):
        default = caches["default"]  # looked up once: each lookup goes through the thread's connections
        self.client = default.client.get_client(write=True)
        self._make_key = default.make_key
        # With Django's own key function, a full key is the cache's prefix and version before the name: made by
        # joining two strings rather than by django-redis and Django in three calls (a miss makes some twenty keys).
        self._prefix = default.make_key("") if default.key_func is default_key_func else None

    @contextlib.contextmanager
    def writes_together(self) -> Iterator[_Held | None]:
        """Within it (in this thread), entries kept (`put_many`) and locks given back (`release`) are held back, to
        go in one command as it ends (`send_held`, the caller's to call): a miss writes its parts in one round trip.
        Yields None inside another (whose writes these join)."""
        if getattr(_held, "writes", None) is not None:
            yield None
            return
        _held.writes = _Held()
        try:
            yield _held.writes
        finally:
            _held.writes = None

    def holding(self) -> bool:
        """Whether this thread's writes are held back (`writes_together`)."""
        return getattr(_held, "writes", None) is not None

    def send_held(self) -> None:
        """Send the writes held back so far in this thread (`writes_together`) now, the locks given back with them,
        without waiting for Redis's answer (`settle` reads it, or the next round trip); what comes after is held back
        as before."""
        held = getattr(_held, "writes", None)
        if held is not None and (held.groups or held.locks):
            groups, locks = held.groups, held.locks
            held.groups, held.locks = [], []
            self._keep(groups, locks, waited=False)

    def settle(self) -> None:
        """Read Redis's answers to what this thread sent without waiting (`send_held`)."""
        redis_lane.settle()

    @staticmethod
    def unread() -> bool:
        """Whether this thread sent anything whose answer is not read yet."""
        return redis_lane.pending()

    @staticmethod
    def abandon() -> None:
        """Close this thread's connections that owe answers, unread (Redis is away)."""
        redis_lane.abandon()

    def release(self, lock: Lock) -> None:
        """Give the lock back (with the writes held back, if any: it is then given back as they are made)."""
        held = getattr(_held, "writes", None)
        if held is None:
            with contextlib.suppress(redis.exceptions.LockNotOwnedError):
                lock.release()  # a lock held past its timeout may have been taken by another since: theirs now
            return
        token = lock.local.token
        if token is not None:
            lock.local.token = None
            held.locks.append((lock.name, token))

    def key(self, name: str) -> str:
        if self._prefix is not None:
            return self._prefix + name
        return self._make_key(name)

    def get_and_count(self, key: str, counter: str, amount: int = 1) -> bytes | None:
        commands = [("GET", self.key(key)), ("INCRBY", self.key(counter), amount)]
        return redis_lane.round_trip(self.client, commands, check=True)[0]

    def lookup(self, key: str, counter: str | None) -> tuple[bytes | None, float]:
        full = self.key(key)
        commands = [("GET", full), ("PTTL", full), *([("INCR", self.key(counter))] if counter else [])]
        value, pttl = redis_lane.round_trip(self.client, commands, check=True)[:2]
        return value, max(pttl, 0) / 1000

    def lookup_or_lock(
        self, keys: list[str], counter: str | None, lock_names: list[str], *, timeout: float
    ) -> list[tuple[bytes | None, float, Lock | None, bool]]:
        """For each key, (value, seconds it has left, None, False) when found; else (None, 0, the entry's lock,
        whether this call took it): one round trip for them all."""
        if RedisStore._lookup_script is None:
            RedisStore._lookup_script = self.client.register_script(_LOOKUP_OR_LOCK)
        locks = LegLocks.of(self, keys, lock_names, timeout=timeout)
        keys = [*locks.keys, *([self.key(counter)] if counter else [])]
        found, *replaced = redis_lane.run_script(self.client, RedisStore._lookup_script, keys, locks.args)
        if replaced:
            logger.warning("the search cache replaced a key of another kind: INCRBY %s: %s", keys[-1], _said(replaced))
        return locks.found(found)

    def answer_script(
        self, key: str, copy_expires_ms: int | None, legs: list[str], lock_names: list[str], *, timeout: float
    ) -> tuple[Script, list, list, "LegLocks"]:
        """The script, keys and args of a whole answer's lookup that looks its `legs` up, taking their locks, when the
        answer is missing (`_ANSWER_OR_LEGS`), to send with the request's rate limits; and the legs' locks, which
        read its answer (`LegLocks.found`)."""
        if RedisStore._answer_script is None:
            RedisStore._answer_script = self.client.register_script(_ANSWER_OR_LEGS)
        locks = LegLocks.of(self, legs, lock_names, timeout=timeout)
        args = ["" if copy_expires_ms is None else copy_expires_ms, *locks.args]
        return RedisStore._answer_script, [self.key(key), *locks.keys], args, locks

    def get_many_and_count(
        self, keys: list[str], counter: str | None, *, timed: bool = True
    ) -> list[tuple[bytes | None, float | None]]:
        full = [self.key(k) for k in keys]
        commands = [("MGET", *full)]
        if timed:  # a PTTL a key: the cost of a read of many keys, left out when nobody needs the time left
            commands += [("PTTL", key) for key in full]
        if counter:
            commands.append(("INCRBY", self.key(counter), len(keys)))
        values, *pttls = redis_lane.round_trip(self.client, commands, check=True)[: len(keys) + 1 if timed else 1]
        if not timed:
            return [(value, None) for value in values]
        return [(value, max(pttl, 0) / 1000) for value, pttl in zip(values, pttls, strict=True)]

    def put_many(
        self,
        entries: dict[str, bytes],
        ttl: int,
        counter: str | None,
        sets: dict[str, list[str]] | None = None,
        notes: dict[str, bytes] | None = None,
    ) -> None:
        keys = [self.key(key) for key in entries]
        args = [ttl, len(entries), *entries.values(), len(sets or {})]
        for name, members in (sets or {}).items():  # each one's name, then its count of members and the members
            keys.append(self.key(name))
            args += [len(members), *(self.key(member) for member in members)]
        args.append(len(notes or {}))
        for name, value in (notes or {}).items():
            keys.append(self.key(name))
            args.append(value)
        args.append(1 if counter else 0)
        if counter:
            keys.append(self.key(counter))
        held = getattr(_held, "writes", None)
        if held is not None:
            held.groups.append(_Group(keys, args))
        else:
            self._keep([_Group(keys, args)], [])

    def _keep(self, groups: list[_Group], locks: list[tuple[str, bytes]], *, waited: bool = True) -> None:
        """The groups kept and the locks given back, in one command (about twenty writes for a miss): by its digest,
        the script itself sent only when Redis does not know it (after a restart). Not `waited`, the answer is read
        later (`redis_lane.send`): a script Redis did not know is then sent again whole, and a failure logged."""
        if RedisStore._keep_script is None:
            RedisStore._keep_script = self.client.register_script(_KEEP)
        script = RedisStore._keep_script
        keys = [key for group in groups for key in group.keys] + [name for name, _token in locks]
        args = [QUERY_NOTE_TTL, len(groups), *(a for group in groups for a in group.args)]
        args += [token for _name, token in locks]
        if waited:
            _log_refused(redis_lane.run_script(self.client, script, keys, args))
            return

        def kept(answer) -> None:
            if isinstance(answer, redis.exceptions.NoScriptError):  # restarted since: sent again whole, in one more
                eval_whole = ("EVAL", script.script, len(keys), *keys, *args)
                _log_refused(redis_lane.round_trip(self.client, [eval_whole], check=True)[0])
            elif isinstance(answer, Exception):
                name = type(answer).__name__
                logger.warning("the search cache could not keep what a request made: %s: %s", name, answer)
            else:
                _log_refused(answer)

        redis_lane.send(self.client, [("EVALSHA", script.sha, len(keys), *keys, *args)], kept)

    def run(self, counts: list[tuple], reads: list[tuple]) -> list:
        """Counts — ("INCRBY", key, amount) or ("ZINCRBY", key, amount, member), full keys — and reads in one round
        trip: the reads' answers."""
        return redis_lane.round_trip(self.client, [*counts, *reads], check=True)[len(counts) :]

    def popular_due(
        self, popular: str, *, top: int, least: float, within: float, fading: float, forgotten: float
    ) -> list[tuple[str, bytes]]:
        """(answer, its query's note) of the `top` most asked answers in the sorted set `popular` (asked at least
        `least` times) that are gone or have less than `within` seconds left; then every score fades (multiplied by
        `fading`), and those below `forgotten` go."""
        name = self.key(popular)
        members = [m.decode() for m in self.client.zrevrangebyscore(name, "+inf", least, start=0, num=top)]
        pipe = self.client.pipeline(transaction=False)
        for member in members:
            pipe.pttl(self.key(member))
            pipe.get(self.key(answer_query(member)))
        pipe.zunionstore(name, {name: fading})
        pipe.zremrangebyscore(name, "-inf", f"({forgotten}")
        found = pipe.execute()
        due = []
        for i, member in enumerate(members):
            left_ms, note = found[2 * i], found[2 * i + 1]
            if note is not None and left_ms < within * 1000:  # -2: gone
                due.append((member, note))
        return due

    def delete_with_set_members(self, key: str, set_name: str) -> None:
        if RedisStore._drop_script is None:
            RedisStore._drop_script = self.client.register_script(_DROP_AVAILABILITY)
        RedisStore._drop_script(keys=[self.key(key), self.key(set_name)], client=self.client)

    def delete_kept(self, prefix: str, chosen: Callable[[str], bool]) -> int:
        """Delete the entries kept under names starting with `prefix` that are `chosen`; answers how many of them
        were there to delete (an entry gone meanwhile is not counted)."""
        base = len(self.key(""))
        names = {key for key in self._scan(prefix) if chosen(key[base:].decode())}
        batch = list(names)
        return sum(self.client.delete(*batch[i : i + 500]) for i in range(0, len(batch), 500))

    def count_kept(self, prefix: str) -> int:
        """How many entries are kept under names starting with `prefix`."""
        return len(set(self._scan(prefix)))

    def _scan(self, prefix: str) -> Iterator[bytes]:
        """The keys under the cache's prefix and `prefix` (SCAN: a key may come twice), in batches of a thousand:
        Redis goes on serving between them. Reads every key of the cache's database; for clearing and figures."""
        pattern = re.sub(r"([\\*?\[\]])", r"\\\1", self.key(prefix)) + "*"
        return self.client.scan_iter(match=pattern, count=1000)

    def counters(self, names: list[str]) -> list[int]:
        # From the client, not the cache API, which would hide an outage from the person asking for the figures.
        return [int(value or 0) for value in self.client.mget([self.key(n) for n in names])]

    def reset_counters(self, names: list[str]) -> None:
        self.client.delete(*[self.key(n) for n in names])

    def replace_of_another_kind(self, kinds: dict[str, bytes]) -> list[str]:
        """Delete those of the named keys (`kinds`: each name with the type Redis should say of it) that hold another
        kind of value, to be made afresh; answers their names."""
        names = list(kinds)
        found = redis_lane.round_trip(self.client, [("TYPE", self.key(name)) for name in names], check=True)
        wrong = [name for name, kind in zip(names, found, strict=True) if kind not in (b"none", kinds[name])]
        if wrong:
            redis_lane.round_trip(self.client, [("DEL", *(self.key(name) for name in wrong))], check=True)
        return wrong

    def lock(self, name: str, *, timeout: float) -> CacheLock:
        return self.client.lock(self.key(name), timeout=timeout, lock_class=CacheLock)


def _log_refused(answer: list) -> None:
    """Log what Redis said of a keeping's writes (`_KEEP` answers the count of entries kept, the keys of another kind
    it replaced, the writes it refused): the others were made and the locks given back."""
    _kept, replaced, refused = answer
    if replaced:
        logger.warning("the search cache replaced a key of another kind: %s", _said(replaced))
    if refused:
        logger.warning("the search cache could not keep what a request made: %s", _said(refused))


def _log_replaced_lock(name: str, why: bytes) -> None:
    """Log a key under a lock's name that a lock taken replaced (`take_lock`): why — 'no timeout', or the refusal of
    its kind — as Redis said it."""
    why = why.decode() if isinstance(why, bytes) else str(why)
    if why == "no timeout":
        logger.warning("the search cache replaced a lock with no timeout: %s", name)
    else:
        logger.warning("the search cache replaced a key of another kind: GET %s: %s", name, why)


def _said(lines: list) -> str:
    return "; ".join(line.decode() if isinstance(line, bytes) else str(line) for line in lines)
