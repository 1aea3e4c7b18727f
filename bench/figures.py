"""The figures of bench/README.md, each measured A/B side by side in alternating rounds.

A figure's A and B are measured in turn, round after round (A B, B A, A B, …), each run after a warm-up of
its own, and the figure is the ratio of the medians: whatever else the machine does at the time weighs on
both sides alike.
"""

import datetime as dt
import gc
import json
import math
import os
import secrets
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
import stripe

from bench import cpu, data, profile
from bench.baseline import COMMIT as BASELINE_COMMIT
from bench.load import LOAD_CPU, ApartLoad, Run, http_request, open_loop_apart, request_lines, wrk
from bench.stack import WEBHOOK_SECRET, Stack
from kernel import process

# Figure 2: an uncached search of our own inventory serves at least this share of the bare view's requests/s.
UNCACHED_OF_BARE = 0.10
# Distinct searches per run of figure 4: more than a run of misses gets through (it says so when not).
MISS_CHUNK = 3000
# Figure 4 read again in one thread of the bench's own process, with no load: rounds of this many never-asked searches
# a side, the same on both sides of a round (`Bench.miss_in_one_thread`).
ONE_THREAD_SEARCHES = 200
ONE_THREAD_ROUNDS = 6
# Figure 6: the processes whose CPU each round is metered (PostgreSQL's backends too).
HOLD_PROCESSES = {"web": "web_a", "cache": "redis_cache", "broker": "redis_broker"}
# Figure 7: the processes whose CPU each round is metered (PostgreSQL's backends too, and the load's own).
WEBHOOK_PROCESSES = {
    "web": "web_a",
    "payments worker": "worker_payments",
    "broker": "redis_broker",
    "cache": "redis_cache",
}


@dataclass
class Config:
    seconds: float = 5.0  # one measured run
    warmup: float = 2.0  # before each run
    rounds: int = 5  # enough for a median and its spread
    zipf_seconds: float = 60.0
    connections: int = 8
    profiles: bool = True  # a profile of each target missed
    profile_all: bool = False  # and of each target met


@dataclass
class Figure:
    number: int
    title: str
    a_label: str
    b_label: str
    a: float
    b: float
    unit: str
    ratio: float
    target: str
    met: bool
    details: list[str] = field(default_factory=list)
    distributions: dict[str, dict[float, float]] = field(default_factory=dict)
    profile: str = ""
    profiled: str = ""
    runs: dict[str, list[float]] = field(default_factory=dict)
    # The figure of each round on its own, where it is not A ÷ B of that round's runs.
    per_round: list[float] = field(default_factory=list)
    # What the machine did in each round, both sides together (bench/cpu.machine_counters): an outlying round shows
    # whether the VM's reclaim or its host's other guests (steal) were at work then.
    machine: list[dict[str, float]] = field(default_factory=list)
    # The speed probe's CPU ms (bench/cpu.py) while the figure was measured, median and range: higher is a slower
    # machine.
    probe_ms: float | None = None
    probe_range: tuple[float, float] | None = None

    def round_ratios(self) -> list[float]:
        """Each round's own ratio: how far the rounds spread around the figure."""
        if self.per_round:
            return self.per_round
        a, b = self.runs.get("a", []), self.runs.get("b", [])
        return [x / y for x, y in zip(a, b, strict=False) if y]

    def spread(self) -> tuple[float, float] | None:
        """(lowest, highest) of the rounds' ratios; None for a figure measured once."""
        ratios = self.round_ratios()
        return (min(ratios), max(ratios)) if len(ratios) > 1 else None


# Figure 9's yardstick until it was measured beside the current code in the same run: b26a980's CPU a lifecycle,
# measured in separate runs on another machine (bench/README.md). Kept in the figure's details, for the history.
OLD_BASELINE_MS = 503.0
# Figure 8: with the web tier idle, a task waits less than this for a worker on every queue.
IDLE_QUEUE_P99 = 0.050


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def median_percentiles(runs: list[Run]) -> dict[float, float]:
    return {q: median([run.percentiles[q] for run in runs]) for q in runs[0].percentiles}


def alternate(rounds: int, measure_a, measure_b) -> tuple[list[Run], list[Run]]:
    """A then B, B then A, …: `measure_x(round)` answers one Run (after its own warm-up), with what the machine did
    meanwhile (`Run.machine`)."""
    runs: dict[str, list[Run]] = {"a": [], "b": []}
    for number in range(rounds):
        order = (("a", measure_a), ("b", measure_b)) if number % 2 == 0 else (("b", measure_b), ("a", measure_a))
        for side, measure in order:
            before = cpu.machine_counters()
            run = measure(number)
            after = cpu.machine_counters()
            run.machine = {name: after[name] - before[name] for name in after}
            runs[side].append(run)
    return runs["a"], runs["b"]


def machine_rounds(a: list[Run], b: list[Run]) -> list[dict[str, float]]:
    """What the machine did in each round of `alternate`, both sides together."""
    return [
        {name: x.machine[name] + y.machine[name] for name in x.machine}
        for x, y in zip(a, b, strict=True)
        if x.machine and y.machine
    ]


def stalls_text(slowest: str, before: dict[str, float], after: dict[str, float]) -> str:
    """A round's slowest probe beside the seconds some task of the machine waited for memory, IO and a core meanwhile
    (bench/cpu.machine_counters, taken before and after it): a stall of every process at once shows there."""
    waited = {name: after[name] - before[name] for name in cpu.STALLS.values()}
    return (
        f"{slowest}, memory {waited['memory stall s']:.2f} s, IO {waited['io stall s']:.2f} s, "
        f"a core {waited['cpu stall s']:.2f} s"
    )


def machine_text(figure: Figure) -> str:
    """Each round's ratio beside what the machine did meanwhile ('' when the rounds' machine is not known)."""
    ratios = figure.round_ratios()
    if not figure.machine or len(figure.machine) != len(ratios):
        return ""
    return (
        "each round's ratio with the machine's work meanwhile (kdamond s, steal s, refaults, cores busy): "
        + "; ".join(
            f"{ratio:.3g} ({m['kdamond s']:.1f}, {m['steal s']:.1f}, {m['refaults']:,.0f}, {cores_busy(m)})"
            for ratio, m in zip(ratios, figure.machine, strict=True)
        )
    )


def cores_busy(moved: dict[str, float]) -> str:
    """How many cores were kept busy on average over a window, from the change of bench/cpu.machine_counters over it
    ('?' where the window's counts lack it)."""
    if not moved.get("wall s") or "busy s" not in moved:
        return "?"
    return f"{moved['busy s'] / moved['wall s']:.2f}"


def cores_text(cores: dict[str, list[float]], hooks: list[Run], worker: list[tuple[float, int]], rate: float) -> str:
    """Figure 7's rounds against the two cores: how many were kept busy (`cores`: each round's, by side), what each
    process took of them during the webhooks' rounds, a webhook's CPU over the stack's processes, and, in each of those
    rounds, the events the payments worker processed a second and those left waiting at its end (`worker`)."""
    sides = ", ".join(
        f"{side} {median(busy):.2f} ({min(busy):.2f}–{max(busy):.2f})" for side, busy in cores.items() if busy
    )
    kinds = list(hooks[0].cpu or {})
    taken = ", ".join(f"{kind} {median([r.cpu[kind] / r.seconds for r in hooks]):.2f}" for kind in kinds)
    stack = [sum(v for kind, v in r.cpu.items() if kind != LOAD_CPU) * 1000 / r.requests for r in hooks]
    return (
        f"the cores kept busy during the rounds, of {os.cpu_count()} (all processes and the host's other guests: "
        f"/proc/stat; median and range): {sides}; during the webhooks' rounds, CPU seconds a second by process "
        f"(medians): {taken}; a webhook's CPU over the stack's processes {median(stack):.2f} ms (rounds "
        f"{min(stack):.2f}–{max(stack):.2f}); events the payments worker processed a second in each round, against "
        f"{rate:.0f} arriving: {' / '.join(f'{done:.0f}' for done, _waiting in worker)}, and those waiting at its "
        f"end: {' / '.join(f'{waiting:,}' for _done, waiting in worker)}"
    )


