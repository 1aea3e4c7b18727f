"""`make bench`: start the stack, seed it, measure its figures (1–10), write bench/results.md and results.png.

    python bench/run.py [--seconds 5] [--warmup 2] [--rounds 5] [--zipf-seconds 60] [--only 1,2] [--no-profiles]
    python bench/run.py --compare    # the last full run beside the one before, from bench/history.json

Short durations make a dry run (`--seconds 1 --warmup 0 --rounds 1 --zipf-seconds 5`); the results files are
then written to bench/results/ instead and the history is left alone, so a dry run never overwrites the real
ones. A full run adds its ratios to bench/history.json. Logs of every process of the stack are kept in
bench/results/logs/ when a run fails (or with --keep-logs).
"""

import argparse
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench import history  # noqa: E402 — the project must be on the path first
from bench.stack import LOAD_CPUS, STACK_CPUS, Stack, new_workdir, parse_cpus, remove_workdir  # noqa: E402

FIGURES = {
    1: "stack_efficiency",
    2: "local_cache_speedup",
    3: "remote_cache_speedup",
    4: "miss_penalty",
    5: "hit_rate",
    6: "hot_sailing",
    7: "webhook_ack",
    8: "background_latency",
    9: "lifecycle_cpu",
    10: "calendar_month",
}

