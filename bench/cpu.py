"""CPU time of the stack's processes, read from /proc: user + system time of a process and of all its children.

A process's own time and its reaped children's (`utime stime cutime cstime` of /proc/<pid>/stat) are added over
its whole tree of live processes: gunicorn's master with its workers, Celery's with its pool. PostgreSQL runs a
server process per connection: the backends serving the bench's database are found in pg_stat_activity, the
bench's own connections left out.
"""

import contextlib
import os
import time
from pathlib import Path

TICK = 1 / os.sysconf("SC_CLK_TCK")
# The application_name of this process's other connections (to another stack's database): never the stack's.
OWN_CONNECTION = "maritime-bench"


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the thread or the process ended meanwhile
            out += [int(child) for child in (task / "children").read_text().split()]
    return out


def _own(pid: int) -> float:
    """Seconds of CPU of `pid` and of its children already waited for; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return sum(int(value) for value in fields[11:15]) * TICK  # utime stime cutime cstime


def tree(pid: int) -> float:
    """Seconds of CPU of `pid` and of every process below it."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += _own(current)
        pending += _children(current)
    return total


def backends(database: str) -> dict[int, float]:
    """The PostgreSQL server processes serving clients of `database` (but this process's own; not autovacuum's) and
    their CPU seconds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND application_name IS DISTINCT FROM %s",
            [database, OWN_CONNECTION],
        )
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: _own(pid) for pid in pids}


class Meter:
    """CPU seconds per kind of process between `start()` and `stop()`; `sample()` meanwhile, as often as one can.

    A PostgreSQL backend may end mid-measure (connections live CONN_MAX_AGE): its time is counted as last sampled.
    """

    def __init__(self, stack, kinds: dict[str, str]):
        self.stack = stack
        self.kinds = kinds  # kind → the stack's process name
        self.before: dict[str, float] = {}
        self.backends_before: dict[int, float] = {}
        self.backends_seen: dict[int, float] = {}
        self.backends_gone = 0

    def _read(self) -> dict[str, float]:
        return {kind: tree(self.stack.processes[name].pid) for kind, name in self.kinds.items()}

    def sample(self) -> None:
        self.backends_seen.update(backends(self.stack.database))

    def start(self) -> None:
        self.backends_before = backends(self.stack.database)
        self.backends_seen = dict(self.backends_before)
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        now = backends(self.stack.database)
        used = {kind: after[kind] - self.before[kind] for kind in self.kinds}
        self.backends_gone += len(set(self.backends_seen) - set(now))
        self.backends_seen.update(now)
        # A backend new since the start counts in full; one that ended, up to its last sample.
        used["postgres"] = sum(
            seconds - self.backends_before.get(pid, 0.0) for pid, seconds in self.backends_seen.items()
        )
        return used


# The speed probe: a fixed piece of work like the stack's — Python objects, JSON both ways, small system calls —
# timed by its own CPU clock every `sys.argv[1]` seconds, each time printed as "<epoch seconds> <CPU ms>".
PROBE = """
import json, os, sys, time
doc = {"sailings": [{"id": i, "ref": f"REF{i:06d}", "price": i * 1.25, "tags": ["deck", "cabin"]} for i in range(200)]}
r, w = os.pipe()
def work():
    for _ in range(30):
        json.loads(json.dumps(doc))
    counts = {}
    for i in range(60_000):
        counts[i % 977] = counts.get(i % 977, 0) + i
    for _ in range(3_000):
        os.write(w, b"x")
        os.read(r, 1)
work()
while True:
    began = time.process_time()
    work()
    print(time.time(), (time.process_time() - began) * 1000, flush=True)
    time.sleep(float(sys.argv[1]))
"""


def probes(log: Path, start: float, end: float) -> list[float]:
    """The speed probe's CPU ms (its `log`, as `PROBE` prints them) taken between two wall-clock times."""
    found = []
    with contextlib.suppress(OSError):
        for line in log.read_text().splitlines():
            when, _, ms = line.partition(" ")
            with contextlib.suppress(ValueError):
                if start <= float(when) <= end:
                    found.append(float(ms))
    return found


