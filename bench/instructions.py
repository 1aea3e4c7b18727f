"""Figure 4 counted in instructions: what a cache miss costs over a search with the cache off, in the instructions
the web process and the cache's Redis run, read by valgrind's callgrind.

    python bench/instructions.py [--against REV] [--searches 60] [--rounds 2] [--seed 23]
    make bench-instructions ARGS="--against HEAD~1"

The same never-asked searches are made in one thread of one process (Django's test client, the production settings),
with the cache on (each a miss) and off, round after round, the side going first alternating; each side reads the
query strings afresh, as a process of its own would. That process and
a Redis of its own run under callgrind, which writes what each ran at the end of every side of every round.

Instructions, not seconds: the same code, data and searches give the same count whatever else the machine does — two
readings of the same code agree within a few tenths of a percent, where the timed readings of figure 4 spread ±12 %
on a noisy machine — so a change to the miss path of a percent can be judged. What it leaves out: the kernel's work
(the round trips' system calls), PostgreSQL's, and that instructions differ in what they take (a read from memory
against one from a cache line): a change that saves instructions saves time only as far as those stay alike.

`--against REV` measures that commit's code too (`git archive`, this checkout's virtualenv: the requirements must
be the same), beside this checkout's and at the same time (the counts do not mind sharing the cores), each with a
database and a Redis of its own, and tells what the change between them saves a miss. It takes five to ten minutes;
the report is printed and written to bench/results/instructions.md.
"""

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench import history  # noqa: E402
from bench.stack import BASE_DIR, PYTHON, Process, Stack, free_port, new_workdir, remove_workdir, wait_until  # noqa: E402

SIDES = ("miss", "nocache")
WARM_SEARCHES = 25  # a side, before the first dump: every code path once (imports, connections, statements)

# Run under callgrind in the measured code's folder: the searches (a JSON file), each side of each round, then a dump
# of this process's counts and Redis's, labelled "<side> <round>".
MEASURE = """
import json, os, subprocess, sys
import django
django.setup()
from django.test import Client, override_settings

from ferries import queries

paths, searches, rounds = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
pids = [str(os.getpid()), sys.argv[4]]
client = Client(SERVER_NAME="127.0.0.1")

def dump(label):
    for pid in pids:
        subprocess.run(["callgrind_control", "--dump=" + label, pid], check=True, capture_output=True)

def made(block, cached):
    # Each side reads the query strings afresh, as a process of its own would (a commit before the function: the same).
    getattr(queries, "forget_read_queries", getattr(queries, "_read_lately", {}).clear)()
    with override_settings(SEARCH_CACHE=cached):
        for path in block:
            status = client.get(path).status_code
            if status != 200:
                sys.exit(f"{path} answered {status}")

made(paths[:WARM], True)
made(paths[WARM:2 * WARM], False)
dump("warm")
for number in range(rounds):
    block = paths[2 * WARM + number * searches:2 * WARM + (number + 1) * searches]
    for cached in (True, False) if number % 2 == 0 else (False, True):
        made(block, cached)
        dump(("miss " if cached else "nocache ") + str(number))
""".replace("WARM", str(WARM_SEARCHES))


@dataclass
class Code:
    """A tree of the project's code to measure, and what to call it."""

    name: str
    folder: Path


@dataclass
class Counts:
    """Instructions each side of each round ran, by process ("web", "redis"): {process: {"miss 0": n, …}}."""

    code: Code
    searches: int
    rounds: int
    by_process: dict[str, dict[str, int]] = field(default_factory=dict)

    def per_search(self, process: str, side: str) -> float:
        return sum(self.by_process[process][f"{side} {n}"] for n in range(self.rounds)) / (self.searches * self.rounds)

    def both(self, side: str, number: int | None = None) -> float:
        """Web and Redis together, a search (of one round, or all)."""
        rounds = range(self.rounds) if number is None else [number]
        return sum(self.by_process[p][f"{side} {n}"] for p in ("web", "redis") for n in rounds) / (
            self.searches * len(rounds)
        )

    def ratio(self, number: int | None = None) -> float:
        return self.both("miss", number) / self.both("nocache", number)

    def extra(self) -> float:
        """What a miss runs over a search with the cache off, web and Redis together."""
        return self.both("miss") - self.both("nocache")


