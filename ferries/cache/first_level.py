"""The web process's own copies of the most asked whole answers: the bytes Redis keeps, held a few seconds.

A copy stands only while Redis keeps the very entry it was copied from. Two ways to know, the first preferred:

* **Told** (`Listener`): the process keeps one connection of its own on which Redis says which answers changed —
  Redis's server-assisted client-side caching (CLIENT TRACKING, broadcasting every change to keys under the
  answers' prefixes, RESP3). Before a copy is used, what Redis said since is read without waiting (the socket
  polled, no round trip) and the copies it names dropped; a flush drops them all. While the connection stands, a
  hit costs Redis nothing. A copy is made only if nothing was said about its key between the read it was made from
  and its keeping (`mark`, `put`'s `read_at`), so a change racing the read is never lost. A lookup with no copy to
  use leaves what was said unread (it reads Redis anyway; reading would cost every web process each change made
  anywhere, a miss's new answer included): what was said after its read is then read before its copy is used.
* **Asked**: without that connection (Redis without tracking, the connection lost and not yet made again), the
  request's rate-limit round trip reads the entry's expiry (PEXPIRETIME) and the copy is sent only if it is the
  one copied, to the millisecond.

An answer dropped in Redis (a sailing's availability changed, searches cleared) or kept again since is therefore
not sent from here once Redis has said so — by then the change's own writer has had its answer — so the
availability shown lags no more than without these copies. When the connection fails, every copy goes (what was
said meanwhile is unknown); it is made again at a later lookup, a few seconds on. Copies older than
SEARCH_ANSWER_LOCAL_TTL go, and the least recently used go first past SEARCH_ANSWER_LOCAL_SIZE.
"""

import logging
import select
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import redis

from kernel import process, redis_lane

logger = logging.getLogger("ferries.cache")

# After the connection fails (or Redis refuses tracking), how long before it is tried again.
LISTENER_RETRY_SECONDS = 5.0
# How often what Redis says is read while the process makes no lookup with a copy to use.
IDLE_READ_SECONDS = 1.0
# How many of the keys Redis named lately are remembered, for copies whose read raced them (`FirstLevel.put`).
REMEMBERED_CHANGES = 4096


@dataclass(frozen=True)
class Copy:
    body: bytes
    expires_at_ms: int  # the Redis entry's expiry, as PEXPIRETIME answered when copied
    until: float  # monotonic time past which the copy is not used


class FirstLevel:
    def __init__(self):
        self._copies: OrderedDict[str, Copy] = OrderedDict()
        self._lock = threading.RLock()
        self._changes = 0  # keys Redis named since the process started
        self._changed: OrderedDict[str, int] = OrderedDict()  # key → the count when it was last named
        self._forgotten = 0  # the count at which the oldest change not remembered was named

    def get(self, key: str) -> Copy | None:
        with self._lock:
            copy = self._copies.get(key)
            if copy is None:
                return None
            if copy.until <= time.monotonic() or copy.expires_at_ms <= time.time() * 1000:
                del self._copies[key]
                return None
            self._copies.move_to_end(key)
            return copy

    def mark(self) -> int:
        """Where the changes Redis told stand, before a read: give it to `put` as `read_at`."""
        return self._changes

    def put(
        self, key: str, body: bytes, *, expires_at_ms: int, ttl: float, size: int, read_at: int | None = None
    ) -> None:
        """Keep a copy of what Redis answered; not if `read_at` (`mark` before the read) is given and Redis has named
        the key since (or so many keys that it cannot tell)."""
        if ttl <= 0 or size <= 0:
            return
        with self._lock:
            if read_at is not None and (read_at < self._forgotten or self._changed.get(key, -1) > read_at):
                return
            self._copies[key] = Copy(body, expires_at_ms, time.monotonic() + ttl)
            self._copies.move_to_end(key)
            while len(self._copies) > size:
                self._copies.popitem(last=False)

    def changed(self, keys: list[str] | None) -> None:
        """Redis says these keys changed (None: all of them, a flush): their copies go."""
        with self._lock:
            if keys is None:
                self._copies.clear()
                self._changes += 1
                self._forgotten = self._changes  # every read before this one may be stale
                self._changed.clear()
                return
            for key in keys:
                self._copies.pop(key, None)
                self._changes += 1
                self._changed[key] = self._changes
                self._changed.move_to_end(key)
            while len(self._changed) > REMEMBERED_CHANGES:
                _key, self._forgotten = self._changed.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._copies.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()

    def __len__(self) -> int:
        return len(self._copies)


