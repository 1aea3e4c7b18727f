"""Rate limits of the API and of the website's forms, counted in the cache's Redis so that every web process shares
one count.

Rates are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read from API_RATE_* and RATE_* variables): every
API client by address (`anon`) or user (`user`), and stricter ones for booking (`booking_create`: each booking
holds places) and starting a payment (`payment_start`: each asks the operators and Stripe). The website's pages
that do the same are limited by the same throttles through `rate_limited`: a booking made on the website counts
against the same allowance as one made through the API. "Manage my booking" has a limit of its own
(`booking_lookup`): each attempt there is a guess at a reference and an e-mail.

When Redis cannot be reached, the cache answers "nothing seen yet" (IGNORE_EXCEPTIONS), which would lift
every limit without a word. These throttles read and write through the cache's own Redis client instead,
which raises, and then:

* the general limits let the request through (fail open): a cache outage must not close search or the
  rest of the API;
* booking, starting a payment and looking a booking up are counted in this process's memory instead: the limit
  still holds, per web process, while Redis is away (with N processes a client may get up to N times the rate).

After a failure Redis is left alone for a few seconds (kernel/outage.py's breaker, shared with the search cache),
so an outage costs one timeout, not one per request.

In Redis every limit of a request is checked and counted at once, in one round trip: a script keeps each client's
requests of the last period in a sorted set (the sliding window DRF keeps in a pickled list, which costs a read and
a write per limit), drops those older than the period and adds this one if the limit allows it. Checking and
counting in one atomic step also means two requests arriving together can no longer both take the last place. A
view may add Redis work of its own to that round trip (`ride_along`): counts made only if the request is allowed, by
the same script, and a script of its own, sent right after it in the same round trip — the search API looks its kept
answer up there (and, when it is missing, its legs, taking their locks), so a search costs one round trip before it
is answered or computed.

The general limits (`anon`, `user`) of a request — a search answered from the process's own copy, a list of ports,
a search whose lookup then goes alone — can be decided with no round trip at all, for a client that comes fast: the
script sets places aside for the process in the client's windows, and the process lets the client's next requests
through on them (`CountedAhead`). Places are counted in Redis as they are set aside, so no limit is ever passed;
those not used within a second are given back.

Why not DRF's stock throttles over django-redis: they read through the cache API, so an outage lifts every limit
without a word and costs a socket timeout per limit and per request; and they cost a read and a write per limit.
Measured by bench/throttles.py (one process, real Redis, A and B alternated, median of 15 rounds of 1,000 requests
from 100 addresses; the shared two-core machine): a booking (three limits) takes 1 round trip and 325 µs with ours,
6 round trips and 632 µs with stock (1.94×); a search (two limits) 1 round trip at an address's first request and
none on the places set aside for its next ones (each address comes back within the second), 123 µs in all, against
4 round trips and 422 µs with stock (3.42×).
"""

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import OpenApiResponse
from redis.commands.core import Script
from rest_framework import throttling
from rest_framework.settings import api_settings

from kernel import process, redis_lane
from kernel.outage import cache_breaker

logger = logging.getLogger(__name__)

CACHE_ERRORS = (ConnectionInterrupted, redis.RedisError, OSError)

THROTTLED_RESPONSE = OpenApiResponse(description="Too many requests; `Retry-After` says in how many seconds to retry.")