def read_dumps(folder: Path, prefix: str) -> dict[str, int]:
    """{label: instructions} of the dumps callgrind wrote as `<prefix>.<pid>.<part>` in `folder` when asked to
    (`callgrind_control --dump=<label>`); the dump it writes as the process ends is left out."""
    found = {}
    for path in sorted(folder.glob(f"{prefix}.*.*")):
        label = total = None
        with path.open(errors="replace") as lines:
            for line in lines:
                if line.startswith("desc: Trigger: dump "):
                    label = line.removeprefix("desc: Trigger: dump ").strip()
                elif line.startswith("summary:"):
                    total = int(line.split(":", 1)[1])
                    break
        if label is not None and total is not None:
            found[label] = total
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="a commit to measure beside this checkout, e.g. HEAD~1")
    parser.add_argument("--searches", type=int, default=60, help="never-asked searches a round (each made twice)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (an even number evens out which side goes first)")
    parser.add_argument("--seed", type=int, default=23, help="of the searches drawn")
    args = parser.parse_args(argv)
    if args.searches < 1 or args.rounds < 1:
        parser.error("--searches and --rounds: at least 1")
    return args


def commit_name(ref: str = "HEAD") -> str:
    found = subprocess.run(["git", "-C", str(BASE_DIR), "rev-parse", "--short", ref], capture_output=True, text=True)
    if found.returncode:
        raise SystemExit(f"--against {ref}: not a commit of this repository ({found.stderr.strip()})")
    return found.stdout.strip()


def archived(ref: str, into: Path) -> Code:
    """Commit `ref`'s code, unpacked into `into`, its catalogues compiled; refused if its requirements differ from
    this checkout's (it runs with this checkout's virtualenv)."""
    name = commit_name(ref)
    archive = subprocess.run(["git", "-C", str(BASE_DIR), "archive", name], capture_output=True, check=True).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        if (into / requirements).read_bytes() != (BASE_DIR / requirements).read_bytes():
            raise SystemExit(f"--against {ref}: its {requirements} differs from this checkout's; measure it in a "
                             "checkout of its own")  # fmt: skip
    compiled = subprocess.run([PYTHON, "manage.py", "catalogues", "compile"], cwd=into, capture_output=True, text=True,
                              env={**os.environ, "DEBUG": "1"}, check=False)  # fmt: skip
    if compiled.returncode:
        raise SystemExit(f"--against {ref}: its catalogues did not compile:\n{compiled.stderr}")
    return Code(name, into)


