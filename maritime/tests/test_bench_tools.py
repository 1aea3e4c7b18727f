"""`make bench`'s tools (bench/): what an operator types to learn its options answers them, a profile's summary says
where the CPU went, and the fixed-rate load sent from a process of its own reaches the server and is counted."""

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from bench import cpu, history, instructions, profile
from bench.load import ApartLoad, http_request

# What bench.cpu.machine_counters reads of the machine.
MACHINE_COUNTERS = {
    *("refaults", "major faults", "kdamond s", "steal s", "memory stall s", "io stall s", "cpu stall s"),
    *("busy s", "wall s"),
}


def test_the_benchmarks_help_lists_their_options():
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--help"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    for option in ("--only", "--rounds", "--compare", "--keep-logs", "--profile-all"):
        assert option in done.stdout
    assert "±15 %" in done.stdout


def test_a_profile_summary_adds_each_function_up_over_the_stacks_it_is_on(tmp_path):
    raw = tmp_path / "web.raw"
    raw.write_text(
        "process 1;handle (/srv/.venv/lib/python3.11/site-packages/django/core/handlers/base.py:10);"
        "search (/srv/ferries/search.py:5);dumps (/srv/lib/python3.11/json/__init__.py:238) 30\n"
        "process 1;handle (/srv/.venv/lib/python3.11/site-packages/django/core/handlers/base.py:10);"
        "search (/srv/ferries/search.py:9) 10\n"
        "process 1;handle (/srv/.venv/lib/python3.11/site-packages/django/core/handlers/base.py:12) 60\n"
    )

    summary = profile.summarise(raw).splitlines()

    assert summary[0] == "100 samples holding the GIL"
    inclusive = summary[summary.index("inclusive (on the stack):") + 1 : summary.index("self (running):") - 1]
    assert inclusive == [
        "  100.0 %  handle (django/core/handlers/base.py)",
        "   40.0 %  search (/srv/ferries/search.py)",
        "   30.0 %  dumps (json/__init__.py)",
    ]
    assert summary[summary.index("self (running):") + 1] == "   60.0 %  handle (django/core/handlers/base.py)"


def test_a_fixed_rate_load_from_a_process_of_its_own_sends_each_request_in_turn_and_counts_the_answers():
    seen = []

    class Server(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.path)
            status = 200 if self.path == "/ok" else 404
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        requests = [http_request("GET", url + "/ok"), http_request("GET", url + "/gone")]
        run = ApartLoad(url, requests, rate=40, seconds=1).start().result()
    finally:
        server.shutdown()

    assert run.requests == 40
    assert dict(run.statuses) == {200: 20, 404: 20}
    assert sorted(seen) == ["/gone"] * 20 + ["/ok"] * 20
    assert 0 < run.p(50) <= run.p(99)
    assert 0 < run.cpu["the load"] < 1  # what the sending and reading took of the cores, a second's run


def _run(date: str, ratios: dict[int, float], probe: float | None) -> dict:
    figures = {
        str(n): {"title": f"figure {n}", "ratio": r, "low": r, "high": r, "probe": probe} for n, r in ratios.items()
    }
    return {"date": date, "commit": "abc1234", "figures": figures}


def test_the_history_shows_each_runs_speed_probe_and_the_comparison_names_the_slower_machine():
    before, after = _run("2026-12-01", {1: 0.90, 9: 0.40}, 16.0), _run("2026-12-02", {1: 0.88, 9: 0.56}, 22.4)

    table = history.table([before, after])
    text, agree = history.compare(before, after)

    assert "| | speed probe (higher: a slower machine) | 16.0 ms | 22.4 ms | **+40 %** |" in table
    assert not agree  # figure 9 moved 40 %
    nine = next(line for line in text.splitlines() if line.strip().startswith("9:"))
    assert nine.endswith("OUTSIDE ±15 %  speed probe +40%")
    assert "16.0 → 22.4 ms of CPU for the same work (+40%): the second run's machine was slower" in text


