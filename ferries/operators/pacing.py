"""The calls that change a remote operator's bookings (confirm a hold, cancel it, send its passenger list) are paced:
at most OPERATOR_WRITES_PER_MINUTE to one operator, counted across every worker in the cache's Redis.

A sweep after an outage may queue hundreds of confirmations at once, and operators' booking APIs are small. Each
call takes the operator's next free turn (a Redis script: the turn after the last one taken, or now) and waits for
it; a call waits at most one interval per call queued before it, so a worker's pool bounds the wait. Our own
inventory is not paced: its confirmations are rows in our database.

Why not Celery's `rate_limit`: it counts per worker and per task, not per operator, and the messages it holds back
still count against the worker's prefetch, so while a few confirmations wait for their turn nothing else on the
bookings queue is taken — the availability checks a traveller's request waits for included (bench figure 8: an
idle p99 of 1.3 s for six payments in three seconds, all of them for our own inventory).

When Redis cannot be reached, turns are taken in this process's memory: the pace still holds per process.
"""

import logging
import threading
from time import monotonic, sleep

from django.conf import settings
from django.core.cache import caches
from django_redis.cache import RedisCache

from kernel.outage import cache_breaker
from kernel.throttling import CACHE_ERRORS

logger = logging.getLogger(__name__)

# KEYS: the operator's next free turn. ARGV: the interval (ms). Answers the wait (ms) for the turn taken. Redis's own
# clock decides, so workers on machines whose clocks differ take their turns in order.
_TAKE_TURN = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local interval = tonumber(ARGV[1])
local turn = math.max(now_ms, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], turn + interval, 'PX', turn + interval - now_ms + 1000)
return turn - now_ms
"""
_scripts: dict[int, object] = {}

_local_turns: dict[str, float] = {}
_local_lock = threading.Lock()


def operator_turn(operator_code: str) -> float:
    """Take the operator's next turn for a call that changes its bookings: the seconds to wait for it (0: now)."""
    interval = 60.0 / settings.OPERATOR_WRITES_PER_MINUTE
    backend = caches["default"]
    if isinstance(backend, RedisCache) and not cache_breaker.is_open():
        try:
            return _redis_turn(backend, operator_code, interval)
        except CACHE_ERRORS as exc:
            cache_breaker.trip(exc, message="operator pacing: cache unavailable, pacing per process for %ss: %r",
                               log=logger)  # fmt: skip
    return _local_turn(operator_code, interval)


def operator_paced(operator_code: str) -> None:
    """Wait for the operator's next turn."""
    wait = operator_turn(operator_code)
    if wait > 0:
        logger.info("operator %s paced: waiting %.2fs for its turn", operator_code, wait)
        sleep(wait)


def _redis_turn(backend: RedisCache, operator_code: str, interval: float) -> float:
    client = backend.client.get_client(write=True)
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_TAKE_TURN)
    wait_ms = script(keys=[backend.make_key(f"operator-turn:{operator_code}")], args=[round(interval * 1000)])
    return int(wait_ms) / 1000


def _local_turn(operator_code: str, interval: float) -> float:
    with _local_lock:
        now = monotonic()
        turn = max(now, _local_turns.get(operator_code, 0.0))
        _local_turns[operator_code] = turn + interval
        return turn - now