# Counts kept in this process while Redis is away (booking and payment limits only).
_local_counts = LocMemCache("maritime-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


# KEYS: one sorted set per limit, then the keys the request's rider counts under, then those counted whatever the limits
# say (`flushes`). ARGV: now, the number of limits, of counts and of flushes, and the time places set aside are counted
# at; per limit its limit, its period (seconds), a unique member, how many places to set aside for this process at
# most (`CountedAhead`) and how many set aside before it gives back; per count and per flush its command (INCRBY or
# ZINCRBY), its amount and its member (ZINCRBY's); then, per limit, the members of the places given back.
# The counts are made only if every limit allows this request, and places set aside only then (an eighth of what is
# left, at most); the flushes whatever the limits say. Answers: per limit, 1 if allowed (and counted), the requests
# counted in the period (the places set aside included), the oldest one's time, the places set aside (named the
# request's member, '#', 1 to that number).
_SLIDING_WINDOWS = (
    redis_lane.REPLACING
    + """
local now, ahead = tonumber(ARGV[1]), ARGV[5]
local limits, counts, flushes = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local at = 5 * limits + 6
local back = at + 3 * (counts + flushes)
for i = 1, limits do
  local trimmed = replacing('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[5 * i + 2]))
  if type(trimmed) == 'table' and trimmed.err then
    error(trimmed)
  end
  local n = tonumber(ARGV[5 * i + 5])
  for first = 0, n - 1, 500 do
    redis.call('ZREM', KEYS[i], unpack(ARGV, back + first, back + math.min(first + 499, n - 1)))
  end
  back = back + n
end
local answers, counted = {}, {}
local allowed_all = true
for i = 1, limits do
  local key = KEYS[i]
  local limit, period, member = tonumber(ARGV[5 * i + 1]), tonumber(ARGV[5 * i + 2]), ARGV[5 * i + 3]
  local count = redis.call('ZCARD', key)
  local allowed = 0
  if count < limit then
    redis.call('ZADD', key, now, member)
    count = count + 1
    allowed = 1
  else
    allowed_all = false
  end
  counted[i] = count
  answers[i] = {allowed, count, '', 0}
end
for i = 1, limits do
  local key, member = KEYS[i], ARGV[5 * i + 3]
  local set_aside = 0
  if allowed_all then
    set_aside = math.min(tonumber(ARGV[5 * i + 4]), math.floor((tonumber(ARGV[5 * i + 1]) - counted[i]) / 8))
  end
  for first = 1, set_aside, 250 do
    local batch = {}
    for j = first, math.min(first + 249, set_aside) do
      batch[#batch + 1] = ahead
      batch[#batch + 1] = member .. '#' .. j
    end
    redis.call('ZADD', key, unpack(batch))
  end
  if counted[i] + set_aside > 0 then
    redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[5 * i + 2]) + ahead - now))
  end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  answers[i] = {answers[i][1], counted[i] + set_aside, oldest[2] or tostring(now), set_aside}
end
local function count(j)
  local command = {'INCRBY', KEYS[j], ARGV[at + 1]}
  if ARGV[at] == 'ZINCRBY' then
    command = {'ZINCRBY', KEYS[j], ARGV[at + 1], ARGV[at + 2]}
  end
  local answer = replacing(unpack(command))
  if type(answer) == 'table' and answer.err then
    error(answer)
  end
end
for j = limits + 1, limits + counts + flushes do
  if allowed_all or j > limits + counts then
    count(j)
  end
  at = at + 3
end
return answers
"""
)
_scripts: dict[int, object] = {}


@dataclass
class Rider:
    """Redis work a request does in the round trip of its rate limits, rather than in one of its own (`ride_along`).

    `counts`: ("INCRBY", key, amount) or ("ZINCRBY", key, amount, member), made only if every limit allows the
    request, atomically with counting it (or held by the process with the limits decided there: `CountedAhead`);
    `counted` then says they are made or held. `script` (redis-py's Script) with its `keys` and `args`: run whatever
    the limits say, right after their own script in the same round trip (a pipeline of the two); its answer lands in
    `answer`, `answered` then True. Keys are full Redis keys (the cache's prefix included). Neither is done when the
    limits were not asked in Redis (another cache, Redis away, no limit applying), nor the script when they were
    decided in the process: the rider then does that work itself (`Rider.run`), in one round trip still."""

    counts: list[tuple] = field(default_factory=list)
    script: Script | None = None
    keys: list = field(default_factory=list)
    args: list = field(default_factory=list)
    counted: bool = False
    answered: bool = False
    answer: object = None

    @property
    def pending(self) -> bool:
        """Whether the limits left work undone (`run` does it)."""
        return not self.counted or (self.script is not None and not self.answered)

    @property
    def scripts(self) -> list[tuple[Script, list, list]]:
        return [(self.script, self.keys, self.args)] if self.script is not None else []

    def run(self, client: redis.Redis) -> bool:
        """What the limits left undone: the counts (unless made or held) and the script, in one round trip."""
        counts = [] if self.counted else self.counts
        _done, ran = redis_lane.with_scripts(client, counts, [] if self.answered else self.scripts)
        self.counted = True
        if ran:
            self.answer, self.answered = ran[0], True
        return True


def ride_along(request, rider: Rider) -> None:
    """Have `rider` go with the request's rate limits (before they are checked, e.g. in a view's `check_throttles`)."""
    _django_request(request)._maritime_rider = rider


def _django_request(request) -> HttpRequest:
    """Django's request under DRF's: what a request's limits decided is kept there, so that every throttle of the
    request, whichever wrapper it is asked through, reads the one decision (and counts the request once)."""
    return getattr(request, "_request", request)


def _window_names(backend: RedisCache, throttles: list["ResilientRateThrottle"]) -> list[str]:
    """Each throttle's window in Redis, as full keys."""
    return [backend.make_key(f"{t.key}:window") for t in throttles]


def _sliding_windows(
    backend: RedisCache, throttles: list["ResilientRateThrottle"], names: list[str], now: float, rider: Rider | None
) -> list[tuple]:
    """Check and count every throttle's window (`names`, `_window_names`) in one round trip, one command:
    [(allowed, count, oldest), …]; the rider's work goes in the same command, with what this process holds for Redis
    (`CountedAhead`)."""
    wanted = _ahead.wanted(names, [t.counted_ahead for t in throttles])
    limits = [(name, t.num_requests, t.duration, w) for name, t, w in zip(names, throttles, wanted, strict=True)]
    member, decided = _run_windows(backend, limits, now, rider or Rider())
    _ahead.checked(names, throttles, member, decided)
    return [answer[:3] for answer in decided]


def _run_windows(
    backend: RedisCache, limits: list[tuple[str, int, float, int]], now: float, rider: Rider
) -> tuple[str, list[tuple]]:
    """The script on these windows — (full key, limit, period, places to set aside at most) each — with the rider's
    counts, and the rider's script after it in the same round trip: this request's member, and [(allowed, count,
    oldest, places set aside), …]."""
    client = backend.client.get_client(write=True)
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_SLIDING_WINDOWS)
    keys = [name for name, *_rest in limits]
    back, flushes = _ahead.take(keys)
    member = f"{now!r}:{process.unique()}"
    args: list = [repr(now), len(limits), len(rider.counts), len(flushes), repr(now + AHEAD_SECONDS)]
    for (_name, limit, period, wanted), places in zip(limits, back, strict=True):
        args += [limit, period, member, wanted, len(places)]
    for command, key, amount, *counted in [*rider.counts, *flushes]:
        keys.append(key)
        args += [command, amount, counted[0] if counted else ""]
    for places in back:
        args += places
    try:
        _none, (answers, *ridden) = redis_lane.with_scripts(
            client, [], [(script, keys, args), *rider.scripts], check=False
        )
        if isinstance(answers, Exception):
            raise answers
    except BaseException:
        _ahead.give_back(keys[: len(limits)], back, flushes)  # nothing counted: the places and counts are still ours
        raise
    rider.counted = True
    if ridden and isinstance(ridden[0], Exception):
        # The limits ran and counted (the counts flushed with them too): they stand. The rider's script is left
        # undone, for `Rider.run` to send again where its failure is the caller's to handle (the cache's breaker).
        logger.error("the script riding with the rate limits failed: %r", ridden[0])
    elif ridden:
        rider.answer, rider.answered = ridden[0], True
    return member, [(bool(allowed), int(count), float(oldest), int(aside)) for allowed, count, oldest, aside in answers]