def test_a_runs_commit_is_marked_changed_by_code_changed_and_not_by_the_results_a_run_before_it_wrote(tmp_path):
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    (tmp_path / "bench").mkdir()
    for path in [*history.WRITTEN, "bench/figures.py"]:
        (tmp_path / path).write_text("first\n")
    git("add", ".")
    git("-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "measured")
    measured = git("rev-parse", "--short", "HEAD").strip()
    assert history.commit(tmp_path) == measured

    for path in history.WRITTEN:  # as the first of two runs back to back leaves the tree for the second
        (tmp_path / path).write_text("a run's results\n")
    assert history.commit(tmp_path) == measured

    (tmp_path / "bench/figures.py").write_text("changed\n")
    assert history.commit(tmp_path) == measured + "+"


def test_runs_from_before_the_speed_probe_show_none_and_compare_as_before():
    before, after = _run("2026-11-01", {1: 0.90}, None), _run("2026-12-02", {1: 0.91}, 16.0)

    table = history.table([before, after])
    text, agree = history.compare(before, after)

    assert "| — | 16.0 ms | — |" in table
    assert agree
    assert "speed probe" not in text


def test_the_speed_probe_times_its_fixed_work_again_and_again_and_its_timings_are_read_by_time(tmp_path):
    log = tmp_path / "speed_probe.log"
    began = time.time()
    with log.open("w") as out:
        probe = subprocess.Popen([sys.executable, "-c", cpu.PROBE, "0.01"], stdout=out)
        try:
            while len(log.read_text().splitlines()) < 3 and probe.poll() is None:
                time.sleep(0.05)
        finally:
            probe.terminate()
            probe.wait(10)
    lines = log.read_text().splitlines()

    assert len(lines) >= 3
    assert len(cpu.probes(log, began, time.time())) == len(lines)
    assert min(cpu.probes(log, began, time.time())) > 0
    assert cpu.probes(log, time.time(), time.time() + 60) == []  # none taken in that span


def test_the_machines_memory_counters_are_read_and_only_grow():
    first = cpu.machine_counters()
    Path(__file__).read_bytes()  # some work in between
    second = cpu.machine_counters()

    assert set(first) == MACHINE_COUNTERS
    assert all(second[name] >= first[name] >= 0 for name in first)
    steal_ticks = int(Path("/proc/stat").read_text().split()[8])  # the cpu line: … irq softirq steal
    assert first["steal s"] <= steal_ticks * cpu.TICK <= second["steal s"]
    for resource, name in cpu.STALLS.items():  # the kernel's pressure counts, where it keeps them
        pressure = Path(f"/proc/pressure/{resource}")
        if pressure.exists():
            total_us = int(pressure.read_text().split("total=")[1].split()[0])  # the "some" line comes first
            assert first[name] <= total_us / 1e6 <= cpu.machine_counters()[name]


def test_a_pressure_files_some_line_gives_the_seconds_some_task_waited():
    text = "some avg10=1.25 avg60=0.50 avg300=0.10 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=900000\n"

    assert cpu.stalled(text) == 2.5
    assert cpu.stalled("full avg10=0.00 avg60=0.00 avg300=0.00 total=900000\n") == 0.0  # no "some" line
    assert cpu.stalled("some avg10=0.00 total=\n") == 0.0
    assert cpu.stalled("") == 0.0


def test_the_cores_kept_busy_count_every_kind_of_busy_time_of_proc_stat_and_neither_idle_nor_waiting_for_io():
    #       user nice system idle  iowait irq softirq steal guest guest_nice
    text = "cpu  1000 50   300    9000  400    20  30      100   0     0\ncpu0 500 25 150 4500 200 10 15 50 0 0\n"

    assert cpu.busy(text) == pytest.approx((1000 + 50 + 300 + 20 + 30 + 100) * cpu.TICK)
    before = cpu.busy_seconds()
    spent = time.process_time()
    while time.process_time() - spent < 0.1:  # this process busy for 100 ms of CPU
        pass
    assert cpu.busy_seconds() - before >= 0.05  # counted in /proc/stat's ticks of 10 ms, a few of them maybe short


def test_figure_7_tells_the_cores_kept_busy_what_each_process_took_and_how_far_the_payments_worker_kept_up():
    from bench.figures import cores_text
    from bench.load import Run

    hooks = [
        Run(requests=1000, seconds=5.0, percentiles={}, cpu={"web": 3.5, "payments worker": 4.0, "the load": 0.5}),
        Run(requests=1000, seconds=5.0, percentiles={}, cpu={"web": 4.0, "payments worker": 4.5, "the load": 0.5}),
        Run(requests=1000, seconds=5.0, percentiles={}, cpu={"web": 3.0, "payments worker": 3.5, "the load": 0.5}),
    ]
    cores = {"webhooks": [1.9, 1.95, 1.8], "/livez": [0.4, 0.5, 0.3]}

    text = cores_text(cores, hooks, [(61.0, 1312), (58.4, 1400), (70.2, 1250)], 200.0)

    assert "webhooks 1.90 (1.80–1.95), /livez 0.40 (0.30–0.50)" in text
    assert "CPU seconds a second by process (medians): web 0.70, payments worker 0.80, the load 0.10" in text
    assert "a webhook's CPU over the stack's processes 7.50 ms (rounds 6.50–8.50)" in text  # the load left out
    assert "against 200 arriving: 61 / 58 / 70, and those waiting at its end: 1,312 / 1,400 / 1,250" in text


def test_an_idle_rounds_slowest_probe_is_told_with_its_sending_and_the_machines_stalls_meanwhile():
    from bench.figures import Probes, stalls_text

    probes = Probes(rate=30)
    assert probes.slowest() == "none answered"
    probes.queue_of = {"t1": "emails", "t2": "bookings", "t3": "payments"}
    probes.sending = {"t1": 0.001, "t2": 0.0021, "t3": 0.0005}
    probes.waits = {"t1": 0.008, "t2": 0.254, "t3": 0.012}
    before = {"memory stall s": 1.0, "io stall s": 2.0, "cpu stall s": 3.0, "steal s": 9.0}
    after = {"memory stall s": 1.25, "io stall s": 2.0, "cpu stall s": 3.5, "steal s": 9.5}

    assert probes.slowest() == "bookings 254.0 ms (sent in 2.1 ms)"
    assert stalls_text(probes.slowest(), before, after) == (
        "bookings 254.0 ms (sent in 2.1 ms), memory 0.25 s, IO 0.00 s, a core 0.50 s"
    )


def test_alternating_rounds_carry_what_the_machine_did_in_each_and_a_figure_lists_it_with_the_rounds_ratios():
    from bench.figures import Figure, alternate, cores_busy, machine_rounds, machine_text
    from bench.load import Run

    def measure(requests):
        return lambda _round: Run(requests=requests, seconds=1.0, percentiles={50.0: 0.01})

    a, b = alternate(3, measure(300), measure(100))
    rounds = machine_rounds(a, b)

    assert len(rounds) == 3
    for run in (*a, *b):
        assert set(run.machine) == MACHINE_COUNTERS
    assert rounds[0]["steal s"] == a[0].machine["steal s"] + b[0].machine["steal s"]
    figure = Figure(1, "t", "a", "b", 300, 100, "r/s", 3.0, "≥ 1", True, runs={"a": [300, 200, 300], "b": [100] * 3})
    assert machine_text(figure) == ""  # the rounds' machine not known
    figure.machine = [{"kdamond s": 0.04, "steal s": 1.25, "refaults": 1234.0}, *rounds[1:]]
    assert machine_text(figure).startswith("each round's ratio with the machine's work meanwhile (kdamond s, steal s, ")
    assert "refaults, cores busy): 3 (0.0, 1.2, 1,234, ?); 2 (" in machine_text(figure)  # the first's cores not known
    assert cores_busy({"busy s": 3.0, "wall s": 2.0}) == "1.50"
    assert rounds[1]["wall s"] > 0  # a round of the real counters: its clock moved, its cores are told
    assert float(cores_busy(rounds[1])) >= 0


def test_the_results_give_a_missed_targets_note_and_profile_and_a_met_targets_profile_only_when_one_was_taken():
    from bench import report
    from bench.figures import Config, Figure

    missed = Figure(3, "missed one", "a", "b", 60, 1, "×", 60.0, "≥ 100×", False, runs={"a": [60], "b": [1]})
    missed.profile, missed.profiled = "--- web_a ---\n12 samples holding the GIL", "web_a"
    met_profiled = Figure(7, "met, profiled", "a", "b", 8, 1, "ms", 8.0, "≤ 10", True, runs={"a": [8], "b": [1]})
    met_profiled.profile, met_profiled.profiled = "--- worker_payments ---\n34 samples", "web_a, worker_payments"
    met = Figure(9, "met, not profiled", "a", "b", 1, 2, "ms", 0.5, "≤ 0.5", True, runs={"a": [1], "b": [2]})
    notes = {3: "Why three is missed.", 7: "Why seven stands where it does.", 9: "Why nine."}

    text = report.markdown(
        [missed, met_profiled, met], Config(), minutes=1.0, load="0.1", notes=notes, past=[], previous=None, pinning=""
    )

    not_met, _, profiles_met = text.partition("## Profiles of targets met")
    for shown in ("### 3. missed one", "Why three is missed.", "12 samples"):
        assert shown in not_met
    for shown in ("### 7. met, profiled", "34 samples", "web_a, worker_payments with their child processes"):
        assert shown in profiles_met
    for left_out in ("Why seven", "### 9.", "Why nine."):
        assert left_out not in text


def test_figure_4_read_in_one_thread_gives_each_process_per_search_over_the_rounds_and_the_ratio_of_the_sides():
    from bench.figures import one_thread_text

    miss = [{"web": 3.4, "redis": 0.25, "postgres": 0.45}] * 5 + [{"web": 4.0, "redis": 0.25, "postgres": 0.45}]
    bare = [{"web": 3.1, "redis": 0.01, "postgres": 0.4}] * 3 + [{"web": 3.1, "redis": 0.01, "postgres": 0.5}] * 3

    text = one_thread_text(miss, bare)

    # Over six rounds a side (the mean, not the median's 3.40): web 3.5 / 3.1, redis 0.25 / 0.01, postgres 0.45 / 0.45.
    assert "6 rounds of 200 never-asked searches a side" in text
    assert "4.20 / 3.56 = 1.18 (web 3.50 / 3.10, redis 0.25 / 0.01, postgres 0.45 / 0.45)" in text


def test_figure_4_in_one_thread_counts_what_each_side_asked_of_redis_a_search(private_redis_server):
    import redis

    from bench.figures import one_thread_text, redis_work

    client = redis.Redis.from_url(private_redis_server.url)
    keep = client.register_script("redis.call('SET', KEYS[1], ARGV[1]) return 1")
    keep(keys=["answer:0"], args=["x"])  # loaded, and the connection's own greeting made, before the first reading

    def side(searches: int, missing: bool) -> dict[str, float]:
        before = client.info("stats", "commandstats")
        for search in range(searches):
            if missing:  # a round trip with a script making one write, then a count sent on its own
                keep(keys=[f"answer:{search}"], args=["x" * 1000])
                client.incrby("misses", 1)
        return redis_work(before, client.info("stats", "commandstats"), searches)

    miss, bare = side(4, True), side(4, False)
    client.close()

    # A miss: two requests read, three commands (EVALSHA, the SET it makes, INCRBY), its 1,000 bytes and more in. The
    # readings' own INFO, alike on both sides: the second's request read, the first's command counted once it ran.
    assert miss["reads"] == (4 * 2 + 1) / 4
    assert miss["commands"] == (4 * 3 + 1) / 4
    assert bare["reads"] == bare["commands"] == 1 / 4
    assert miss["kB in"] > 1.0 > bare["kB in"]
    assert miss["kB out"] > 0
    assert bare["kB out"] > 0  # each reading's answer is Redis's too

    times = [{"web": 3.5, "redis": 0.28, "postgres": 0.4}] * 2
    counts = (
        [{"reads": 3.0, "commands": 24.0, "kB in": 12.0, "kB out": 6.0}] * 2,
        [
            {"reads": 0.0, "commands": 0.0, "kB in": 0.0, "kB out": 0.5},
            {"reads": 0.0, "commands": 0.0, "kB in": 0.0, "kB out": 0.7},
        ],
    )
    text = one_thread_text(times, times, None, counts)
    assert "3.0 / 0.0 requests read from its clients" in text
    assert "24.0 / 0.0 commands run" in text
    assert "12.0 / 0.0 kB received" in text
    assert "6.0 / 0.6 kB sent" in text
    assert "what Redis was asked" not in one_thread_text(times, times)  # a reading without the counts says nothing


def test_figure_4_in_one_thread_tells_a_miss_redis_cpu_its_scripts_ran_from_what_redis_counted(private_redis_server):
    import redis

    from bench.figures import one_thread_text, redis_scripts

    client = redis.Redis.from_url(private_redis_server.url)
    keep = client.register_script("redis.call('SET', KEYS[1], ARGV[1]) return 1")
    keep(keys=["answer:0"], args=["x"])  # loaded into Redis, as a stack's scripts are by the time figure 4 runs
    before = client.info("commandstats")
    for search in range(4):  # four searches: a script each, and a command beside it
        keep(keys=[f"answer:{search}"], args=["x" * 1000])
        client.incrby("lookups", 1)
    after = client.info("commandstats")
    client.close()

    scripts = redis_scripts(before, after, 4)

    assert scripts["calls"] == 1.0  # the INCRBYs beside them, and the INFO reading itself, are not the scripts'
    ran = after["cmdstat_evalsha"]["usec"] - before.get("cmdstat_evalsha", {}).get("usec", 0)
    assert ran > 0
    assert scripts["ms"] == ran / 1000 / 4

    miss = [{"web": 3.5, "redis": 0.28, "postgres": 0.4}] * 2
    bare = [{"web": 3.2, "redis": 0.01, "postgres": 0.4}] * 2
    text = one_thread_text(miss, bare, [{"ms": 0.10, "calls": 2.5}, {"ms": 0.12, "calls": 2.3}])
    assert "its scripts ran 0.11 ms (2.4 a search" in text
    assert "the other 0.17 ms served them" in text
    assert "its scripts" not in one_thread_text(miss, bare)  # a reading without them says nothing of them


def test_callgrinds_dumps_are_read_by_the_labels_they_were_asked_with_and_the_one_at_the_end_is_left_out(tmp_path):
    # A process under callgrind asks for its counts to be written, as `make bench-instructions`'s searches do: after
    # starting, after a little work, after a thousand times as much.
    program = (
        "import os, subprocess\n"
        "def dump(label):\n"
        "    command = ['callgrind_control', '--dump=' + label, str(os.getpid())]\n"
        "    subprocess.run(command, check=True, capture_output=True)\n"
        "dump('warm')\n"
        "sum(range(1000)); dump('nocache 0')\n"
        "sum(range(1000000)); dump('miss 0')\n"
    )
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp_path}/web.%p", sys.executable, "-c", program]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    dumps = instructions.read_dumps(tmp_path, "web")

    assert list(dumps) == ["warm", "nocache 0", "miss 0"]  # in the order written; the dump as it ended left out
    assert len(list(tmp_path.glob("web.*"))) == 4
    assert dumps["miss 0"] > 10 * dumps["nocache 0"]  # a million additions against a thousand and a dump's own


