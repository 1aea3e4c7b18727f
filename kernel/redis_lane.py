"""Round trips to Redis on a connection each thread keeps for itself: the commands a request sends on its way (its
rate limits with the search answer's lookup, a miss's writes), packed in one write and their answers read in order.

redis-py takes a connection from its pool for every command or pipeline and gives it back after, and in redis-py 8
that checkout and return cost more of the client's CPU than packing, sending and reading the commands: a pipeline of
two reads 100–110 µs through the pool against 55–60 µs on a connection kept (one thread, the same Redis; the pool's
work is a deprecation wrapper, a check that the socket is empty and observability hooks at each checkout). Here a
thread makes its connection once — from its client's pool's settings (address, database, timeouts, parser), outside
the pool's count — and keeps it for the process's life; a connection is never shared by two threads nor inherited
across a fork.

A kept connection that Redis has closed (restarted, timed out) is found before it is written to — the socket
readable with nothing asked — and made again, as the pool does at checkout. Any failure during a round trip drops the
connection (what was not read goes with it) and is raised, for the caller's breaker (kernel/outage.py).

A command whose answer the sender need not wait for (a miss's writes) can be sent alone (`send`): its answer is
read with the next round trip on the connection — the same read often brings both — or when the thread is done with
its work (`settle`, at the end of a request or a task), by which time it is there to read without waiting. A read that
waits costs the client several times what a read of what has already come costs (its thread is put to sleep and woken
again). A connection that owes answers and whose socket is readable has them read before it is written to again
(closed meanwhile, the read fails and the connection is made again, as one found closed with nothing owed is). The
commands run in Redis in the order they are sent either way; a process forked from a thread owes nothing of its
parent's.

A kept connection's socket blocks, its timeout the kernel's (SO_SNDTIMEO, SO_RCVTIMEO: `kernel_timeouts`): Python
keeps a socket's own timeout by polling before every send and every read, which doubles the system calls of a round
trip (a poll, a send, a poll, a read), and a system call on this machine costs more of the client's CPU than packing
and parsing the commands. A send or read past the timeout fails as one past Python's would, and is raised the same.
"""

import contextlib
import logging
import os
import select
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis
from redis.commands.core import Script

from kernel import process

logger = logging.getLogger(__name__)

_kept = threading.local()  # this thread's connections: {id(pool): _Lane}

# A Lua function for scripts writing where a key of another kind may stand (made by hand, say): `replacing(command,
# key, ...)` makes the command; refused for the kind of value the key holds (WRONGTYPE), the key is deleted and the
# command made again. Answers what Redis answered (an error as `redis.pcall`'s table), and the refusal that had the key
# replaced (nil when none).
REPLACING = """
local function replacing(command, key, ...)
  local answer = redis.pcall(command, key, ...)
  if type(answer) == 'table' and answer.err and string.sub(answer.err, 1, 9) == 'WRONGTYPE' then
    redis.call('DEL', key)
    return redis.pcall(command, key, ...), answer.err
  end
  return answer, nil
end
"""


@dataclass(eq=False)
class _Lane:
    """A thread's connection to one pool's Redis, and what was sent on it whose answers are not read yet."""

    pid: int
    connection: redis.Connection
    pool: redis.ConnectionPool
    poller: select.poll  # the connection's socket, polled before a write when nothing is left to read
    unread: list[Callable[[object], None]] = field(default_factory=list)  # what to do with each answer, in order


def send(client: redis.Redis, commands: list[tuple], then: Callable[[object], None]) -> None:
    """Send `commands` on this thread's connection to `client`'s Redis without waiting for their answers: each is
    given to `then` (an error reply as its exception, unparsed otherwise) once read — with the next round trip on the
    connection, or at `settle`. A failure to send drops the connection and is raised."""
    lane = _lane(client.connection_pool)
    connection = lane.connection
    with _failing_drops(lane):
        connection.send_packed_command(connection.pack_commands(commands), check_health=False)
    lane.unread += [then] * len(commands)


def pending() -> bool:
    """Whether this thread's connections owe answers to what it sent alone (`send`)."""
    return bool(_owing())


def _owing() -> list[_Lane]:
    """This thread's connections that owe answers."""
    return [lane for lane in getattr(_kept, "lanes", {}).values() if lane.unread]


def owed(client: redis.Redis) -> int:
    """How many answers this thread's connection to `client`'s Redis still owes (sent alone, not read yet)."""
    lane = getattr(_kept, "lanes", {}).get(id(client.connection_pool))
    return len(lane.unread) if lane is not None and lane.pid == process.pid() else 0


def abandon() -> None:
    """Close this thread's connections that still owe answers, without reading them (Redis is known to be away:
    a read would wait out the timeout); what was asked of those answers is not done."""
    for lane in _owing():
        _drop(lane)


def settle() -> None:
    """Read the answers not read yet on this thread's connections (`send`), and do with each what was asked. A
    failure drops that connection (with what was not read) and is raised once the others are read."""
    failure = None
    for lane in _owing():
        try:
            with _failing_drops(lane):
                done = _read_unread(lane)
        except BaseException as exc:
            failure = failure or exc
            continue
        _answer(done)
    if failure is not None:
        raise failure


def _read_unread(lane: _Lane) -> list[tuple[Callable[[object], None], object]]:
    """The answers of what was sent alone on `lane` (in order), each with what to do with it."""
    done = []
    while lane.unread:
        then = lane.unread.pop(0)
        try:
            answer = lane.connection.read_response()
        except redis.ResponseError as error:
            answer = error
        done.append((then, answer))
    return done