def cpu_text(runs: list[Run]) -> str:
    """The metered runs' CPU per request by kind of process, medians of the runs, and their total's range."""
    kinds = list(runs[0].cpu or {})
    each = ", ".join(f"{kind} {median([r.cpu_per_request()[kind] for r in runs]):.2f}" for kind in kinds)
    totals = [sum(r.cpu_per_request().values()) for r in runs]
    return f"{each}, all {median(totals):.2f} (rounds {min(totals):.2f}–{max(totals):.2f})"


def one_thread_text(
    miss: list[dict[str, float]],
    bare: list[dict[str, float]],
    scripts: list[dict[str, float]] | None = None,
    work: tuple[list[dict[str, float]], list[dict[str, float]]] | None = None,
) -> str:
    """Figure 4's reading in one thread (`Bench.miss_in_one_thread`): CPU ms per search by process over all the rounds
    of a side (their mean: the rounds are the same size), each side's total and their ratio. Not the median: a
    PostgreSQL backend's CPU is read in ticks of 10 ms, coarse for a round, and the side that searches a round's
    queries first warms what the other then finds (as many rounds begin with each side, which the mean evens out).
    `scripts`: the miss side's rounds as Redis counted its scripts (`redis_scripts`), each {"ms": run time a search,
    "calls": a search}: how much of Redis's CPU is the scripts' work, and how much the rest of serving them. `work`:
    each side's rounds as Redis counted what it was asked (`redis_work`), the same on any machine: what a change to
    the miss path saves in round trips, commands and bytes shows there even where the machine's noise hides its CPU."""
    kinds = list(miss[0])
    a = {kind: statistics.fmean([r[kind] for r in miss]) for kind in kinds}
    b = {kind: statistics.fmean([r[kind] for r in bare]) for kind in kinds}
    total_a, total_b = sum(a.values()), sum(b.values())
    each = ", ".join(f"{kind} {a[kind]:.2f} / {b[kind]:.2f}" for kind in kinds)
    text = (
        f"in one thread with no load ({len(miss)} rounds of {ONE_THREAD_SEARCHES} never-asked searches a side, the "
        f"same on both sides of a round), CPU ms per search, cache miss / no cache: {total_a:.2f} / {total_b:.2f} = "
        f"{total_a / total_b:.2f} ({each}): what a miss costs over a search before any contention for the cores"
    )
    if scripts:
        run, calls = (statistics.fmean([r[kind] for r in scripts]) for kind in ("ms", "calls"))
        text += (
            f"; of a miss's Redis CPU, its scripts ran {run:.2f} ms ({calls:.1f} a search, the writes and lookups "
            f"they make included), the other {max(a['redis'] - run, 0.0):.2f} ms served them (reading and answering "
            "the round trips, the commands sent beside them, the event loop, telling the processes of changes)"
        )
    if work:
        done = [{kind: statistics.fmean([r[kind] for r in rounds]) for kind in WORK} for rounds in work]
        each = ", ".join(f"{done[0][kind]:.1f} / {done[1][kind]:.1f} {label}" for kind, label in WORK.items())
        text += (
            f"; what Redis was asked a search, cache miss / no cache (counts, which the machine's speed does not move;"
            f" the readings' own INFO on both sides): {each}"
        )
    return text


def redis_scripts(before: dict, after: dict, searches: int) -> dict[str, float]:
    """What Redis's scripts took between two readings of its INFO commandstats, per search: {"ms": their run time
    (EVALSHA's and EVAL's, each with the commands it makes), "calls": how many ran}."""

    def counted(stats: dict, field: str) -> float:
        return sum(stats.get(f"cmdstat_{name}", {}).get(field, 0) for name in ("evalsha", "eval"))

    usec, calls = (counted(after, field) - counted(before, field) for field in ("usec", "calls"))
    return {"ms": usec / 1000 / searches, "calls": calls / searches}


# What `redis_work` counts, as `one_thread_text` names it.
WORK = {
    "reads": "requests read from its clients (a round trip, or a command sent alone)",
    "commands": "commands run (a script's own included)",
    "kB in": "kB received",
    "kB out": "kB sent (answers, and the changes told to the processes listening)",
}


