"""API rate limits, counted in the cache's Redis so that every web process shares one count.

Rates are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read from API_RATE_* variables): every
client by address (`anon`) or user (`user`), and stricter ones for booking (`booking_create`: each booking
holds places) and starting a payment (`payment_start`: each asks the operators and Stripe).

When Redis cannot be reached, the cache answers "nothing seen yet" (IGNORE_EXCEPTIONS), which would lift
every limit without a word. These throttles read and write through the cache's own Redis client instead,
which raises, and then:

* the general limits let the request through (fail open): a cache outage must not close search or the
  rest of the API;
* booking and starting a payment are counted in this process's memory instead: the limit still holds,
  per web process, while Redis is away (with N processes a client may get up to N times the rate).

After a failure Redis is left alone for a few seconds, so an outage costs one timeout, not one per request.
"""

import logging
import time

import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import OpenApiResponse
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0
CACHE_ERRORS = (ConnectionInterrupted, redis.RedisError, OSError)

THROTTLED_RESPONSE = OpenApiResponse(description="Too many requests; `Retry-After` says in how many seconds to retry.")


class _Outage:
    """When this process last found the cache's Redis down."""

    until = 0.0

    @classmethod
    def now(cls) -> bool:
        return time.monotonic() < cls.until

    @classmethod
    def begin(cls, exc: Exception) -> None:
        if not cls.now():
            cause = exc.__cause__ or exc  # django-redis wraps Redis's own error
            logger.warning("rate limits: cache unavailable, not asking it for %ss: %r", BACKOFF_SECONDS, cause)
        cls.until = time.monotonic() + BACKOFF_SECONDS


# Counts kept in this process while Redis is away (booking and payment limits only).
_local_counts = LocMemCache("maritime-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


class _RaisingCache:
    """The cache's get and set as a throttle uses them, through django-redis's client, which raises on a Redis
    error where the cache itself would answer "nothing"."""

    def __init__(self, backend: RedisCache):
        self.client = backend.client

    def get(self, key, default=None):
        return self.client.get(key, default)

    def set(self, key, value, timeout=None):
        self.client.set(key, value, timeout=timeout)


class ResilientRateThrottle(throttling.SimpleRateThrottle):
    """DRF's rate throttle, with the rate read at each request and a decided behaviour when Redis is down."""

    fail_open = True

    def get_rate(self):
        # Read now rather than at import, as DRF's class attribute is: settings changed later apply.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No rate set for throttle scope {self.scope!r}.") from None

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        if not _Outage.now():
            backend = caches["default"]
            self.cache = _RaisingCache(backend) if isinstance(backend, RedisCache) else backend
            try:
                return super().allow_request(request, view)
            except CACHE_ERRORS as exc:
                _Outage.begin(exc)
        if self.fail_open:
            return True
        self.cache = _local_counts
        return super().allow_request(request, view)


class AnonThrottle(ResilientRateThrottle, throttling.AnonRateThrottle):
    """Clients not signed in, by address; lets requests through while Redis is down."""


class UserThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Every client, by user when signed in, else by address; lets requests through while Redis is down."""


class BookingCreateThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Bookings made, by user or address; counted in the process while Redis is down."""

    scope = "booking_create"
    fail_open = False


class PaymentStartThrottle(ResilientRateThrottle, throttling.UserRateThrottle):
    """Payments started, by user or address; counted in the process while Redis is down."""

    scope = "payment_start"
    fail_open = False


def forget_outage() -> None:
    """Ask Redis again at the next request, and drop the counts kept meanwhile (tests, after an outage)."""
    _Outage.until = 0.0
    _local_counts.clear()