def test_the_instructions_report_gives_each_process_a_search_and_what_a_change_saves_a_miss():
    def counts(name: str, web: list[int], redis: list[int]) -> instructions.Counts:
        labels = ["miss 0", "nocache 0", "miss 1", "nocache 1"]
        reading = {"web": dict(zip(labels, web, strict=True)), "redis": dict(zip(labels, redis, strict=True))}
        return instructions.Counts(instructions.Code(name, Path(".")), 10, 2, reading)

    # Ten searches a round, two rounds; millions of instructions a side of a round.
    new = counts("new", [230e6, 200e6, 210e6, 200e6], [8e6, 4e6, 8e6, 4e6])
    old = counts("old", [240e6, 200e6, 220e6, 200e6], [10e6, 4e6, 10e6, 4e6])

    assert new.per_search("web", "miss") == 22e6
    assert new.per_search("redis", "nocache") == 0.4e6
    assert new.both("miss", 0) == 23.8e6
    assert round(new.ratio(0), 4) == round(23.8 / 20.4, 4)
    assert round(new.extra()) == round(22.8e6 - 20.4e6)
    text = instructions.report([new, old])
    assert "| new | 22.00 / 20.00 | 0.800 / 0.400 | 2.400 | 1.118 | 1.167, 1.069 |" in text
    assert "| old | 23.00 / 20.00 | 1.000 / 0.400 | 3.600 | 1.176 | 1.225, 1.127 |" in text
    saved = "new against old: a miss's extra 2.400 M instructions a search against 3.600 (-33.3%)"
    assert f"{saved}, the ratio 1.118 against 1.176." in text


def test_the_instructions_reading_refuses_a_commit_that_is_not_one_and_bad_counts():
    for argv, message in ((["--rounds", "0"], "at least 1"), (["--searches", "-3"], "at least 1")):
        done = subprocess.run([sys.executable, "bench/instructions.py", *argv], cwd=settings.BASE_DIR,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2
        assert message in done.stderr
    with pytest.raises(SystemExit, match="--against no-such-commit: not a commit of this repository"):
        instructions.commit_name("no-such-commit")