def redis_work(before: dict, after: dict, searches: int) -> dict[str, float]:
    """What Redis was asked between two readings of its INFO stats and commandstats, per search (`WORK`): counts of
    the work a miss makes it do, not of how long it took."""
    commands = sum(
        after[name]["calls"] - before.get(name, {}).get("calls", 0) for name in after if name.startswith("cmdstat_")
    )
    done = {
        "reads": after["total_reads_processed"] - before["total_reads_processed"],
        "commands": commands,
        "kB in": (after["total_net_input_bytes"] - before["total_net_input_bytes"]) / 1000,
        "kB out": (after["total_net_output_bytes"] - before["total_net_output_bytes"]) / 1000,
    }
    return {kind: amount / searches for kind, amount in done.items()}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Bench:
    def __init__(self, stack: Stack, config: Config, folder: Path, baseline: Stack | None = None):
        self.stack = stack
        self.baseline = baseline  # figure 9's: commit b26a980's stack (bench/baseline.py), started at that figure
        self.config = config
        self.folder = folder
        self.figures: list[Figure] = []
        self.peak_search_rps = 0.0
        self.bare_rps = 0.0  # /livez, requests/s (figure 1)
        self.used: set[int] = set()
        self.day = data.today() + dt.timedelta(days=14)
        self.local_search = data.search_path(*data.LOCAL_ROUTE, self.day, adults=2)
        self.remote_search = data.search_path(*data.REMOTE_ROUTE, self.day, adults=2)
        # Never searched before figure 5: every one misses the cache the first time. Figure 4 takes two chunks per
        # round (the warm-up's and the measured run's, the same for both sides), and one for its profile.
        misses = data.distinct_searches((2 * config.rounds + 1) * MISS_CHUNK, seed=4)
        self.miss_paths = iter([misses[i : i + MISS_CHUNK] for i in range(0, len(misses), MISS_CHUNK)])
        known = set(misses)
        zipf_pool = [p for p in data.distinct_searches(20_000, seed=5) if p not in known]
        self.zipf_queries = zipf_pool[:5000]
        self.asked = known | set(self.zipf_queries)  # searches a figure asks: never asked by another
        self.pauses = GcPauses()
        self.figure_began = time.time()  # wall-clock: the speed probe's timings taken since belong to this figure
        self.machine_at = cpu.machine_counters()  # and what the machine's memory management did since

    def phases_begin(self) -> None:
        """Before a figure's timed phases: what this process holds so far is left out of its garbage collections (a
        full one over a large heap stops every thread of it — the probes' sender, the stand-ins — for as long)."""
        process.heap_frozen()

    # --- helpers ----------------------------------------------------------------------------------

    def probes_so_far(self) -> list[float]:
        """The speed probe's timings (CPU ms) taken since the figure being measured began."""
        return cpu.probes(self.stack.probe_log, self.figure_began, time.time())

    def pick(self, count: int) -> list:
        """Sailings of our own inventory that no other figure books."""
        sailings = data.local_sailings(count, seed=len(self.used), exclude=self.used)
        self.used |= {s.pk for s in sailings}
        return sailings

    def settle(self, limit: float = 180, *, stack: Stack | None = None) -> None:
        """Wait until the workers of `stack` (the bench's) have emptied every queue and finished every task they took:
        work left by one run must not weigh on the next."""
        from django.test import override_settings

        from maritime.operations import queue_figures

        broker = (stack or self.stack).env()["CELERY_BROKER_URL"]
        deadline = time.monotonic() + limit
        with override_settings(CELERY_BROKER_URL=broker):  # the same reading, of that stack's broker
            while time.monotonic() < deadline:
                if all(figure["length"] == 0 for figure in queue_figures().values()) and not tasks_taken(broker):
                    return
                time.sleep(0.1)
        raise RuntimeError(f"the queues were not emptied within {limit:.0f} s")

    def lines_file(self, lines: list[str]) -> Path:
        return request_lines(lines, self.folder)

    def wrk_run(
        self, side: str, lines: list[str] | Path, *, connections: int | None = None, warm=None, meter=None
    ) -> Run:
        """A warm-up (with `warm` lines if given), then the measured run; its CPU by process if given a `meter`
        (`cpu.Meter`), the warm-up's left out."""
        connections = connections or self.config.connections
        measured = lines if isinstance(lines, Path) else self.lines_file(lines)
        if self.config.warmup:
            warm_file = self.lines_file(warm) if warm is not None else measured
            wrk(self.stack.url(side), warm_file, seconds=self.config.warmup, connections=connections)
        if meter is not None:
            meter.start()
        run = wrk(self.stack.url(side), measured, seconds=self.config.seconds, connections=connections)
        if meter is not None:
            run.cpu = meter.stop()
        return run

    def add(self, figure: Figure, *, load=None, processes: tuple[str, ...] = ("web_a",)) -> Figure:
        """Record the figure; when its target is missed, profile `load()` in `processes` to show why."""
        now = cpu.machine_counters()
        moved = {name: now[name] - self.machine_at[name] for name in now}
        figure.details.append(
            f"the machine meanwhile: {moved['refaults']:,.0f} pages of files read again after they were reclaimed, "
            f"{moved['major faults']:,.0f} major page faults, kdamond (the kernel's proactive reclaim) "
            f"{moved['kdamond s']:.1f} s of CPU, {moved['steal s']:.1f} s of CPU taken by the host's other guests "
            f"(steal), some task waiting for memory {moved['memory stall s']:.2f} s and for IO "
            f"{moved['io stall s']:.2f} s (the kernel's pressure counts), the cores busy {cores_busy(moved)} of "
            f"{os.cpu_count()} on average"
        )
        if rounds := machine_text(figure):
            figure.details.append(rounds)
        timed = self.probes_so_far()
        if timed:
            figure.probe_ms, figure.probe_range = median(timed), (min(timed), max(timed))
            figure.details.append(
                f"speed probe while it was measured: {figure.probe_ms:.1f} ms of CPU for its fixed work, "
                f"{figure.probe_range[0]:.1f}–{figure.probe_range[1]:.1f} over {len(timed)} timings (higher: a "
                "slower machine)"
            )
        self.figures.append(figure)
        status = "met" if figure.met else "NOT met"
        print(f"  figure {figure.number}: ratio {figure.ratio:.3g} (target {figure.target}): {status}", flush=True)
        if (not figure.met or self.config.profile_all) and load is not None and self.config.profiles:
            figure.profile = self.profiled(figure.number, load, processes)
            figure.profiled = ", ".join(processes)
        self.figure_began = time.time()  # the next figure's timings start here
        self.machine_at = cpu.machine_counters()
        return figure

    # --- 1. stack efficiency ----------------------------------------------------------------------

    def stack_efficiency(self) -> Figure:
        search, livez = alternate(
            self.config.rounds,
            lambda _r: self.wrk_run("a", [f"GET {self.local_search}"]),
            lambda _r: self.wrk_run("a", ["GET /livez"]),
        )
        a, b = median([r.rps for r in search]), median([r.rps for r in livez])
        self.peak_search_rps, self.bare_rps = a, b
        return self.add(
            Figure(
                1, "stack efficiency", "cached search", "bare view (/livez)", a, b, "requests/s", a / b, "≥ 0.80",
                a / b >= 0.80,
                details=[f"p50 {ms(median([r.p(50) for r in search]))} vs {ms(median([r.p(50) for r in livez]))}"],
                distributions={"1 cached search": median_percentiles(search), "1 /livez": median_percentiles(livez)},
                runs={"a": [r.rps for r in search], "b": [r.rps for r in livez]},
                machine=machine_rounds(search, livez),
            ),
            load=self.wrk_load("a", [f"GET {self.local_search}"]),
        )  # fmt: skip

    # --- 2 and 3. what the cache is worth -----------------------------------------------------------

    def cache_speedup(self, *, remote: bool) -> Figure:
        path = self.remote_search if remote else self.local_search
        cached, uncached = alternate(
            self.config.rounds,
            lambda _r: self.wrk_run("a", [f"GET {path}"]),
            lambda _r: self.wrk_run("b", [f"GET {path}"]),
        )
        a, b = median([r.rps for r in cached]), median([r.rps for r in uncached])
        p50_a, p50_b = median([r.p(50) for r in cached]), median([r.p(50) for r in uncached])
        number, target = (3, 100.0) if remote else (2, 5.0)
        details = [f"p50 {ms(p50_a)} vs {ms(p50_b)}: {p50_b / p50_a:.1f}× faster"]
        met = a / b >= target
        profiled = "a"  # the cached side, which bounds the speed-up
        if not remote:  # and the search itself, uncached, not far from what the stack serves at all
            bare = self.bare_rps or median([self.wrk_run("a", ["GET /livez"]).rps])
            met = met and b / bare >= UNCACHED_OF_BARE
            details.append(f"uncached {b:.0f} requests/s = {b / bare:.3f}× the bare view's {bare:.0f}")
            if b / bare < UNCACHED_OF_BARE:
                profiled = "b"  # the uncached search, which is then what misses
        where = "remote operator (simulator, 150 ms)" if remote else "local inventory"
        target_text = f"≥ {target:.0f}×" + ("" if remote else f", uncached ≥ {UNCACHED_OF_BARE:.2f}× bare")
        return self.add(
            Figure(
                number, f"cache speed-up, {where}", "cached", "cache bypassed (SEARCH_CACHE=0)", a, b, "requests/s",
                a / b, target_text, met,
                details=details,
                distributions={f"{number} cached": median_percentiles(cached),
                               f"{number} cache bypassed": median_percentiles(uncached)},
                runs={"a": [r.rps for r in cached], "b": [r.rps for r in uncached]},
                machine=machine_rounds(cached, uncached),
            ),
            load=self.wrk_load(profiled, [f"GET {path}"]),
            processes=(f"web_{profiled}",),
        )  # fmt: skip

    # --- 9. CPU of a booking's whole life --------------------------------------------------------------

    def lifecycle_cpu(self, period: float = 1.5) -> Figure:
        """CPU of every process of a stack over complete bookings: this code's stack (A) against commit b26a980's
        (B, bench/baseline.py) started beside it, each less its own processes' CPU while the other's ran."""
        if self.baseline is None:
            raise RuntimeError("figure 9 needs the baseline's stack (bench/baseline.py), made by bench/run.py")
        self.baseline.choose_ports()  # afresh: those chosen at the start may have been taken by figures 1–8
        self.baseline.start_app(("a",), probe=False)
        figure = self._lifecycle_cpu(self.baseline, period)
        self.baseline.stop()  # not weighing on figure 10 (on a failure, bench/run.py stops it)
        return figure

    def _lifecycle_cpu(self, baseline: Stack, period: float) -> Figure:
        from django.db import connections

        from bookings.models import Booking

        kinds = {
            "web": "web_a",
            "worker emails": "worker_emails",
            "worker payments": "worker_payments",
            "worker bookings": "worker_bookings",
            "redis cache": "redis_cache",
            "redis broker": "redis_broker",
        }
        stacks = {"a": self.stack, "b": baseline}
        # The baseline's database read by this process through an alias of its own (only columns both schemas have),
        # its connection named so that it is not counted among the baseline's backends.
        connections.settings["baseline"] = {
            **connections.settings["default"],
            "NAME": baseline.database,
            "OPTIONS": {**connections.settings["default"]["OPTIONS"], "application_name": cpu.OWN_CONNECTION},
        }
        aliases = {"a": "default", "b": "baseline"}
        meters = {side: cpu.Meter(stack, kinds) for side, stack in stacks.items()}
        journeys = {side: PaymentJourney(self, stack) for side, stack in stacks.items()}
        count = max(int(self.config.seconds), 2)  # lifecycles a round, one every `period` seconds
        needed = count * (self.config.rounds + 1)
        # The same sailings on both (the demo network is seeded alike), found in B's database by route and departure.
        picked = {"a": [s.pk for s in self.pick(needed)]}
        picked["b"] = data.same_sailings(picked["a"], using="baseline")
        unmatched = picked["b"].count(None)
        if unmatched:  # the other commit seeded differently: sailings of its own in their place
            spare = iter(data.local_sailing_ids(unmatched, seed=9, exclude=set(picked["b"]), using="baseline"))
            picked["b"] = [pk if pk is not None else next(spare) for pk in picked["b"]]
        sailings = {side: iter(data.sailing_legs(ids, using=aliases[side])) for side, ids in picked.items()}
        walls: dict[str, list[float]] = {"a": [], "b": []}

        def lifecycle(side: str, session: requests.Session, n: int) -> None:
            stack, journey = stacks[side], journeys[side]
            sailing_id, origin, destination, day = next(sailings[side])
            session.get(stack.url("a") + data.search_path(origin, destination, day)).raise_for_status()
            email = f"lifecycle-{n}@example.com"
            reference, intent_id = journey.hold(session, sailing_id, email)
            journey.succeed(session, intent_id)
            confirmed = Booking.objects.using(aliases[side]).filter(
                reference=reference, status=Booking.Status.CONFIRMED
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if confirmed.exists() and email in stack.smtp.first_arrival():
                    return
                for meter in meters.values():
                    meter.sample()
                time.sleep(0.05)
            raise RuntimeError(f"booking {reference} ({side}) not confirmed with its receipt sent within 30 s")

        def lifecycles(side: str, n_first: int) -> None:
            with requests.Session() as session:
                start = time.monotonic()
                for n in range(count):
                    time.sleep(max(start + n * period - time.monotonic(), 0))
                    begun = time.monotonic()
                    lifecycle(side, session, n_first + n)
                    walls[side].append(time.monotonic() - begun)
            self.settle(stack=stacks[side])  # what the lifecycles left queued (e-mails, e-tickets) is theirs too

        if self.config.warmup:  # the first of each code path (imports, connections) out of the measure
            lifecycles("a", 10_000)
            lifecycles("b", 10_000)
        # phases[side][round] = (seconds, {stack: CPU seconds by kind}) while `side`'s lifecycles ran
        phases: dict[str, dict[int, tuple[float, dict[str, dict[str, float]]]]] = {"a": {}, "b": {}}

        def measured(side: str, number: int) -> Run:
            for stack in stacks.values():
                self.settle(stack=stack)
            for meter in meters.values():
                meter.start()
            begun = time.monotonic()
            lifecycles(side, number * count)
            seconds = time.monotonic() - begun
            phases[side][number] = (seconds, {other: meter.stop() for other, meter in meters.items()})
            return Run(requests=count, seconds=seconds, percentiles={})

        lifecycles_a, lifecycles_b = alternate(
            self.config.rounds, lambda r: measured("a", r), lambda r: measured("b", r)
        )
        names = [*kinds, "postgres"]
        net: dict[str, list[dict[str, float]]] = {"a": [], "b": []}  # CPU ms per lifecycle by kind, each round
        idle: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
        for number in range(self.config.rounds):
            for side, other in (("a", "b"), ("b", "a")):
                seconds, busy = phases[side][number]
                idle_seconds, quiet = phases[other][number]
                scale = seconds / idle_seconds  # a stack's idle CPU over the other's phase, to its own phase's length
                idle[side].append({k: quiet[side][k] * scale * 1000 / count for k in names})
                net[side].append({k: busy[side][k] * 1000 / count - idle[side][-1][k] for k in names})
        totals = {side: [sum(round_.values()) for round_ in rounds] for side, rounds in net.items()}
        a, b = median(totals["a"]), median(totals["b"])
        ratio = a / b

        def by_kind(rounds: list[dict[str, float]]) -> str:
            return ", ".join(f"{k} {median([r[k] for r in rounds]):.1f}" for k in names)

        probe = median(self.probes_so_far() or [math.nan])
        gone = meters["a"].backends_gone + meters["b"].backends_gone
        return self.add(
            Figure(
                9, "CPU per booking lifecycle", "now", f"{BASELINE_COMMIT} beside it", a, b, "CPU ms", ratio,
                "≤ 0.5", ratio <= 0.5,
                details=[
                    f"search → hold → payment started → Stripe's signed webhook → booking confirmed and its receipt "
                    f"in the SMTP sink, {count} lifecycles a round on each stack, one every {period:.1f} s, the two "
                    f"stacks in turn, the same sailings on both ({needed - unmatched} of {needed}"
                    f"{'; the others B’s own' if unmatched else ''}); wall time of one: p50 {ms(median(walls['a']))} "
                    f"now, "
                    f"{ms(median(walls['b']))} on {BASELINE_COMMIT}",
                    f"CPU ms per lifecycle by process, less the same processes' CPU while the other stack's "
                    f"lifecycles ran (medians of the rounds): now {by_kind(net['a'])}; {BASELINE_COMMIT} "
                    f"{by_kind(net['b'])}",
                    f"idle CPU over the same time, ms per lifecycle: now {by_kind(idle['a'])}; {BASELINE_COMMIT} "
                    f"{by_kind(idle['b'])}; PostgreSQL backends ended mid-measure (counted up to their last sample, "
                    f"every 50 ms): {gone}",
                    f"CPU per lifecycle in speed probes (the machine's speed taken out, to set runs side by side): "
                    f"{a / probe:.1f} now, {b / probe:.1f} on {BASELINE_COMMIT}; against the {OLD_BASELINE_MS:.0f} "
                    f"ms once taken as the baseline on another machine: {a / OLD_BASELINE_MS:.2f}",
                ],
                runs={"a": totals["a"], "b": totals["b"]},
                machine=machine_rounds(lifecycles_a, lifecycles_b),
            ),
        )  # fmt: skip

    # --- 10. a month of lowest prices -----------------------------------------------------------------------

    def calendar_month(self) -> Figure:
        """The month calendar of the local route, kept in the cache (A) against worked out at every request (B)."""
        month = self.day.strftime("%Y-%m")
        path = data.calendar_path(*data.LOCAL_ROUTE, month, adults=2)
        cached, computed = alternate(
            self.config.rounds,
            lambda _r: self.wrk_run("a", [f"GET {path}"]),
            lambda _r: self.wrk_run("b", [f"GET {path}"]),
        )
        a, b = median([r.rps for r in cached]), median([r.rps for r in computed])
        p50_a, p50_b = median([r.p(50) for r in cached]), median([r.p(50) for r in computed])
        return self.add(
            Figure(
                10, "month fare calendar", "cached", "computed (SEARCH_CACHE=0)", a, b, "requests/s", a / b, "≥ 50×",
                a / b >= 50,
                details=[f"{data.LOCAL_ROUTE[0]} → {data.LOCAL_ROUTE[1]}, {month}, 2 adults: p50 {ms(p50_a)} vs "
                         f"{ms(p50_b)}"],
                distributions={"10 cached": median_percentiles(cached), "10 computed": median_percentiles(computed)},
                runs={"a": [r.rps for r in cached], "b": [r.rps for r in computed]},
                machine=machine_rounds(cached, computed),
            ),
            load=self.wrk_load("a", [f"GET {path}"]),
        )  # fmt: skip

    # --- 4. miss penalty ----------------------------------------------------------------------------

    def miss_penalty(self) -> Figure:
        # Both sides of a round search the same queries, in the same order: what a miss costs depends on the query
        # (a day with nothing to book searches the days around it too), so a round compares like with like. A has
        # never been asked them (every one misses); B keeps nothing.
        chunks = [(next(self.miss_paths), next(self.miss_paths)) for _round in range(self.config.rounds)]
        # Where each side's CPU goes, per request: what moves from run to run shows there.
        meters = {side: cpu.Meter(self.stack, {"web": f"web_{side}", "redis": "redis_cache"}) for side in "ab"}

        def misses(side: str, number: int) -> Run:
            warm, measured = chunks[number]
            lines, warm_lines = [f"GET {p}" for p in measured], [f"GET {p}" for p in warm]
            run = self.wrk_run(side, lines, warm=warm_lines, meter=meters[side])
            if run.requests > len(measured):
                raise RuntimeError("figure 4 ran out of distinct searches: raise their number")
            return run

        missing, bare = alternate(self.config.rounds, lambda r: misses("a", r), lambda r: misses("b", r))
        a, b = median([r.p(50) for r in missing]), median([r.p(50) for r in bare])
        in_one_thread = self.miss_in_one_thread()
        return self.add(
            Figure(
                4, "miss penalty", "cache miss", "no cache (SEARCH_CACHE=0)", a * 1000, b * 1000, "p50 ms", a / b,
                "≤ 1.10", a / b <= 1.10,
                details=[
                    f"requests/s {median([r.rps for r in missing]):.0f} vs {median([r.rps for r in bare]):.0f}",
                    f"CPU ms per request by process (median of the rounds): cache miss {cpu_text(missing)}; "
                    f"no cache {cpu_text(bare)}",
                    in_one_thread,
                ],
                distributions={"4 cache miss": median_percentiles(missing), "4 no cache": median_percentiles(bare)},
                runs={"a": [r.p(50) * 1000 for r in missing], "b": [r.p(50) * 1000 for r in bare]},
                machine=machine_rounds(missing, bare),
            ),
            load=self.wrk_load("a", [f"GET {p}" for p in next(self.miss_paths)]),
        )  # fmt: skip

    def miss_in_one_thread(self) -> str:
        """Figure 4 again without load, in this process's one thread (Django's test client, the stack's settings):
        never-asked searches made with the cache on, each a miss, and the same with it off, in turn, round after
        round. CPU per search of this thread, of the cache's Redis (its INFO, to the microsecond) and of this
        connection's PostgreSQL backend; of the miss side's Redis CPU, what its scripts ran (INFO commandstats); and
        what each side asked of Redis (INFO stats and commandstats: requests, commands, bytes). The wrk rounds' ratio
        moves with how the two shared cores are taken; this one reads what a miss itself adds, so that a change to the
        miss path can be judged apart from the machine — and its counts apart from the machine's noise too."""
        from django.db import connection
        from django.test import Client, override_settings

        from ferries.queries import forget_read_queries

        count = ONE_THREAD_SEARCHES * ONE_THREAD_ROUNDS
        paths = [p for p in data.distinct_searches(3 * count, seed=7) if p not in self.asked][:count]
        if len(paths) < count:
            raise RuntimeError("figure 4 in one thread ran out of never-asked searches: draw more")
        self.asked |= set(paths)
        cache = redis.Redis.from_url(self.stack.env()["REDIS_URL"])
        client = Client(SERVER_NAME="127.0.0.1")

        def redis_cpu() -> float:
            used = cache.info("cpu")
            return used["used_cpu_sys"] + used["used_cpu_user"]

        def searched(block: list[str], cached: bool) -> dict[str, float]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            # Each side reads the query strings afresh, as its own process (gunicorn A or B) does: else the side going
            # second in a round would find the first's remembered, and its searches would skip reading them.
            forget_read_queries()
            asked = cache.info("stats", "commandstats")  # before the clocks: its own CPU is not the search's
            began = (time.thread_time(), redis_cpu(), cpu.tree(backend))
            with override_settings(SEARCH_CACHE=cached):
                for path in block:
                    response = client.get(path)
                    if response.status_code != 200:
                        raise RuntimeError(f"figure 4 in one thread: {path} answered {response.status_code}")
            ended = (time.thread_time(), redis_cpu(), cpu.tree(backend))
            asked_since = cache.info("stats", "commandstats")
            work[cached].append(redis_work(asked, asked_since, len(block)))
            if cached:  # only the miss side's scripts are told
                scripts.append(redis_scripts(asked, asked_since, len(block)))
            spent = [(end - start) * 1000 / len(block) for start, end in zip(began, ended, strict=True)]
            return dict(zip(("web", "redis", "postgres"), spent, strict=True))

        rounds = [paths[i : i + ONE_THREAD_SEARCHES] for i in range(0, len(paths), ONE_THREAD_SEARCHES)]
        runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        scripts: list[dict[str, float]] = []  # the cache miss side's rounds, as Redis counted its scripts
        work: dict[bool, list[dict[str, float]]] = {True: [], False: []}  # each side's rounds, as Redis counted them
        try:
            for number, block in enumerate(rounds):
                for cached in (True, False) if number % 2 == 0 else (False, True):
                    runs[cached].append(searched(block, cached))
        finally:
            cache.close()
        return one_thread_text(runs[True], runs[False], scripts, (work[True], work[False]))

    # --- 5. hit rate, and no sale from stale availability --------------------------------------------

    def hit_rate(self) -> Figure:
        from ferries.cache import cache_service

        sequence = data.zipf_sequence(self.zipf_queries, s=1.1, length=int(self.config.zipf_seconds * 1500), seed=6)
        requests_file = self.lines_file([f"GET {p}" for p in sequence])
        stale = StaleAvailabilityProbe(self)
        cache_service.reset_stats()
        stale.start()
        run = wrk(
            self.stack.url("a"), requests_file, seconds=self.config.zipf_seconds, connections=self.config.connections
        )
        stale.stop()
        figures = cache_service.stats(entries=False)
        search = figures["search"]
        # The travellers' own searches (a few queries asked over and over) are left out, counted as if all were hits.
        hits, lookups = search["hits"] - stale.searches, search["lookups"] - stale.searches
        rate = hits / lookups if lookups > 0 else 0.0
        oversold = data.oversold()
        return self.add(
            Figure(
                5, "hit rate", "hits", "lookups", hits, lookups, "searches", rate,
                "≥ 0.85, no stale sale", rate >= 0.85 and not oversold and stale.stale_sales == 0,
                details=[
                    f"{run.requests} searches in {run.seconds:.0f} s ({run.rps:.0f}/s), "
                    f"{len(set(sequence[: run.requests]))} of the 5000 queries asked; counted by the cache: "
                    f"{search['lookups']} lookups, {search['hits']} hits, of which {stale.searches} by the travellers "
                    "below (left out of the figure); "
                    f"availability hit rate {figures['availability']['hit_rate']}",
                    f"holds on sailings selling out meanwhile: {stale.summary()}; "
                    f"resources taken beyond capacity: {len(oversold)}",
                ],
            ),
            load=self.wrk_load("a", [f"GET {p}" for p in sequence]),
        )  # fmt: skip

    # --- 6. bookings on one sailing ------------------------------------------------------------------

    def hot_sailing(self) -> Figure:
        spread = self.pick(100)
        hot = self.pick(self.config.rounds)
        # Big enough never to sell out during a run: selling out is checked on its own below.
        data.set_passenger_capacity([s.pk for s in hot], 50_000)
        data.set_passenger_capacity([s.pk for s in spread], 50_000)
        spread_lines = [data.booking_line(s.pk) for s in spread]

        def holds(run: Run) -> float:
            return (run.requests - run.statuses["non-2xx"]) / run.seconds

        # Where each side's CPU goes, per hold: the most holds the cores could make at that cost shows.
        meters = {side: cpu.Meter(self.stack, HOLD_PROCESSES) for side in ("hot", "spread")}
        hot_runs, spread_runs = alternate(
            self.config.rounds,
            lambda r: self.wrk_run(
                "a", [data.booking_line(hot[r].pk)], connections=16, warm=spread_lines, meter=meters["hot"]
            ),
            lambda _r: self.wrk_run("a", spread_lines, connections=16, warm=spread_lines, meter=meters["spread"]),
        )
        a, b = median([holds(r) for r in hot_runs]), median([holds(r) for r in spread_runs])
        hold_cpu = median([sum(r.cpu_per_request().values()) for r in hot_runs])  # ms, the stack's processes
        refused = sum(r.statuses["non-2xx"] + r.errors for r in hot_runs + spread_runs)
        sellout = self.sell_out()
        consistent = all(self.consistent(s.pk) for s in hot + spread)
        ratio = a / b if b else float("nan")  # nothing held in a run too short (a dry run) to finish a request
        met = ratio >= 0.5 and a >= 100 and sellout["oversold"] == 0 and consistent
        return self.add(
            Figure(
                6, "hot-sailing bookings", "16 clients, one sailing", "16 clients, 100 sailings", a, b, "holds/s",
                ratio, "≥ 0.5, ≥ 100 holds/s, no oversell", met,
                details=[
                    f"hot sailing: {a:.0f} holds/s, p50 {ms(median([r.p(50) for r in hot_runs]))}; "
                    f"requests not answered 201: {refused}",
                    f"selling out: {sellout['clients']} clients asked {sellout['asked']} holds of a sailing with "
                    f"{sellout['capacity']} places: {sellout['held']} held, {sellout['refused']} refused, "
                    f"{sellout['taken']} taken in the database; oversold: {sellout['oversold']}",
                    "places taken = places of the held bookings, on every sailing booked: "
                    + ("yes" if consistent else "NO"),
                    f"CPU ms per hold by process (median of the rounds): one sailing {cpu_text(hot_runs)}; 100 "
                    f"sailings {cpu_text(spread_runs)}; at {hold_cpu:.2f} ms a hold, the {os.cpu_count()} cores could "
                    f"make at most {os.cpu_count() * 1000 / hold_cpu:.0f} holds a second on one sailing, if nothing "
                    "else ran on them (the load generator, the host's other guests and the machine's own work do)",
                ],
                distributions={"6 hot sailing": median_percentiles(hot_runs),
                               "6 100 sailings": median_percentiles(spread_runs)},
                runs={"a": [holds(r) for r in hot_runs], "b": [holds(r) for r in spread_runs]},
                machine=machine_rounds(hot_runs, spread_runs),
            ),
            load=self.wrk_load("a", [data.booking_line(hot[0].pk)], connections=16),
        )  # fmt: skip

    def consistent(self, sailing_id: int) -> bool:
        from bookings.models import Booking, BookingLeg

        taken, _capacity = data.passengers_taken(sailing_id)
        legs = BookingLeg.objects.filter(sailing_id=sailing_id, booking__status=Booking.Status.HELD)
        return taken == sum(leg.booking.passengers.count() for leg in legs.select_related("booking"))

    def sell_out(self, *, capacity: int = 40, clients: int = 16, each: int = 6) -> dict:
        sailing = self.pick(1)[0]
        data.set_passenger_capacity([sailing.pk], capacity)
        body = json.dumps(data.booking_body(sailing.pk))
        answers: Counter = Counter()
        lock = threading.Lock()

        def client() -> None:
            with requests.Session() as session:
                for _ in range(each):
                    status = session.post(
                        self.stack.url("a") + data.BOOKINGS, data=body, headers={"Content-Type": "application/json"}
                    ).status_code
                    with lock:
                        answers[status] += 1

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        taken, capacity = data.passengers_taken(sailing.pk)
        return {
            "clients": clients,
            "asked": clients * each,
            "capacity": capacity,
            "held": answers[201],
            "refused": sum(n for status, n in answers.items() if status != 201),
            "taken": taken,
            "oversold": max(taken - capacity, 0) + max(answers[201] - capacity, 0),
        }

    # --- 7. webhook acknowledgement ------------------------------------------------------------------

    def webhook_ack(self, rate: float = 200.0, payments: int = 40) -> Figure:
        from payments.models import WebhookEvent

        url = self.stack.url("a")
        # What Stripe sends about payments under way: each event names the PaymentIntent of one of these bookings,
        # held and their payment started, which the worker fetches from Stripe's stand-in and applies in a
        # transaction, once.
        opened = PaymentJourney(self)
        opened.prepare(payments)
        intents = [self.stack.stripe.intents[intent_id] for intent_id, _email in opened.ready]
        began = dt.datetime.now(dt.UTC)

        def webhooks(seconds: float) -> ApartLoad:
            bodies = [signed_webhook(url, intents[n % len(intents)]) for n in range(int(rate * seconds) + 1)]
            return ApartLoad(url, bodies, rate=rate, seconds=seconds)

        def livez(seconds: float) -> ApartLoad:
            return ApartLoad(url, [http_request("GET", url + "/livez")], rate=rate, seconds=seconds)

        # Whether the two cores can do the work asked of them at this rate: how many of them were kept busy during each
        # round, and by which process; and how many events a second the payments worker processed meanwhile, with how
        # many were waiting at the round's end (its warm-up's included: the queues are emptied before it).
        cores: dict[str, list[float]] = {"webhooks": [], "/livez": []}
        worker: list[tuple[float, int]] = []

        def measured(kind, label: str):
            def measure(_r: int) -> Run:
                self.settle()
                if self.config.warmup:
                    kind(min(self.config.warmup, 2)).start().result()
                load = kind(self.config.seconds).start()
                meter = cpu.Meter(self.stack, WEBHOOK_PROCESSES)
                meter.start()
                busy, started, since = cpu.busy_seconds(), time.monotonic(), dt.datetime.now(dt.UTC)
                run = load.result()
                seconds = time.monotonic() - started
                cores[label].append((cpu.busy_seconds() - busy) / seconds)
                run.cpu = {**meter.stop(), **(run.cpu or {})}
                if label == "webhooks":
                    processed = WebhookEvent.objects.filter(processed_at__gte=since).count()
                    waiting = WebhookEvent.objects.filter(received_at__gte=began, processed_at=None).count()
                    worker.append((processed / seconds, waiting))
                return run

            return measure

        hooks, bare = alternate(self.config.rounds, measured(webhooks, "webhooks"), measured(livez, "/livez"))
        a, b = median([r.p(99) for r in hooks]), median([r.p(50) for r in bare])
        bad = sum(n for run in hooks for status, n in run.statuses.items() if status != 200)
        self.settle()
        events = WebhookEvent.objects.filter(received_at__gte=began)
        outcomes = Counter(events.values_list("outcome", flat=True))
        attempts = Counter(events.values_list("attempts", flat=True))
        return self.add(
            Figure(
                7, "webhook acknowledgement", "webhook p99", "/livez p50", a * 1000, b * 1000, "ms", a / b, "≤ 10",
                a / b <= 10,
                details=[f"at {rate:.0f} requests/s: webhook p50 {ms(median([r.p(50) for r in hooks]))}, "
                         f"/livez p99 {ms(median([r.p(99) for r in bare]))}; webhooks not answered 200: {bad}",
                         f"the events: payment_intent.created of {len(intents)} bookings held and their payment "
                         f"started, each processed by the payments worker (the intent fetched from Stripe's "
                         f"stand-in, applied in a transaction); {sum(outcomes.values()):,} stored, outcomes "
                         + ", ".join(f"{outcome or 'none yet'} {n:,}" for outcome, n in outcomes.most_common())
                         + "; attempts per event "
                         + ", ".join(f"{tries}: {n:,}" for tries, n in sorted(attempts.items())),
                         cores_text(cores, hooks, worker, rate)],
                distributions={"7 webhook": median_percentiles(hooks), "7 /livez": median_percentiles(bare)},
                runs={"a": [r.p(99) * 1000 for r in hooks], "b": [r.p(50) * 1000 for r in bare]},
                machine=machine_rounds(hooks, bare),
            ),
            load=lambda seconds: webhooks(seconds).start().result(),
            processes=("web_a", "worker_payments"),
        )  # fmt: skip

    # --- 8. background latency ------------------------------------------------------------------------

    def background_latency(self) -> Figure:
        payments = PaymentJourney(self)
        per_round = 6
        payments.prepare(2 * self.config.rounds * per_round)
        half = max(self.peak_search_rps / 2, 20)
        web_load = [f"/api/v1/sailings/search?{p.split('?', 1)[1]}" for p in self.zipf_queries[:200]]
        raws = [http_request("GET", self.stack.url("a") + p) for p in web_load]
        journeys: dict[str, list[float]] = {"loaded": [], "idle": []}
        by_queue: dict[str, dict[str, list[float]]] = {"loaded": {}, "idle": {}}
        idle_rounds: dict[str, list[float]] = {}  # queue → the idle p99 of each round: an outlier shows
        searched = {"lookups": 0, "misses": 0}  # legs looked up and computed during the loaded phases
        self.phases_begin()
        pauses = len(self.pauses.pauses)
        idle_began: list[dt.datetime] = []
        idle_seen: list[str] = []  # each idle round's slowest probe and the machine's stalls meanwhile
        sending: dict[str, list[float]] = {"loaded": [], "idle": []}  # how long the bench took to send each probe
        net: dict[str, list[float]] = {"loaded": [], "idle": []}  # each round's p99 counted from the sending's end
        redis_servers = ("redis_broker", "redis_cache")
        for name in redis_servers:
            self.stack.redis_stalls_forget(name)

        def phase(loaded: bool) -> Run:
            from ferries.cache import cache_service

            label = "loaded" if loaded else "idle"
            self.settle()
            if not loaded:
                idle_began.append(dt.datetime.now(dt.UTC))
            machine_before = cpu.machine_counters()
            before = cache_service.stats(entries=False)["search"]
            probes = Probes(rate=30)
            payer = threading.Thread(target=payments.pay_some, args=(per_round, self.config.seconds), daemon=True)
            # The load from a process of its own, started first: the probes are sent under it from its first one.
            load = None
            if loaded:
                load = ApartLoad(self.stack.url("a"), raws, rate=half, seconds=self.config.seconds).start()
            probes.start()
            payer.start()
            if load:
                load.result()
            else:
                time.sleep(self.config.seconds)
            probes.stop()
            machine_after = cpu.machine_counters()
            payer.join()
            if loaded:
                after = cache_service.stats(entries=False)["search"]
                for name in searched:
                    searched[name] += after[name] - before[name]
            journeys[label] += payments.collect()
            waits = probes.collect()
            sending[label] += [probes.sending[task_id] for task_id in probes.waits]
            if probes.waits:
                net[label].append(_percentiles([w - probes.sending[t] for t, w in probes.waits.items()])[99.0])
            if not loaded:
                idle_seen.append(stalls_text(probes.slowest(), machine_before, machine_after))
            for queue, values in probes.by_queue.items():
                by_queue[label].setdefault(queue, []).extend(values)
                if not loaded:
                    idle_rounds.setdefault(queue, []).append(_percentiles(values)[99.0])
            return Run(requests=len(waits), seconds=self.config.seconds, percentiles=_percentiles(waits))

        def half_load(seconds: float) -> Run:
            return open_loop_apart(self.stack.url("a"), raws, rate=half, seconds=seconds)

        loaded, idle = alternate(self.config.rounds, lambda _r: phase(True), lambda _r: phase(False))
        broker_stalls, cache_stalls = (self.stack.redis_stalls(name) for name in redis_servers)
        a, b = median([r.p(99) for r in loaded]), median([r.p(99) for r in idle])
        loaded_mail = _percentiles(journeys["loaded"]) if journeys["loaded"] else {}
        p95 = loaded_mail.get(95.0, float("inf"))
        idle_mail = _percentiles(journeys["idle"]) if journeys["idle"] else {}
        ratio = a / b if b else float("inf")
        idle_p99 = {queue: _percentiles(values)[99.0] for queue, values in by_queue["idle"].items()}
        slow = [queue for queue, p99 in idle_p99.items() if not p99 < IDLE_QUEUE_P99]
        return self.add(
            Figure(
                8, "background latency", "p99, web at half load", "p99, web idle", a * 1000, b * 1000, "ms", ratio,
                f"≤ 3; payment → e-mail p95 < 2 s; idle p99 < {IDLE_QUEUE_P99 * 1000:.0f} ms on every queue",
                ratio <= 3 and p95 < 2.0 and not slow,
                details=[
                    f"idle p99 by queue (target < {IDLE_QUEUE_P99 * 1000:.0f} ms): "
                    + ", ".join(
                        f"{queue} {ms(p99)} ({'met' if queue not in slow else 'NOT met'}; rounds "
                        + " / ".join(f"{v * 1000:.0f}" for v in idle_rounds[queue]) + " ms)"
                        for queue, p99 in idle_p99.items()
                    ),
                    f"enqueue → task start, probes on the emails, payments and bookings queues; half load = "
                    f"{half:.0f} searches/s (half of figure 1's cached-search peak); p99 by queue, half load / idle: "
                    + ", ".join(
                        f"{queue} {ms(_percentiles(values)[99.0])} / {ms(_percentiles(by_queue['idle'][queue])[99.0])}"
                        for queue, values in by_queue["loaded"].items()
                    ),
                    f"the half load's searches: {searched['misses'] / (self.config.rounds * self.config.seconds):.0f}"
                    f" legs computed a second ({searched['misses']:,} of {searched['lookups']:,} looked up: misses, "
                    "each costing PostgreSQL and the web tier a search's work)",
                    f"the bench's own process (which stamps and sends the probes) during the rounds: "
                    f"{self.pauses.since(pauses)}",
                    "how long the bench took to send a probe (its wait counts from before): p50 / p99 "
                    + ", ".join(
                        f"{label} {ms(_percentiles(values)[50.0])} / {ms(_percentiles(values)[99.0])}"
                        for label, values in (("half load", sending["loaded"]), ("idle", sending["idle"]))
                        if values
                    ),
                    "the same counted from the end of the sending (a bound the other way: a worker may start a probe"
                    " before the bench is back from sending it): p99 half load / idle "
                    f"{ms(median(net['loaded']))} / {ms(median(net['idle']))}"
                    + (f" = {median(net['loaded']) / median(net['idle']):.2f}" if median(net["idle"]) > 0 else ""),
                    "each idle round's slowest probe (its queue, its wait and how long the bench took to send it), "
                    "and what the kernel counted meanwhile as some task waiting for memory, IO or a core: "
                    + "; ".join(idle_seen),
                    "the idle rounds began at " + ", ".join(f"{when:%H:%M:%S}" for when in idle_began) + " UTC; "
                    f"Redis's own stalls over the rounds (its latency monitor): the broker {broker_stalls}; the cache "
                    f"{cache_stalls}",
                    f"payment (signed webhook posted) → receipt in the SMTP sink: p95 {p95:.2f} s at half load "
                    f"({len(journeys['loaded'])} payments), {idle_mail.get(95.0, float('nan')):.2f} s idle "
                    f"({len(journeys['idle'])}); {payments.missing} receipts missing",
                ],
                distributions={"8 task wait, half load": median_percentiles(loaded),
                               "8 task wait, idle": median_percentiles(idle)},
                runs={"a": [r.p(99) * 1000 for r in loaded], "b": [r.p(99) * 1000 for r in idle]},
                machine=machine_rounds(loaded, idle),
            ),
            load=half_load,
            processes=("web_a", "worker_emails", "worker_payments", "worker_bookings"),
        )  # fmt: skip

    # --- profiles -----------------------------------------------------------------------------------

    def wrk_load(self, side: str, lines: list[str], *, connections: int | None = None):
        path = self.lines_file(lines)
        return lambda seconds: wrk(self.stack.url(side), path, seconds=seconds, connections=connections or 8)

    def profiled(self, number: int, load, processes: tuple[str, ...]) -> str:
        """Run `load(seconds)` while py-spy samples `processes` (and their children); the summary of the samples."""
        seconds = max(self.config.seconds, 5)
        spies = []
        for name in processes:
            out = self.folder / f"profile-{number}-{name}.raw"
            spies.append((name, out, profile.record(self.stack.processes[name].pid, out, seconds=seconds + 1)))
        time.sleep(0.5)  # attached before the load starts
        load(seconds)
        parts = []
        for name, out, spy in spies:
            spy.wait(timeout=60)
            parts.append(f"--- {name} ---\n{profile.summarise(out)}")
        return "\n\n".join(parts)


_brokers: dict[str, redis.Redis] = {}


def tasks_taken(broker: str) -> int:
    """Tasks a worker has taken from `broker` and not finished, but those waiting out a retry's countdown: kombu's
    Redis transport keeps each message taken in its `unacked` hash until the task ends (tasks are acknowledged late)."""
    from django.conf import settings

    client = _brokers.get(broker) or _brokers.setdefault(broker, redis.Redis.from_url(broker))
    held = client.hvals(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "") + "unacked")
    now = dt.datetime.now(dt.UTC)
    running = 0
    for raw in held:
        eta = (json.loads(raw)[0].get("headers") or {}).get("eta")
        when = dt.datetime.fromisoformat(eta) if eta else None
        if when is None or (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) <= now:
            running += 1
    return running