def send_counted_ahead() -> None:
    """Send now the counts this process holds and give back the places set aside for it (one round trip), rather
    than with its next request that goes to Redis: before reading figures in this process."""
    backend = caches["default"]
    if isinstance(backend, RedisCache) and not cache_breaker.is_open() and _ahead.holds():
        # A limit of 0 lets nothing through and sets nothing aside: the script only gives back and counts.
        _run_windows(backend, _ahead.waiting(), time.time(), Rider())


@dataclass
class _Window:
    """What this process knows of one client's window since it last asked Redis."""

    checked_at: float  # monotonic
    period: float
    count: int  # requests in the window then, the places set aside included
    oldest: float
    places: list[str] = field(default_factory=list)  # the members of the places set aside for this process, unused
    asked: int = 0  # requests since that could have been let through on a place (`admit`), whether one was left or not


class CountedAhead:
    """The general limits (`anon`, `user`) of a request that needs nothing else of Redis — a search answered from the
    process's own copy, a list of ports — decided in this process, with no round trip, for a client that comes fast.

    A client asked about again within AHEAD_SECONDS (in a burst, or under load) has places set aside for it in its
    Redis windows, for this process: an eighth of what it has left at most, twice as many as its requests since the
    last asking that could have used one, and at most AHEAD_MOST, counted in Redis as requests made at once (at the
    time they can be used until). The process lets the client's next requests
    through on those places, until they are used or AHEAD_SECONDS have passed; then it asks Redis again, giving
    back those it did not use. So a limit is never passed, however many processes; a client that stops in the middle
    of a burst holds its unused places for a period at most (those of the processes that would have served it).
    A client that comes once in a while is asked about at every request, as before.

    The rider's counts (a search's lookups, its fame) wait in the process meanwhile, sent with its next request that
    goes to Redis (`send_counted_ahead` sends them at once): the cache's figures lag by a second or so, and lose what
    a process held when it stopped."""

    def __init__(self):
        self._windows: dict[str, _Window] = {}
        self._counts: dict[tuple, int] = {}
        self._pid = process.pid()
        self._lock = threading.Lock()

    def admit(self, names: list[str], rider: Rider | None):
        """[(True, count, oldest), …] if a place is set aside for the request in each of its windows (`names`);
        else None."""
        at = time.monotonic()
        with self._lock:
            self._same_process()
            windows = [self._windows.get(name) for name in names]
            for window in windows:
                if window is not None:
                    window.asked += 1
            if any(w is None or not w.places or at - w.checked_at > AHEAD_SECONDS for w in windows):
                return None
            for window in windows:
                window.places.pop()
            if rider is not None:
                self._hold(rider.counts)
                rider.counted = True
            return [(True, w.count, w.oldest) for w in windows]

    def wanted(self, names: list[str], ahead: list[bool]) -> list[int]:
        """How many places to set aside in each window: for a client asked about again within AHEAD_SECONDS, twice
        as many as its requests since that could have used one (AHEAD_MOST at most) — none for one whose requests
        all need Redis anyway (searches not kept, say), which would only give them back."""
        at = time.monotonic()
        with self._lock:
            self._same_process()
            wanted = []
            for name, counted in zip(names, ahead, strict=True):
                window = self._windows.get(name)
                recent = counted and window is not None and at - window.checked_at <= AHEAD_SECONDS
                wanted.append(min(2 * window.asked, AHEAD_MOST) if recent else 0)
            return wanted

    def take(self, names: list[str]) -> tuple[list[list[str]], list[tuple]]:
        """The places set aside in these windows, unused, and every count waiting: theirs to send now."""
        with self._lock:
            self._same_process()
            back = []
            for name in names:
                window = self._windows.get(name)
                back.append(window.places if window else [])
                if window:
                    window.places = []
            counts = [(command, key, amount, *member) for (command, key, *member), amount in self._counts.items()]
            self._counts = {}
            return back, counts

    def give_back(self, names: list[str], back: list[list[str]], counts: list[tuple]) -> None:
        """What `take` gave, not sent (Redis away): kept for the next request that goes there."""
        with self._lock:
            for name, places in zip(names, back, strict=True):
                if places and name in self._windows:
                    self._windows[name].places += places
            self._hold(counts)

    def _hold(self, counts: list[tuple]) -> None:
        """Add these counts — (command, key, amount, member if any) — to those waiting. Under the lock."""
        for command, key, amount, *member in counts:
            counted = (command, key, *member)
            self._counts[counted] = self._counts.get(counted, 0) + int(amount)

    def checked(self, names: list[str], throttles: list["ResilientRateThrottle"], member: str, decided: list) -> None:
        """What Redis answered about these windows, and the places it set aside."""
        at = time.monotonic()
        with self._lock:
            if len(self._windows) > AHEAD_CLIENTS:  # those not asked about lately are forgotten (their places lapse)
                self._windows = {n: w for n, w in self._windows.items() if at - w.checked_at <= AHEAD_SECONDS}
            for name, throttle, (_allowed, count, oldest, aside) in zip(names, throttles, decided, strict=True):
                if throttle.counted_ahead:
                    places = [f"{member}#{j}" for j in range(aside, 0, -1)]
                    self._windows[name] = _Window(at, throttle.duration, count, oldest, places)

    def holds(self) -> bool:
        return bool(self._counts) or any(window.places for window in self._windows.values())

    def waiting(self) -> list[tuple[str, int, float, int]]:
        """The windows with places set aside, as `_run_windows` takes them, with a limit of 0."""
        with self._lock:
            return [(name, 0, window.period, 0) for name, window in self._windows.items() if window.places]

    def forget(self) -> None:
        with self._lock:
            self._windows, self._counts = {}, {}

    def _same_process(self) -> None:
        if self._pid != process.pid():  # forked: the parent's places are the parent's
            self._windows, self._counts, self._pid = {}, {}, process.pid()