class Measured:
    """One tree's stack for this reading: a database seeded as the bench's, a broker, and the cache's Redis under
    callgrind."""

    def __init__(self, code: Code, workdir: Path):
        self.code = code
        self.stack = Stack(workdir, code=code.folder)
        self.out = workdir / "callgrind"
        self.out.mkdir(parents=True)
        self.measuring: subprocess.Popen | None = None

    def start(self) -> None:
        stack = self.stack
        stack.start_postgres()
        stack.choose_ports()
        for name in ("redis_cache", "redis_broker"):
            stack.ports[name] = free_port()
        serve = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        # The cache's timer (serverCron: clients, expiry, rehashing) once a second, not ten times: its work grows with
        # the wall time a search takes, fifty times longer under callgrind, and would weigh on each search that much.
        slow_timer = ["--hz", "1"]
        callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}/redis.%p"]
        lru = ["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"]
        cache = [*callgrind, *serve, "--port", str(stack.ports["redis_cache"]), *lru, *slow_timer]
        broker = [*serve, "--port", str(stack.ports["redis_broker"])]
        for name, command in (("redis_cache", cache), ("redis_broker", broker)):
            log = stack.workdir / f"{name}.log"
            stack.processes[name] = Process(name, command, {"PATH": os.environ["PATH"]}, log, stack.workdir).start()
        for name in ("redis_cache", "redis_broker"):  # Redis under callgrind takes a few seconds to start
            port = str(stack.ports[name])
            wait_until(name, 120, lambda p=port: subprocess.run(["redis-cli", "-p", p, "ping"], capture_output=True)
                       .stdout.strip() == b"PONG")  # fmt: skip
        stack.manage("migrate", "--noinput")
        stack.manage("seed_demo_data", "--days", "90", "--verbosity", "0")
        stack.settle_database()

    def measure(self, paths: Path, searches: int, rounds: int) -> None:
        """The searches made under callgrind (started; `wait` for them)."""
        env = {**self.stack.env(), "PYTHONPATH": str(self.code.folder), "PYTHONHASHSEED": "0"}
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}/web.%p", PYTHON, "-c", MEASURE,
                   str(paths), str(searches), str(rounds), str(self.stack.processes["redis_cache"].pid)]  # fmt: skip
        log = (self.stack.workdir / "measure.log").open("wb")
        self.measuring = subprocess.Popen(command, cwd=self.code.folder, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait(self, searches: int, rounds: int) -> Counts:
        if self.measuring.wait():
            tail = (self.stack.workdir / "measure.log").read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError(f"{self.code.name}: the searches under callgrind failed:\n" + "\n".join(tail))
        by_process = {"web": read_dumps(self.out, "web"), "redis": read_dumps(self.out, "redis")}
        wanted = {f"{side} {n}" for side in SIDES for n in range(rounds)}
        for process, dumps in by_process.items():
            if not wanted <= set(dumps):
                raise RuntimeError(f"{self.code.name}: callgrind wrote no {', '.join(sorted(wanted - set(dumps)))} "
                                   f"for {process}")  # fmt: skip
        return Counts(self.code, searches, rounds, by_process)

    def stop(self) -> None:
        if self.measuring and self.measuring.poll() is None:
            self.measuring.kill()
        self.stack.stop()


def report(readings: list[Counts]) -> str:
    """The readings as a table (millions of instructions a search), with what a miss runs over the cache off, and
    what the first reading's code saves against each other's."""
    first = readings[0]
    lines = [
        f"Figure 4 in instructions (callgrind): {first.searches} never-asked searches a round, {first.rounds} "
        f"round{'s' if first.rounds > 1 else ''}, each made with the cache on (a miss) and off, in one thread; the "
        "web process and the cache's Redis, millions of instructions a search.",
        "",
        "| code | web: miss / no cache | Redis: miss / no cache | a miss's extra | ratio | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for counts in readings:
        web = " / ".join(f"{counts.per_search('web', side) / 1e6:.2f}" for side in SIDES)
        cache = " / ".join(f"{counts.per_search('redis', side) / 1e6:.3f}" for side in SIDES)
        rounds = ", ".join(f"{counts.ratio(n):.3f}" for n in range(counts.rounds))
        lines.append(f"| {counts.code.name} | {web} | {cache} | {counts.extra() / 1e6:.3f} | {counts.ratio():.3f} | "
                     f"{rounds} |")  # fmt: skip
    for other in readings[1:]:
        change = first.extra() / other.extra() - 1
        lines += ["", f"{first.code.name} against {other.code.name}: a miss's extra {first.extra() / 1e6:.3f} M "
                  f"instructions a search against {other.extra() / 1e6:.3f} ({change:+.1%}), the ratio "
                  f"{first.ratio():.3f} against {other.ratio():.3f}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("valgrind", "callgrind_control", "redis-server"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: install valgrind and redis-server (Debian: apt-get install valgrind "
                             "redis-server)")  # fmt: skip
    started = time.monotonic()
    workdir = new_workdir()
    codes = [Code(f"{history.commit(BASE_DIR)} (this checkout)", BASE_DIR)]
    if args.against:
        codes.append(archived(args.against, workdir / "against"))
    measured = [Measured(code, workdir / f"side{n}") for n, code in enumerate(codes)]
    try:
        for each in measured:
            each.start()
        print(f"[{time.monotonic() - started:6.1f} s] databases seeded, Redis under callgrind", flush=True)
        os.environ.update(measured[0].stack.env())
        import django

        django.setup()
        from bench import data

        paths = data.distinct_searches(2 * WARM_SEARCHES + args.searches * args.rounds, seed=args.seed)
        listed = workdir / "searches.json"
        listed.write_text(json.dumps(paths))
        for each in measured:
            each.measure(listed, args.searches, args.rounds)
        readings = [each.wait(args.searches, args.rounds) for each in measured]
        print(f"[{time.monotonic() - started:6.1f} s] measured", flush=True)
    finally:
        for each in measured:
            with contextlib.suppress(Exception):
                each.stop()
        remove_workdir(workdir)
    text = report(readings)
    output = BENCH_DIR / "results"
    output.mkdir(exist_ok=True)
    (output / "instructions.md").write_text(text)
    print(re.sub(r"\n{3,}", "\n\n", text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
