"""The web process's own copies of the most asked whole answers: the bytes Redis keeps, held a few seconds.

An answer found here is still checked against Redis before it is sent, in the round trip the request makes anyway
for its rate limits: the copy stands only while Redis keeps the very entry it was copied from (same expiry, to the
millisecond: PEXPIRETIME). An answer dropped in Redis (a sailing's availability changed, searches cleared) or kept
again since is therefore never sent from here, so the availability shown lags no more than without these copies;
what is saved is the answer's bytes crossing the socket, and their parsing, on every hit. Copies older than
SEARCH_ANSWER_LOCAL_TTL go, and the least recently used go first past SEARCH_ANSWER_LOCAL_SIZE.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Copy:
    body: bytes
    expires_at_ms: int  # the Redis entry's expiry, as PEXPIRETIME answered when copied
    until: float  # monotonic time past which the copy is not used


class FirstLevel:
    def __init__(self):
        self._copies: OrderedDict[str, Copy] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Copy | None:
        with self._lock:
            copy = self._copies.get(key)
            if copy is None:
                return None
            if copy.until <= time.monotonic():
                del self._copies[key]
                return None
            self._copies.move_to_end(key)
            return copy

    def put(self, key: str, body: bytes, *, expires_at_ms: int, ttl: float, size: int) -> None:
        if ttl <= 0 or size <= 0:
            return
        with self._lock:
            self._copies[key] = Copy(body, expires_at_ms, time.monotonic() + ttl)
            self._copies.move_to_end(key)
            while len(self._copies) > size:
                self._copies.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._copies.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()

    def __len__(self) -> int:
        return len(self._copies)