# See `CountedAhead`.
AHEAD_SECONDS = 1.0
AHEAD_MOST = 100
AHEAD_CLIENTS = 10_000  # windows known, past which those not asked about lately are forgotten

_ahead = CountedAhead()


def _client_address(meta: Mapping[str, str]) -> str | None:
    """The client's address as DRF's BaseThrottle.get_ident works it out (X-Forwarded-For, trusting the last
    NUM_PROXIES hops of it, else REMOTE_ADDR), read from META: DRF reads the header through `request.headers`,
    which copies every header of the request first."""
    xff = meta.get("HTTP_X_FORWARDED_FOR")
    remote_addr = meta.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES
    if num_proxies is not None:
        if num_proxies == 0 or xff is None:
            return remote_addr
        addrs = xff.split(",")
        return addrs[-min(num_proxies, len(addrs))].strip()
    return "".join(xff.split()) if xff else remote_addr


class ResilientRateThrottle(throttling.SimpleRateThrottle):
    """DRF's rate throttle, with the rate read at each request, every limit of a request checked in one Redis round
    trip, and a decided behaviour when Redis is down."""

    fail_open = True
    counted_ahead = False  # whether a request may be let through by this process on its own (`CountedAhead`)
    window: tuple[float, int, float] | None = None  # (now, requests in the window, the oldest's time), from Redis

    def get_ident(self, request):
        # The client's address, asked by each limit of a request: worked out once a request.
        held = _django_request(request)
        ident = getattr(held, "_maritime_ident", None)
        if ident is None:
            ident = held._maritime_ident = _client_address(held.META)
        return ident

    def get_rate(self):
        # Read now rather than at import, as DRF's class attribute is: settings changed later apply.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No rate set for throttle scope {self.scope!r}.") from None

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        backend = caches["default"]
        if not cache_breaker.is_open():
            try:
                if not isinstance(backend, RedisCache):
                    self.cache = backend
                    return super().allow_request(request, view)
                return self._allow_from_redis(request, view, backend)
            except CACHE_ERRORS as exc:
                cache_breaker.trip(exc, message="rate limits: cache unavailable, not asking it for %ss: %r", log=logger)
        if self.fail_open:
            return True
        self.cache = _local_counts
        return super().allow_request(request, view)

    def _allow_from_redis(self, request, view, backend: RedisCache) -> bool:
        # The first limit asked answers for every limit of the view (DRF asks them one by one): a limit decided for
        # this request had a window.
        held = _django_request(request)
        decided = getattr(held, "_maritime_throttles", None)
        if decided is None or self.scope not in decided:
            self.key = self.get_cache_key(request, view)
            if self.key is None:
                return True
            decided = held._maritime_throttles = self._decide_all(request, view, backend)
        allowed, count, oldest = decided[self.scope]
        self.window = (decided["now"], count, oldest)
        return allowed

    def wait(self) -> float | None:
        """Seconds until the next request would be allowed, as DRF's own `wait()` computes them: from the requests
        counted in the window and the oldest of them, here as the script answered them."""
        if self.window is None:  # counted by DRF's own code (local memory)
            return super().wait()
        now, count, oldest = self.window
        available = self.num_requests - count + 1
        return (self.duration - (now - oldest)) / available if available > 0 else None

    def _decide_all(self, request, view, backend: RedisCache) -> dict:
        now = self.timer()
        throttles = [self]
        for other in view.get_throttles():
            if isinstance(other, ResilientRateThrottle) and other.scope != self.scope and other.rate is not None:
                other.key = other.get_cache_key(request, view)
                if other.key is not None:
                    throttles.append(other)
        rider = getattr(_django_request(request), "_maritime_rider", None)
        names = _window_names(backend, throttles)
        answers = None
        if all(t.counted_ahead for t in throttles):  # a rider's script then goes alone, sent by the rider
            answers = _ahead.admit(names, rider)
        if answers is None:
            answers = _sliding_windows(backend, throttles, names, now, rider)
        return {"now": now} | {t.scope: answer for t, answer in zip(throttles, answers, strict=True)}