# What the table cannot say: why a target is missed and what would close it. Kept with the numbers they explain.
NOTES = {
    1: (
        "Why: `/livez` touches nothing but the process; a cached search makes one Redis round trip (the rate limits "
        "checked and counted in one Lua script, with the answer's lookup, its counters and its expiry riding in "
        "the same pipeline; the answer's bytes come from the process's own copy when Redis still holds that very "
        "entry) and runs DRF's request cycle. The profile (below) has about 37 % of the web processes' busy "
        "samples under `check_throttles`: the round trip, most of it threads waiting at the Redis socket "
        "(`send_packed_command`, `_read_from_socket`) to get the GIL back. The physical reason on two shared "
        "cores: every round trip is two context switches and Redis's own CPU on the same cores as gunicorn and "
        "wrk, and a thread that waits for Redis gives the GIL to one of its process's three other threads; "
        "`/livez` pays none of it. Measured with the web workers on sockets of their own (rounds within ±10 %): "
        "0.45–0.55. What would close it: no round trip on a hit — the rate limits of anonymous reads counted in "
        "each process and added to Redis in batches (limits no longer exact across processes), and the "
        "process's copies of answers dropped by Redis's invalidation messages (client-side caching, RESP3 "
        "tracking) instead of checked at each hit — then the hit answered before DRF's request cycle. Not done: "
        "it trades the exact rate limits for speed, a decision of its own."
    ),
    2: (
        "The speed-up is met; the uncached search serves a little under a tenth of the bare view. Cache off, a "
        "day's search of our own inventory is about four queries (the routes with their ports and operator, the "
        "sailings, their inventory, the fares with their rows as JSON, compiled once per process); EXPLAIN "
        "ANALYZE shows each using its index and executing in under 0.1 ms. The rest is Python: the ORM building "
        "rows into objects, pricing every party and fare family of every sailing, and the answer's JSON. What "
        "would close it: the sailings and inventory read as plain rows (values) instead of model objects, and "
        "the prices of a fare worked out once per party rather than per sailing."
    ),
    3: (
        "Without the cache each search waits for the operator twice (the search, then availability: "
        "2 × 150 ms), so the uncached side serves at most connections ÷ 0.3 s = 27 requests/s with wrk's 8 "
        "connections, whatever the CPU (Little's law), while the cached side is CPU-bound. The physical bound: "
        "even a cached search as cheap as the bare view itself (figure 1's B, about 1,800 requests/s on these two "
        "cores) would give 1,800 ÷ 27 ≈ 67×; 100× needs a cached side of 2,700 requests/s, more than Django "
        "serves for a view that does nothing here. The latency ratio (p50, in the details) is what a traveller "
        "sees. What would close the requests/s ratio: more cores, or more concurrent clients than the uncached "
        "side has threads."
    ),
    4: (
        "A miss looks the whole answer up, then each leg, takes the single-flight lock, computes exactly as with no "
        "cache, then stores the legs, their availability and the whole answer with its indexes, and releases the "
        "lock: about nine Redis round trips where the uncached side makes one (its rate limits). Each takes a "
        "fraction of a millisecond at Redis, but under load it also hands the GIL to another of the process's four "
        "threads, busy computing other misses, and waits to get it back (Python's switch interval is 5 ms): the "
        "round trips cost tens of milliseconds together, and more as the load grows. What would close it: fewer "
        "round trips per miss — the answer and the legs looked up in one pipeline, the lock taken in the same "
        "round trip, the legs, availability and answer stored in one."
    ),
    5: (
        "Over a fixed minute the hit rate is 1 − (distinct queries asked ÷ searches made): the first ask of each "
        "query is a miss. The rate the machine sustains, mostly spent computing the first asks, sets the figure; "
        "the availability hit rate stays near 0.99 and no sale is ever made from a stale answer. The beat task "
        "that warms the most asked answers before they expire (`warm-popular-searches`) does not run in the bench "
        "stack (no beat), so it does not show here. What would close it: cheaper misses (figure 4)."
    ),
    6: (
        "The ratio is met: a hot sailing books nearly as fast as a hundred sailings, so its inventory row lock is "
        "not the limit. A hold is eight statements and its transaction (the sailing, its fare with every price row "
        "in one query compiled once per process, the booking with its totals, the places, the hold, the leg, the "
        "passenger, the event); the answer is made of the rows written. The absolute rate is CPU: on the test "
        "client a hold costs the web process 13–20 ms, of which the request's validation, DRF's serializers "
        "(deep copies of their fields at each request) and the ORM's Python are most; PostgreSQL and Redis run on "
        "the same two cores as wrk and gunicorn. What would close it: serializers built once per process for the "
        "answer, the request read without DRF's field machinery, or a database with cores of its own."
    ),
    7: (
        "At 200 webhooks a second every one is also processed at once by the payments worker (a fetch from "
        "Stripe's stand-in and a transaction each), on the same two cores as the web tier, PostgreSQL and the load "
        "generator: requests wait for a core, and the distribution (results.png) shows it, the median rising with "
        "the p99. Per request the endpoint does what the rules ask and no more: the signature is checked, the "
        'event stored in one statement, the processing queued in one Redis message (no "task sent" event), the '
        "connection's health checked before reuse (CONN_HEALTH_CHECKS: `is_usable` below, what keeps a restarted "
        "PostgreSQL from failing requests). What would close it: the workers on cores of their own, as in any "
        "real deployment."
    ),
    8: (
        "The e-mail target is met (p95 payment to receipt in the SMTP server, in the details). The queue-latency "
        "ratio compares a near-idle machine with one whose two cores are kept busy by half of the web tier's peak "
        "and by wrk: a worker ready to take a task waits for a core, not for the broker (prefetch 1, one message "
        "per task, the queues empty). What would close it: workers with cores of their own, or lower CPU "
        "priority for the web tier. The idle outliers of earlier runs on the bookings queue (0.7–1.4 s) were "
        "Celery's rate limit on confirmations (60 a minute per worker): a message it holds back counts against the "
        "worker's prefetch, so nothing else of the queue was taken meanwhile. Remote operators are now paced per "
        "operator where they are called (ferries/operators/pacing.py) and no bookings task has a rate limit: the "
        "bookings queue's idle p99 is now about 10 ms. The e-mails queue's (about 0.2 s) is the PDFs made for the "
        "first time: the receipt carries the invoice and the confirmation the e-tickets, a few hundred "
        "milliseconds of CPU each, and a probe sent meanwhile waits for one of the worker's two processes. What "
        "would close it: the documents made on a queue of their own (or by the bookings worker as it confirms), "
        "so that an e-mail only attaches bytes already kept."
    ),
    9: (
        "Most of a lifecycle's CPU is still the e-mails worker making the two PDFs once each (the invoice with "
        "the receipt, the e-tickets with the confirmation); they are then kept and every later e-mail, resend and "
        "download is served the same bytes, so later use of a booking costs little, but each lifecycle here makes "
        "its own. fpdf2 spends most of a small PDF parsing and cutting down the DejaVu fonts (about 70 %): "
        "reusing its parsed font across documents saved little, since cutting down parses again. What would close "
        "it: fonts cut down to the glyphs of our languages once, ahead (about 2.4 times fewer glyphs), at the risk "
        "of a name in an alphabet left out; and fewer statements per hold (figure 6)."
    ),
    10: (
        "A cached month is one entry (the lowest price of each day, without availability) with the availability "
        "of the month's sailings laid over it at every request, so that a sold-out day never shows a price. The "
        "profile has a third of the web processes' busy samples in the cache's Redis calls (the month, then the "
        "availability of its sailings: `send_packed_command`, `_read_from_socket`) and 7 % decoding their JSON; "
        "a cached calendar serves about a third of a cached search's requests/s, which is sent as the bytes kept. "
        "The computed side reads the month's sailings and fares and prices each day. What would close it: the "
        "month and its availability read in one pipeline, the availability kept as one entry per month "
        "(dropped by the same generations as a sailing's), and the answer's bytes kept as a search's are."
    ),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 2)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    parser.add_argument("--zipf-seconds", type=float, default=float(os.environ.get("BENCH_ZIPF_SECONDS", 60)))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="figures to measure, e.g. 1,2")
    parser.add_argument("--no-profiles", action="store_true")
    parser.add_argument("--output", default="", help="folder for results.md and results.png")
    parser.add_argument(
        "--compare",
        action="store_true",
        help=f"measure nothing: the last full run beside the one before (exit 1 beyond ±{history.TOLERANCE:.0%})",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's logs even when the run succeeds")
    return parser.parse_args()


def step(text: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)


def compare() -> int:
    runs = history.load()
    if len(runs) < 2:
        print("bench/history.json holds fewer than two full runs: nothing to compare")
        return 1
    text, agree = history.compare(runs[-2], runs[-1])
    print(text)
    return 0 if agree else 1


def pinning() -> str:
    """The bench process (and so wrk, the asyncio client) on the load CPUs; the stack's processes pin themselves."""
    if not LOAD_CPUS:
        return "The load generator and the stack share every CPU (nothing pinned)."
    os.sched_setaffinity(0, parse_cpus(LOAD_CPUS))
    return (
        f"The load generator runs on CPU {LOAD_CPUS}, the stack on CPU {STACK_CPUS} (PostgreSQL, shared with the "
        "machine, where the scheduler puts it)."
    )


def main() -> int:
    args = parse_args()
    if args.compare:
        return compare()
    started = time.monotonic()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    pinned = pinning()
    full = args.rounds >= 5 and args.seconds >= 5 and args.zipf_seconds >= 60 and not args.only
    output = Path(args.output) if args.output else (BENCH_DIR if full else BENCH_DIR / "results")
    output.mkdir(parents=True, exist_ok=True)
    workdir = new_workdir()
    stack = Stack(workdir)
    failed = False
    try:
        step(f"PostgreSQL (database {stack.database}) and two private Redis servers", started)
        stack.start_postgres()
        stack.start_redis()
        stack.start_side_services()
        os.environ.update(stack.env())
        step("migrate and seed the demo network (90 days of sailings)", started)
        stack.manage("migrate", "--noinput")
        stack.manage("seed_demo_data", "--days", "90", "--verbosity", "0")
        import django

        django.setup()
        step("gunicorn A (cache on) and B (SEARCH_CACHE=0), three workers, operator simulator, Stripe, SMTP", started)
        stack.start_app()

        from bench.figures import Bench, Config

        config = Config(
            seconds=args.seconds,
            warmup=args.warmup,
            rounds=args.rounds,
            zipf_seconds=args.zipf_seconds,
            profiles=not args.no_profiles,
        )
        bench = Bench(stack, config, workdir)
        only = {int(n) for n in args.only.split(",") if n.strip()} or set(FIGURES)
        for number, name in FIGURES.items():
            if number not in only:
                continue
            step(f"figure {number}: {name.replace('_', ' ')}", started)
            if name == "local_cache_speedup":
                bench.cache_speedup(remote=False)
            elif name == "remote_cache_speedup":
                bench.cache_speedup(remote=True)
            else:
                getattr(bench, name)()
            stack.check_alive()

        from bench import report

        minutes = (time.monotonic() - started) / 60
        runs = history.load()
        previous = runs[-1] if runs else None
        if full:
            runs.append(history.entry(bench.figures, date=time.strftime("%Y-%m-%d %H:%M", time.gmtime())))
            history.save(runs)
        text = report.markdown(
            bench.figures, config, minutes=minutes, load=load, notes=NOTES, past=runs, previous=previous, pinning=pinned
        )
        (output / "results.md").write_text(text)
        report.plot(bench.figures, output / "results.png")
        step(f"wrote {output / 'results.md'}", started)
        print(report.table(bench.figures, previous))
        if full and previous:
            print(history.compare(previous, runs[-1])[0])
        return 0
    except BaseException:
        failed = True
        traceback.print_exc()
        return 1
    finally:
        step("stopping the stack", started)
        if failed or args.keep_logs:
            logs = BENCH_DIR / "results" / "logs"
            shutil.rmtree(logs, ignore_errors=True)
            shutil.copytree(workdir, logs, ignore=shutil.ignore_patterns("*.txt", "*.raw", "redis_*", "var"))
            print(f"logs of the stack: {logs}", file=sys.stderr)
        stack.stop()
        remove_workdir(workdir)
        step("done", started)


if __name__ == "__main__":
    sys.exit(main())
