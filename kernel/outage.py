"""One breaker for the cache's Redis, shared by everything in this process that talks to it directly (the search
cache, the rate limits).

When a call to Redis fails, the caller trips the breaker and goes on without Redis; for the next few seconds every
caller sees it open and does not ask, so an outage costs one socket timeout per process, not one per request and
per user of Redis. After that Redis is asked again.
"""

import logging
import time

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 5.0


class Breaker:
    def __init__(self, *, backoff: float = BACKOFF_SECONDS):
        self.backoff = backoff
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self, exc: BaseException, *, message: str, log: logging.Logger = logger) -> None:
        """Open for `backoff` seconds; log `message` (formatted with the seconds and the error) unless already open."""
        if not self.is_open():
            cause = exc.__cause__ or exc  # django-redis wraps Redis's own error
            log.warning(message, self.backoff, cause)
        self._open_until = time.monotonic() + self.backoff

    def reset(self) -> None:
        """Ask Redis again at the next call (after an outage is known to be over)."""
        self._open_until = 0.0


cache_breaker = Breaker()
