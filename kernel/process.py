"""This process's id and unique tokens, without a system call at each ask.

`os.getpid()` is a system call every time (glibc keeps no copy), and the request path asks at every round trip to
Redis and every look at the search answers' copies, to tell a connection or a count of this process's from one
inherited across a fork. `secrets.token_hex` reads the kernel's random source at every call, where a lock's token or
a rate-limit window's member only has to be unique. Both are read once, and again in a child after each fork
(`os.register_at_fork`: gunicorn's and Celery's workers are forked with `os.fork`).

And what a server process has loaded, left out of its garbage collections once it is loaded (`heap_frozen`)."""

import gc
import itertools
import os
import secrets

_pid = os.getpid()
_prefix = secrets.token_hex(8)  # 64 random bits: no two processes anywhere share one
_count = itertools.count()


def _forked() -> None:
    global _pid, _prefix, _count
    _pid, _prefix, _count = os.getpid(), secrets.token_hex(8), itertools.count()


os.register_at_fork(after_in_child=_forked)


def pid() -> int:
    """This process's id."""
    return _pid


def unique() -> str:
    """A text no other call makes, in this process or any other: the process's random prefix and a count."""
    return f"{_prefix}.{next(_count)}"


def heap_frozen() -> int:
    """Leave what this process holds so far out of its garbage collections (`gc.freeze`), and answer how many objects.

    A server process loads some 150,000 objects the collector tracks (Django, the apps, their libraries), all kept for
    its whole life; a full collection walks every one of them — 35–45 ms of CPU holding the GIL, every thread of the
    process stopped for as long, each time the older generations fill. Called once the process has loaded what it
    serves with (a web worker its URLconf and views; a Celery worker before its pool forks, so that its children
    inherit the frozen objects), later collections walk only what was made since. Objects frozen are never freed: a
    process calls this once, after loading, not while serving."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