class AnonThrottle(ResilientRateThrottle, throttling.AnonRateThrottle):
    """Clients not signed in, by address; lets requests through while Redis is down."""

    counted_ahead = True


class UserThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Every client, by user when signed in, else by address; lets requests through while Redis is down."""

    counted_ahead = True


class BookingCreateThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Bookings made, by user or address; counted in the process while Redis is down."""

    scope = "booking_create"
    fail_open = False


class PaymentStartThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Payments started, by user or address; counted in the process while Redis is down."""

    scope = "payment_start"
    fail_open = False


class BookingLookupThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Bookings looked up by reference and e-mail, by user or address; counted in the process while Redis is down,
    so that an outage does not open the door to guessing."""

    scope = "booking_lookup"
    fail_open = False


class BookingClaimThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Codes asked for and typed to claim a guest booking, per user; counted in the process while Redis is down,
    so that an outage does not open the door to guessing."""

    scope = "booking_claim"
    fail_open = False


class PromoCodeThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Promo codes tried — booking requests that carry one, on the website or the API — by user or address: slows
    guessing. Requests without a code are not counted. Counted in the process while Redis is down."""

    scope = "promo_code"
    fail_open = False

    def get_cache_key(self, request, view):
        data = getattr(request, "data", None)  # the API's parsed body; a page's form otherwise
        sent = request.POST if data is None else data
        code = sent.get("promo_code") if isinstance(sent, Mapping) else None
        if not (isinstance(code, str) and code.strip()):
            return None
        return super().get_cache_key(request, view)


class TravelAlertThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Travel alerts set, on the website or the API, by user or address: each may e-mail an address to confirm it.
    Counted in the process while Redis is down."""

    scope = "travel_alert"
    fail_open = False


class SignInThrottle(ResilientRateThrottle, throttling.AnonRateThrottle):
    """Staff sign-in attempts (the check-in page's), by address: slows password guessing. Counted in the process while
    Redis is down."""

    scope = "sign_in"
    rate = "10/minute"
    fail_open = False


class _Page:
    """What the throttles ask of a view, for an HTML view: its limits."""

    def __init__(self, throttles: list[ResilientRateThrottle]):
        self.throttles = throttles

    def get_throttles(self) -> list[ResilientRateThrottle]:
        return self.throttles


def rate_limited(*limits: type[ResilientRateThrottle], methods: tuple[str, ...] = ("POST",)) -> Callable:
    """An HTML view's `methods` limited by these throttles, exactly as an API view is: the same counts, per user or
    address, and the same behaviour while Redis is down. Over a limit, the site's 429 page, with Retry-After.

    Every request counts, whatever its outcome: a refused form or a failed guess as much as a booking made."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method in methods:
                page = _Page([limit() for limit in limits])
                waits = [throttle.wait() for throttle in page.throttles if not throttle.allow_request(request, page)]
                if waits:
                    return too_many_requests(request, wait=max((wait for wait in waits if wait is not None), default=0))
            return view(request, *args, **kwargs)

        return limited

    return decorator


def too_many_requests(request: HttpRequest, *, wait: float) -> HttpResponse:
    seconds = max(math.ceil(wait), 1)
    logger.info("rate limits: %s %s refused for %ss", request.method, request.path, seconds)
    response = render(request, "429.html", {"minutes": math.ceil(seconds / 60)}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def forget_outage() -> None:
    """Ask Redis again at the next request, and drop the counts kept meanwhile (tests, after an outage)."""
    cache_breaker.reset()
    _local_counts.clear()
    _ahead.forget()