def _percentiles(values: list[float]) -> dict[float, float]:
    from bench.load import percentiles

    return percentiles(values)


def signed_webhook(base_url: str, intent: dict) -> bytes:
    """Stripe's payment_intent.created about `intent` (as Stripe's stand-in holds it), with the fields Stripe's own
    PaymentIntent carries beside them (about 2 KB, as real), signed as Stripe signs."""
    obj = {
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "application": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": None,
        "capture_method": "automatic_async",
        "confirmation_method": "automatic",
        "created": int(time.time()),
        "customer": None,
        "description": None,
        "latest_charge": None,
        "livemode": False,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": {"id": "pmc_" + secrets.token_hex(12), "parent": None},
        "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card", "link"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_data": None,
        "transfer_group": None,
        **intent,
    }  # fmt: skip
    payload = json.dumps(
        {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2025-06-30",
            "type": "payment_intent.created",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": "req_" + secrets.token_hex(7), "idempotency_key": secrets.token_hex(16)},
            "data": {"object": obj},
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    headers = {"Content-Type": "application/json", "Stripe-Signature": header}
    return http_request("POST", base_url + "/webhooks/stripe", body=payload.encode(), headers=headers)


class StaleAvailabilityProbe:
    """Travellers who book what a (cached) search shows as available, on sailings selling out meanwhile.

    Places are decided in PostgreSQL, never from the cache: a hold on a sailing the search still showed as
    available after it sold out must be refused. A sale beyond capacity would be a stale sale.
    """

    def __init__(self, bench: "Bench", *, sailings: int = 6, places: int = 12, travellers: int = 4):
        self.stack = bench.stack
        self.targets = bench.pick(sailings)
        for sailing in self.targets:
            taken, _capacity = data.passengers_taken(sailing.pk)
            data.set_passenger_capacity([sailing.pk], taken + places)
        self.travellers = travellers
        self.answers: Counter = Counter()
        self.searches = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.stale_sales = 0

    def _search(self, session: requests.Session, sailing) -> dict | None:
        route = sailing.route
        origin, destination = route.origin.code, route.destination.code
        day = sailing.departs_at.astimezone(route.origin.tz).date()
        answer = session.get(self.stack.url("a") + data.search_path(origin, destination, day, adults=2)).json()
        return next((row for row in answer["outbound"] if row["sailing_id"] == sailing.pk), None)

    def _traveller(self, number: int) -> None:
        with requests.Session() as session:
            i = number
            while not self.stopping.is_set():
                sailing = self.targets[i % len(self.targets)]
                i += 1
                row = self._search(session, sailing)
                with self.lock:
                    self.searches += 1
                shown = row["availability"]["status"] if row else "absent"
                if shown not in {"available", "limited"}:
                    with self.lock:
                        self.answers["shown sold out"] += 1
                    time.sleep(0.05)
                    continue
                body = json.dumps(data.booking_body(sailing.pk, adults=2))
                status = session.post(
                    self.stack.url("a") + data.BOOKINGS, data=body, headers={"Content-Type": "application/json"}
                ).status_code
                with self.lock:
                    self.answers["held" if status == 201 else "refused though shown available"] += 1

    def start(self) -> None:
        for sailing in self.targets:
            sailing.route  # noqa: B018 — loaded here, not in the threads
        self.targets = [
            type(s).objects.select_related("route__origin", "route__destination").get(pk=s.pk) for s in self.targets
        ]
        self.threads = [
            threading.Thread(target=self._traveller, args=(n,), daemon=True) for n in range(self.travellers)
        ]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)
        for sailing in self.targets:
            taken, capacity = data.passengers_taken(sailing.pk)
            self.stale_sales += max(taken - capacity, 0)

    def summary(self) -> str:
        held = self.answers["held"]
        refused = self.answers["refused though shown available"]
        return (
            f"{held} held, {refused} refused though the search still showed places, "
            f"{self.answers['shown sold out']} searches showed them sold out; stale sales: {self.stale_sales}"
        )


class GcPauses:
    """This process's garbage collections and how long each stopped it (gc.callbacks), from `start` on."""

    def __init__(self):
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._began: float | None = None
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        elif self._began is not None:
            self.pauses.append((info["generation"], time.perf_counter() - self._began))
            self._began = None

    def since(self, mark: int) -> str:
        taken = self.pauses[mark:]
        full = [seconds for generation, seconds in taken if generation == 2]
        longest = max((seconds for _generation, seconds in taken), default=0.0)
        return f"{len(taken)} collections ({len(full)} full), the longest {longest * 1000:.1f} ms"


class Probes:
    """`maritime.tasks.ping_task` sent to each queue in turn; its answer says when it started."""

    QUEUES = ("emails", "payments", "bookings")

    def __init__(self, *, rate: float):
        self.rate = rate
        self.sent: dict[str, float] = {}
        self.queue_of: dict[str, str] = {}
        self.by_queue: dict[str, list[float]] = {queue: [] for queue in self.QUEUES}
        self.sending: dict[str, float] = {}  # how long each probe's sending took (the publish to the broker)
        self.waits: dict[str, float] = {}  # each probe's wait, once collected
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        from maritime.tasks import ping_task

        n = 0
        start = time.monotonic()
        while not self.stopping.is_set():
            queue = self.QUEUES[n % len(self.QUEUES)]
            at = time.time()
            task_id = ping_task.apply_async(queue=queue).id
            self.sent[task_id], self.queue_of[task_id] = at, queue
            self.sending[task_id] = time.time() - at
            n += 1
            time.sleep(max(start + n / self.rate - time.monotonic(), 0))

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def slowest(self) -> str:
        """The probe that waited longest (collected), as its queue, its wait and how long its sending took of it."""
        if not self.waits:
            return "none answered"
        task_id = max(self.waits, key=self.waits.get)
        return f"{self.queue_of[task_id]} {ms(self.waits[task_id])} (sent in {ms(self.sending[task_id])})"

    def collect(self, timeout: float = 20) -> list[float]:
        from django_celery_results.models import TaskResult

        deadline = time.monotonic() + timeout
        started: dict[str, float] = {}
        while time.monotonic() < deadline and len(started) < len(self.sent):
            for task_id, result in TaskResult.objects.filter(task_id__in=list(self.sent)).values_list(
                "task_id", "result"
            ):
                started[task_id] = dt.datetime.fromisoformat(json.loads(result)["at"]).timestamp()
            time.sleep(0.2)
        waits = {task_id: started[task_id] - sent for task_id, sent in self.sent.items() if task_id in started}
        self.waits = waits
        for task_id, wait in waits.items():
            self.by_queue[self.queue_of[task_id]].append(wait)
        return list(waits.values())


class PaymentJourney:
    """Bookings paid through Stripe (the local stand-in): the signed webhook posted → the receipt in the SMTP sink."""

    def __init__(self, bench: "Bench", stack: Stack | None = None):
        self.bench = bench
        self.stack = stack or bench.stack
        self.ready: list[tuple[str, str]] = []  # (intent id, contact e-mail)
        self.posted: dict[str, float] = {}
        self.missing = 0

    def prepare(self, count: int) -> None:
        sailings = self.bench.pick(count)
        with requests.Session() as session:
            for n, sailing in enumerate(sailings):
                email = f"traveller-{n}@example.com"
                _reference, intent_id = self.hold(session, sailing.pk, email)
                self.ready.append((intent_id, email))

    def hold(self, session: requests.Session, sailing_id: int, email: str) -> tuple[str, str]:
        """A booking held through the API and its payment started: (its reference, the PaymentIntent's id)."""
        booked = session.post(self.stack.url("a") + data.BOOKINGS, json=data.booking_body(sailing_id, email=email))
        booked.raise_for_status()
        booking = booked.json()
        paying = session.post(
            self.stack.url("a") + f"{data.BOOKINGS}/{booking['reference']}/payment",
            headers={"X-Booking-Token": booking["access_token"]},
        )
        paying.raise_for_status()
        return booking["reference"], paying.json()["payment_intent_id"]

    def succeed(self, session: requests.Session, intent_id: str) -> None:
        """The payment succeeds at Stripe's stand-in, and Stripe's signed webhook says so."""
        intent = self.stack.stripe.set_status(intent_id, "succeeded")
        payload = json.dumps(
            {
                "id": "evt_" + intent_id[3:],
                "object": "event",
                "type": "payment_intent.succeeded",
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": intent},
            }
        )
        header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
        session.post(
            self.stack.url("a") + "/webhooks/stripe",
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
        ).raise_for_status()

    def pay_some(self, count: int, seconds: float) -> None:
        with requests.Session() as session:
            for _ in range(count):
                if not self.ready:
                    return
                intent_id, email = self.ready.pop()
                self.posted[email] = time.time()
                self.succeed(session, intent_id)
                time.sleep(seconds / count)

    def collect(self, timeout: float = 15) -> list[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            arrived = self.stack.smtp.first_arrival()
            if all(email in arrived for email in self.posted):
                break
            time.sleep(0.1)
        arrived = self.stack.smtp.first_arrival()
        journeys = [arrived[email] - at for email, at in self.posted.items() if email in arrived]
        self.missing += len(self.posted) - len(journeys)
        self.posted = {}
        return journeys
