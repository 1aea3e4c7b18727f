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
"""

import os
import threading

import redis
from redis.commands.core import Script

_kept = threading.local()  # this thread's connections: {id(pool): (pid, connection, pool)}


def round_trip(client: redis.Redis, commands: list[tuple], *, check: bool = False) -> list:
    """The answers of `commands` — each a tuple, the command's name first — sent at once on this thread's connection
    to `client`'s Redis, in their order, each parsed as `client` parses it; an error reply is given as its exception
    (every answer is read, so that the connection stays in step), or raised once all are read (`check`)."""
    connection = _connection(client.connection_pool)
    try:
        connection.send_packed_command(connection.pack_commands(commands), check_health=False)
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
    except BaseException:
        connection.disconnect()
        raise
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


def _raise_errors(answers: list) -> None:
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer


def run_script(client: redis.Redis, script: Script, keys: list, args: list):
    """One script's answer, by its digest (whole if Redis forgot it), on this thread's connection."""
    return with_scripts(client, [], [(script, keys, args)])[1][0]


def _connection(pool: redis.ConnectionPool) -> redis.Connection:
    kept = getattr(_kept, "connections", None)
    if kept is None:
        kept = _kept.connections = {}
    pid = os.getpid()
    held = kept.get(id(pool))
    if held is None or held[0] != pid or held[2] is not pool:
        connection = pool.connection_class(**pool.connection_kwargs)
        kept[id(pool)] = (pid, connection, pool)
    else:
        connection = held[1]
        if connection._sock is not None:
            try:
                stale = connection.can_read(timeout=0)  # nothing asked: readable means closed, or out of step
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                stale = True
            if stale:
                connection.disconnect()  # made again below
    if connection._sock is None:
        connection.connect()
    return connection