def _answer(done: list[tuple[Callable[[object], None], object]]) -> None:
    """Do with each answer read what its sender asked; what they raise is logged (the round trip that read them was
    not theirs)."""
    for then, answer in done:
        try:
            then(answer)
        except Exception:
            logger.exception("an answer read after its command was sent alone could not be handled")


def round_trip(client: redis.Redis, commands: list[tuple], *, check: bool = False) -> list:
    """The answers of `commands` — each a tuple, the command's name first — sent at once on this thread's connection
    to `client`'s Redis, in their order, each parsed as `client` parses it; an error reply is given as its exception
    (every answer is read, so that the connection stays in step), or raised once all are read (`check`)."""
    lane = _lane(client.connection_pool)
    connection = lane.connection
    with _failing_drops(lane):
        connection.send_packed_command(connection.pack_commands(commands), check_health=False)
        done = _read_unread(lane) if lane.unread else []
        answers = []
        for command in commands:
            try:
                answer = connection.read_response()
            except redis.ResponseError as error:
                answers.append(error)
                continue
            name = command[0].decode() if isinstance(command[0], bytes) else command[0]
            parse = client.response_callbacks.get(name.upper())
            answers.append(parse(answer) if parse else answer)
    if done:
        _answer(done)
    if check:
        _raise_errors(answers)
    return answers


def with_scripts(
    client: redis.Redis, commands: list[tuple], scripts: list[tuple[Script, list, list]], *, check: bool = True
) -> tuple[list, list]:
    """The answers of `commands` and of `scripts` ((Script, keys, args), sent by their digests) in one round trip;
    a script Redis does not know (restarted since it was loaded) is then sent whole, in one more. An error reply
    is raised once every answer has been read (`check`), or else given in its place."""
    sent = [*commands, *(("EVALSHA", script.sha, len(keys), *keys, *args) for script, keys, args in scripts)]
    answers = round_trip(client, sent)
    ran = answers[len(commands) :]
    forgotten = [i for i, answer in enumerate(ran) if isinstance(answer, redis.exceptions.NoScriptError)]
    if forgotten:
        whole = round_trip(
            client,
            [("EVAL", scripts[i][0].script, len(scripts[i][1]), *scripts[i][1], *scripts[i][2]) for i in forgotten],
        )
        for i, answer in zip(forgotten, whole, strict=True):
            ran[i] = answer
    if check:
        _raise_errors(answers[: len(commands)] + ran)
    return answers[: len(commands)], ran


# What a blocking socket's read or send past the kernel's timeout raises (a TLS socket: one of ssl's).
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


@contextlib.contextmanager
def _failing_drops(lane: _Lane) -> Iterator[None]:
    """Any failure within drops the lane's connection (what was not read goes with it) and is raised; a send or read
    past the kernel's timeout, which redis-py raises as a ConnectionError over EAGAIN, as the TimeoutError a timeout
    kept by Python would have been."""
    try:
        yield
    except BaseException as exc:
        _drop(lane)
        if isinstance(exc, redis.ConnectionError) and isinstance(exc.__context__, _WOULD_BLOCK):
            raise redis.TimeoutError(f"Timeout on the connection to Redis: {exc}") from exc
        raise


def _raise_errors(answers: list) -> None:
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer


def run_script(client: redis.Redis, script: Script, keys: list, args: list):
    """One script's answer, by its digest (whole if Redis forgot it), on this thread's connection."""
    return with_scripts(client, [], [(script, keys, args)])[1][0]


def _lane(pool: redis.ConnectionPool) -> _Lane:
    lanes = getattr(_kept, "lanes", None)
    if lanes is None:
        lanes = _kept.lanes = {}
    pid = process.pid()
    lane = lanes.get(id(pool))
    if lane is not None and lane.pid == pid and lane.pool is pool:
        if lane.unread and lane.connection._sock is not None and lane.poller.poll(0):
            _read_come(lane)  # the answers owed, come already; or the socket closed (a restart): dropped
        if lane.connection._sock is not None and (lane.unread or not lane.poller.poll(0)):
            return lane  # with nothing left to read, a readable socket is closed, or out of step: made again
        _drop(lane)
        connection = lane.connection
    else:
        connection = pool.connection_class(**pool.connection_kwargs)  # a parent's, inherited by a fork, left alone
    connection.connect()
    poller = select.poll()
    poller.register(kernel_timeouts(connection), select.POLLIN)
    lane = lanes[id(pool)] = _Lane(pid, connection, pool, poller)
    return lane


def _read_come(lane: _Lane) -> None:
    """Read the answers `lane` owes, the socket readable; a failure (the socket closed) drops the connection, and
    what was asked of the answers is not done."""
    try:
        with _failing_drops(lane):
            done = _read_unread(lane)
    except redis.RedisError:
        return
    _answer(done)


def _forget_after_fork() -> None:
    """A child forked from a thread keeps that thread's connections: the parent's, never read nor closed here."""
    _kept.__dict__.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _drop(lane: _Lane) -> None:
    """Close the lane's connection, with whatever was left to read on it."""
    lane.connection.disconnect()
    lane.unread.clear()


def kernel_timeouts(connection: redis.Connection) -> socket.socket:
    """Make the connected `connection`'s socket block, with its timeout (socket_timeout) kept by the kernel rather
    than by Python's poll before each send and read; answers the socket."""
    sock = connection._sock
    timeout = connection.socket_timeout
    sock.settimeout(None)
    if timeout:
        seconds = struct.pack("ll", int(timeout), int(timeout % 1 * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, seconds)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, seconds)
    return sock