_kdamonds: list[int] | None = None

# The kernel's pressure stall counts (PSI, /proc/pressure/<resource>): the seconds since boot in which some task of the
# machine waited for the resource — memory (reclaim, pages read back in), IO, a core (runnable without one).
STALLS = {"memory": "memory stall s", "io": "io stall s", "cpu": "cpu stall s"}


def _cpu_ticks(text: str) -> list[int]:
    """All CPUs' ticks from /proc/stat's text (its first line): user nice system idle iowait irq softirq steal …"""
    return [int(value) for value in text.split("\n", 1)[0].split()[1:9]]


def busy(text: str) -> float:
    """CPU seconds all the machine's cores have spent busy since it booted, from /proc/stat's text: user, nice,
    system, irq, softirq and steal (a core the host gave its other guests is not free for ours either); idle and
    waiting for IO are not busy. Over a window, its change ÷ the window's seconds = the cores kept busy."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = _cpu_ticks(text)
    return (user + nice + system + irq + softirq + steal) * TICK


def busy_seconds() -> float:
    """`busy` of this machine now (0 where /proc/stat cannot be read)."""
    try:
        return busy(Path("/proc/stat").read_text())
    except OSError:
        return 0.0


def stalled(text: str) -> float:
    """Seconds some task waited, from a /proc/pressure file's text (its "some" line's total, in µs); 0 if unreadable."""
    for line in text.splitlines():
        kind, _, fields = line.partition(" ")
        if kind == "some":
            for field in fields.split():
                name, _, value = field.partition("=")
                if name == "total" and value.isdigit():
                    return int(value) / 1e6
    return 0.0


def machine_counters() -> dict[str, float]:
    """What the machine's memory management has done since it booted: pages of files read again after they were
    reclaimed (the page cache's refaults), major page faults, and the CPU seconds of kdamond — DAMON, the kernel's
    proactive reclaim, which a VM may run to give memory back to its host (paging out what was not touched lately).
    Taken at the start and the end of a figure, their differences say whether the machine was reclaiming meanwhile.
    And the CPU seconds the hypervisor gave other guests while this one had work to run (`steal` of /proc/stat, all
    CPUs together): a machine whose cores were partly taken away. And the seconds in which some task waited for memory,
    IO or a core (`STALLS`; 0 on a kernel without PSI): a stall of every process at once shows there. And the CPU
    seconds all cores spent busy (`busy`) beside a clock's seconds: over a window, how many cores were kept busy."""
    global _kdamonds
    wanted = {
        "workingset_refault_file": "refaults",
        "workingset_refault_anon": "refaults",
        "pgmajfault": "major faults",
    }
    counters = {"refaults": 0.0, "major faults": 0.0, "kdamond s": 0.0, "steal s": 0.0, "busy s": 0.0}
    for resource, name in STALLS.items():
        try:
            counters[name] = stalled(Path(f"/proc/pressure/{resource}").read_text())
        except OSError:
            counters[name] = 0.0
    # The cores kept busy over a window: the change of "busy s" ÷ the change of "wall s" (`busy`).
    counters["wall s"] = time.monotonic()
    with contextlib.suppress(OSError, IndexError, ValueError):
        stat = Path("/proc/stat").read_text()
        counters["steal s"] = _cpu_ticks(stat)[7] * TICK
        counters["busy s"] = busy(stat)
    with contextlib.suppress(OSError):
        for line in Path("/proc/vmstat").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name in wanted:
                counters[wanted[name]] += float(value)
    if _kdamonds is None:
        _kdamonds = []
        for comm in Path("/proc").glob("[0-9]*/comm"):
            with contextlib.suppress(OSError):
                if comm.read_text().startswith("kdamond"):
                    _kdamonds.append(int(comm.parent.name))
    counters["kdamond s"] = sum(_own(pid) for pid in _kdamonds)
    return counters