class Listener:
    """The process's connection on which Redis tells which keys under `prefixes` changed, applied to `first_level`.

    Made at the first `listening()` of a process (again after a fork: a connection is no other process's), from
    `client`'s connection settings, with RESP3, which tracking needs to speak on the connection it is asked on."""

    def __init__(self, first_level: FirstLevel):
        self.first_level = first_level
        self._connection = None
        self._pid = None
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self._root = ""
        self.client_id: int | None = None  # the connection's, in Redis (CLIENT LIST)
        self._polls = threading.local()  # each thread's poller of the connection's socket (`_nothing_said`)
        self._reading = False  # set while what Redis said is read and applied, under the lock
        self._poller = None  # the connection's socket's, polled under the lock

    def listening(self, client: redis.Redis, root: str, prefixes: list[str]) -> bool:
        """Whether copies can be used as they are: listening, and every change told so far applied. `root`: what
        Redis's names have before the copies' (the cache's key prefix and version); `prefixes`: the copies' names
        (after `root`) whose changes are told."""
        if self._nothing_said():
            return True
        with self._lock:
            if self._pid != process.pid():
                self._connection, self._pid, self._retry_at = None, process.pid(), 0.0
            if self._connection is None:
                if time.monotonic() < self._retry_at:
                    return False
                self._root = root
                self._connection = self._connect(client, [root + prefix for prefix in prefixes])
                if self._connection is None:
                    return False
            return self._read_told()

    def standing(self) -> bool:
        """Whether the connection is made in this process (what came on it may be unread)."""
        return self._connection is not None and self._pid == process.pid()

    def _nothing_said(self) -> bool:
        """Whether the connection stands and nothing came on it since it was last read, nor is being read: then the
        copies stand, known without the lock (the threads of a process asking at once do not wait on each other).
        The order matters: the socket is polled before `_reading` is looked at, and a reader sets it before it
        reads (or drops the connection), so what another thread has taken off the socket but not applied yet is
        never missed. Each thread polls with a poller of its own (one cannot be polled by two threads at once)."""
        connection = self._connection
        if connection is None or self._pid != process.pid():
            return False
        mine = getattr(self._polls, "poll", None)
        if mine is None or mine[0] is not connection:
            sock = connection._sock
            if sock is None:
                return False
            mine = self._polls.poll = (connection, select.poll())
            mine[1].register(sock, select.POLLIN)
        if mine[1].poll(0):  # something said (or the connection closed): read under the lock
            return False
        # Nothing is left in the parser's buffer: a read goes on until the buffer and the socket are empty.
        return not self._reading and self._connection is connection

    def try_again(self) -> None:
        """Make the connection again at the next lookup if it was lost, without waiting LISTENER_RETRY_SECONDS."""
        with self._lock:
            self._retry_at = 0.0

    def _read_told(self) -> bool:
        """Apply what Redis said so far (without waiting); False if the connection is lost. Under the lock."""
        self._reading = True
        connection = self._connection
        try:
            # Each read takes what the socket holds, which may be more than one message: those left in the parser's
            # buffer are read before the socket is polled again. Closed, the socket polls readable and the read fails.
            while _buffered(connection) or self._poller.poll(0):
                connection.read_response(push_request=True)  # the push goes to `_told`
        except (redis.RedisError, OSError) as exc:
            self._lost(exc)
            return False
        finally:
            self._reading = False
        return True

    def _read_while_idle(self, connection) -> None:
        """Read what Redis says every IDLE_READ_SECONDS, whatever the lookups: changes keep coming while the process
        is idle or only misses (no copy to use), and left unread they would pile up in Redis's buffer for this
        connection."""
        while True:
            time.sleep(IDLE_READ_SECONDS)
            with self._lock:
                if self._connection is not connection or self._pid != process.pid():
                    return
                self._read_told()

    def _connect(self, client: redis.Redis, prefixes: list[str]):
        pool = client.connection_pool
        connection = pool.connection_class(**{**pool.connection_kwargs, "protocol": 3})
        try:
            connection.connect()
            self._poller = select.poll()
            self._poller.register(redis_lane.kernel_timeouts(connection), select.POLLIN)
            connection._parser.set_invalidation_push_handler(self._told)
            connection.send_command("CLIENT", "TRACKING", "ON", "BCAST", *(a for p in prefixes for a in ("PREFIX", p)))
            connection.send_command("CLIENT", "ID")
            connection.read_response()
            self.client_id = connection.read_response()
        except (redis.RedisError, OSError) as exc:
            connection.disconnect()
            self._lost(exc)
            return None
        self.first_level.changed(None)  # copies made, and reads made, before now were not told what changed meanwhile
        threading.Thread(target=self._read_while_idle, args=(connection,), name="answer-changes", daemon=True).start()
        return connection

    def _told(self, message: list) -> None:
        # [b"invalidate", [key, ...]], or [b"invalidate", None] when the database was flushed.
        names = message[1]
        if names is None:
            self.first_level.changed(None)
            return
        skip = len(self._root)
        self.first_level.changed([(n.decode() if isinstance(n, bytes) else n)[skip:] for n in names])

    def _lost(self, exc: BaseException) -> None:
        logger.warning("search answers' copies: not told of changes by Redis (%r); checking each copy instead", exc)
        if self._connection is not None:
            self._connection.disconnect()
        self._connection = None
        self._retry_at = time.monotonic() + LISTENER_RETRY_SECONDS
        self.first_level.changed(None)


def _buffered(connection) -> bool:
    """Whether the connection's parser holds what was read but not parsed yet (hiredis's reader, which redis-py uses
    when installed; another parser is asked through redis-py's own check, which polls the socket too)."""
    reader = getattr(connection._parser, "_reader", None)
    return reader.has_data() if reader is not None else connection.can_read(timeout=0)
