"""The stack the benchmarks run against, started from nothing and stopped at the end.

* PostgreSQL: the machine's server on 127.0.0.1:5432 (started if it is down), in a database of our own,
  `maritime_bench_<run id>`, created at the start and dropped at the end.
* Redis: two private servers on free ports, shaped as in docker-compose.yml — the cache with an LRU policy and
  nothing on disk, the broker with `noeviction` — so nothing another user keeps in Redis is ever touched.
* Two gunicorn instances with DEBUG=0 and the production settings: A as deployed, B with SEARCH_CACHE=0.
* The three Celery workers (emails; payments; bookings,default), as in the Procfile.
* The operator simulator answering CTN and GNV in 150 ms; Stripe's API answered locally (the FakeStripe of the
  payments tests, the real SDK on the other side); a real SMTP server (aiosmtpd) that keeps what it receives.

Every process runs in a process group of its own and is stopped by its id.
"""

import contextlib
import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

import redis
import requests

from bench import cpu

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# A database per run (maritime_bench_<run id>): two runs at once on one server never drop each other's.
DATABASE = "maritime_bench"
WEBHOOK_SECRET = "whsec_bench_" + "w" * 24
REMOTE_OPERATORS = ("CTN", "GNV")
SIMULATOR_LATENCY_MS = 150
# As deployed (docker-compose.yml): three processes of four threads each. Fewer threads trade figure 8 against the
# others: three processes of one thread met figure 8 (1.38 in a full run) while the webhook's p99 rose to 42 times
# /livez's p50 (figure 7), holds on one sailing fell to 115 a second, and a search waiting 150 ms for an operator held
# a whole process (figure 3's uncached side 12 requests/s against 40–47).
GUNICORN_WORKERS = os.environ.get("BENCH_GUNICORN_WORKERS", "3")
GUNICORN_THREADS = os.environ.get("BENCH_GUNICORN_THREADS", "4")
# INFO logs every task taken and its run time (bench/results/logs/worker_*.log when a run fails, or kept with
# --keep-logs): what to read when a queue's latency jumps. WARNING by default, as it costs CPU at high task rates.
WORKER_LOGLEVEL = os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")
# The web tier's niceness (`nice -n`), to see what the workers gain when the web yields the CPU to them: none by
# default, as in the Procfile.
WEB_NICE = os.environ.get("BENCH_WEB_NICE", "")
# The three workers' niceness, to see what the web tier gains when the workers yield the CPU to it: nothing at 10
# (figure 7 9.66, 16.23 and 15.66 in partial runs, 11.65, 9.23 and 12.06 without; figure 8 worse), so none by default.
WORKER_NICE = os.environ.get("BENCH_WORKER_NICE", "")
# What Redis counts as a stall (ms) in its latency monitor.
REDIS_LATENCY_MS = 20
# Seconds between two timings of the speed probe's fixed work (about 17 ms of CPU each: under 1 % of a core).
PROBE_INTERVAL = 2.0
# The time slice (µs, 100–100,000) the kernel gives the three workers and the broker, as sched_setattr(2) sets it
# (Linux 6.12 and later, EEVDF: a woken process with a slice shorter than the running one's may take its core at once
# rather than wait for the running slices to end), to see whether figure 8's waits are the scheduler's: 100 µs did not
# help (8.38 and 5.36 in partial runs, 5.76 and 4.50 without). None by default (the kernel's, 1.4 ms here).
WORKER_SLICE_US = os.environ.get("BENCH_WORKER_SLICE_US", "")
# Sets its own slice (SCHED_OTHER with sched_runtime; sched_setattr is system call 314 on x86-64, 274 on arm64),
# then execs the command, whose children (the workers' pool processes) inherit it.
SLICED = """
import ctypes, os, platform, struct, sys
number = {"x86_64": 314, "aarch64": 274}[platform.machine()]
attr = ctypes.create_string_buffer(struct.pack("IIQiIQQQ", 56, 0, 0, 0, 0, int(sys.argv[1]) * 1000, 0, 0))
if ctypes.CDLL(None, use_errno=True).syscall(number, 0, attr, 0):
    sys.exit(f"sched_setattr: {os.strerror(ctypes.get_errno())}")
os.execvp(sys.argv[2], sys.argv[2:])
"""


def niced(command: list[str], niceness: str) -> list[str]:
    """`command` under `nice -n niceness`, if a niceness is set."""
    return ["nice", "-n", niceness, *command] if niceness else command


def sliced(command: list[str]) -> list[str]:
    """`command` with the workers' time slice (`WORKER_SLICE_US`), if one is set."""
    return [sys.executable, "-c", SLICED, WORKER_SLICE_US, *command] if WORKER_SLICE_US else command


def cpu_split(available: list[int], load: str | None, stack: str | None) -> tuple[str, str]:
    """The CPUs of the load generator and of the stack, as `taskset -c` lists ("" = not pinned).

    With four CPUs or more the load generator (wrk, the asyncio client, the bench process with its Stripe stand-in
    and SMTP sink) gets the last CPU and the stack every other one by default. With fewer nothing is pinned unless
    asked (`BENCH_LOAD_CPUS=1 BENCH_STACK_CPUS=0`): on two cores shared with other work, the stack held to one
    core spread the rounds more than the stack left free (bench/README.md). "off" for either pins nothing.
    PostgreSQL is the machine's server, shared with others: it is never pinned.
    """
    if "off" in {load, stack} or len(available) < 2 or (load is None and stack is None and len(available) < 4):
        return "", ""
    load = load or str(available[-1])
    stack = stack or ",".join(str(cpu) for cpu in available if str(cpu) not in load.split(","))
    return load, stack


LOAD_CPUS, STACK_CPUS = cpu_split(
    sorted(os.sched_getaffinity(0)), os.environ.get("BENCH_LOAD_CPUS"), os.environ.get("BENCH_STACK_CPUS")
)


def pinned(command: list[str], cpus: str) -> list[str]:
    """`command` run on `cpus` only (taskset execs it: the process id stays the command's)."""
    return ["taskset", "-c", cpus, *command] if cpus else command


def parse_cpus(cpus: str) -> set[int]:
    """A `taskset -c` list ("0", "2-3,5") as a set."""
    out: set[int] = set()
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        out |= set(range(int(first), int(last or first) + 1))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, seconds: float, check) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException, subprocess.SubprocessError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict
    log: Path
    cwd: Path = BASE_DIR
    popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        self.popen = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: stopped with its children, and only them
        )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class SmtpSink:
    """A real SMTP server; remembers when each message arrived, for whom, and its subject."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.received: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        at = time.time()
        subject = str(message_from_bytes(envelope.content).get("Subject", ""))
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((at, rcpt.lower(), subject))
        return "250 Message accepted for delivery"

    def first_arrival(self) -> dict[str, float]:
        with self.lock:
            first: dict[str, float] = {}
            for at, rcpt, _subject in self.received:
                first[rcpt] = min(at, first.get(rcpt, at))
            return first

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Stack:
    """The stack of the code in `code` (this checkout by default), run by `python` (of that code's venv)."""

    workdir: Path
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    code: Path = BASE_DIR
    python: str = PYTHON

    @property
    def database(self) -> str:
        return f"{DATABASE}_{self.run_id}"

    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    stripe: object = None
    smtp: SmtpSink | None = None
    created_database: bool = False

    # --- environment ------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict:
        """Production settings (DEBUG=0), every value fake but valid, pointing at this stack's parts."""
        simulator = f"http://127.0.0.1:{self.ports['simulator']}"
        keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TERM"}}
        return {
            **keep,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "maritime.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "k9Xq2" * 12,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://127.0.0.1:{self.ports['web_a']}",
            "DATABASE_URL": f"{PG}/{self.database}",
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis_cache']}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.ports['redis_broker']}/0",
            "DEFAULT_FROM_EMAIL": "Maritime <bookings@maritime.localhost>",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp.port if self.smtp else 25),
            "EMAIL_USE_TLS": "0",
            "STRIPE_SECRET_KEY": "sk_test_bench" + "b" * 20,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_bench" + "b" * 20,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": self.stripe.url if self.stripe else "http://127.0.0.1:9",
            "OPERATOR_API_URLS": ",".join(f"{code}={simulator}/{code}" for code in REMOTE_OPERATORS),
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_MANIFEST": "0",
            "MARITIME_VAR_DIR": str(self.workdir / "var"),
            "LOG_LEVEL": "WARNING",
            # Rate limits sized for one client that is a load generator; they are still counted in Redis. Over a
            # second: a window then holds a second of the load, where one over a minute held a minute of it (up to
            # 109,255 requests, a production window holding its limit at most), and Redis stopped for up to 88 ms
            # dropping a window's old requests when the load came back after a pause.
            "API_RATE_ANON": "100000000/second",
            "API_RATE_USER": "100000000/second",
            "API_RATE_BOOKING_CREATE": "100000000/second",
            "API_RATE_PAYMENT_START": "100000000/second",
            **extra,
        }

    # --- parts ------------------------------------------------------------------------------------

    def start_postgres(self) -> None:
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False).returncode != 0:
            versions = os.listdir("/etc/postgresql")
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"], check=True)
            wait_until(
                "PostgreSQL", 60, lambda: subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0
            )
        self.psql(f"CREATE DATABASE {self.database}")
        self.created_database = True

    def redis_stalls_forget(self, name: str) -> None:
        """Start Redis `name`'s record of stalls afresh (`redis_stalls` reads it)."""
        with redis.Redis(port=self.ports[name]) as client:
            client.execute_command("LATENCY", "RESET")
            client.slowlog_reset()

    def redis_stalls(self, name: str) -> str:
        """What Redis `name` recorded keeping it from serving for REDIS_LATENCY_MS or more since
        `redis_stalls_forget` (its LATENCY LATEST, each event with its worst, the slowest command its SLOWLOG kept, and
        how often its persistence waited for a disk write), in words."""
        with redis.Redis(port=self.ports[name]) as client:
            events = client.execute_command("LATENCY", "LATEST")
            delayed = client.info("persistence").get("aof_delayed_fsync", 0)
            slowest = max(client.slowlog_get(128), key=lambda entry: entry["duration"], default=None)
        found = [
            f"{event.decode() if isinstance(event, bytes) else event} {worst} ms at worst (last at "
            f"{dt.datetime.fromtimestamp(int(last), dt.UTC):%H:%M:%S})"
            for event, last, _latest, worst, *_rest in events
        ]
        stalls = ", ".join(found) or f"nothing over {REDIS_LATENCY_MS} ms"
        if slowest and slowest["duration"] >= REDIS_LATENCY_MS * 1000:  # its SLOWLOG says which command (µs)
            command = slowest["command"].decode(errors="replace").split(" ")[:2]
            stalls += f", the slowest command {' '.join(command)} ({slowest['duration'] / 1000:.0f} ms)"
        return f"{stalls} ({delayed} writes delayed by an fsync since it started)"

    def psql(self, sql: str, *, database: str = "postgres") -> None:
        subprocess.run(["psql", f"{PG}/{database}", "-qAtc", sql], check=True, stdout=subprocess.DEVNULL)

    def settle_database(self) -> None:
        """Vacuum and analyze the freshly seeded database: its plans are then those of the first figure on, rather
        than changing whenever autovacuum comes round to the new tables (a minute or two into the run)."""
        self.psql("VACUUM ANALYZE", database=self.database)

    def start_redis(self) -> None:
        shapes = {
            "redis_cache": ["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru", "--appendonly", "no"],
            "redis_broker": ["--maxmemory-policy", "noeviction", "--appendonly", "yes", "--appendfsync", "everysec"],
        }
        for name, options in shapes.items():
            port = self.ports[name] = free_port()
            folder = self.workdir / name
            folder.mkdir()
            command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(folder)]
            # Redis records what kept it from serving for longer than this (LATENCY LATEST: an fsync of its
            # append-only file, a fork, a slow command), for figure 8 to say whether a stalled round was the broker's.
            command += ["--latency-monitor-threshold", str(REDIS_LATENCY_MS), *options]
            if name == "redis_broker":
                command = sliced(command)
            self.spawn(name, command, env={"PATH": os.environ["PATH"]})
        for name in shapes:
            port = self.ports[name]
            wait_until(
                name,
                20,
                lambda p=port: (
                    subprocess.run(["redis-cli", "-p", str(p), "ping"], capture_output=True).stdout.strip() == b"PONG"
                ),
            )

    def start_side_services(self) -> None:
        from payments.tests.stripe_fake import FakeStripe

        self.stripe = FakeStripe().start()
        self.smtp = SmtpSink().start()
        self.choose_ports()

    def choose_ports(self) -> None:
        """Free ports for the operator simulator and gunicorn A and B (bound by `start_app`)."""
        for name in ("simulator", "web_a", "web_b"):
            self.ports[name] = free_port()

    def manage(self, *args: str) -> None:
        command = [self.python, "manage.py", *args]
        result = subprocess.run(command, cwd=self.code, env=self.env(), capture_output=True, text=True, check=False)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start_app(self, sides: tuple[str, ...] = ("a", "b"), *, probe: bool = True) -> None:
        """The operator simulator, the three workers, gunicorn of each of `sides` (A as deployed, B with the cache
        off) and, with `probe`, the speed probe."""
        env = self.env()
        python, bin_ = self.python, Path(self.python).parent
        port = str(self.ports["simulator"])
        latency = str(SIMULATOR_LATENCY_MS)
        self.spawn(
            "simulator", [python, "manage.py", "run_operator_simulator", "--port", port, "--latency-ms", latency], env
        )
        # As in the Procfile: the e-mails worker has four processes (an e-mail mostly waits for the mail server, and
        # one making a PDF must not hold up the others), the payments and bookings workers two.
        for queues, name, processes in (
            ("emails", "emails", "4"),
            ("payments", "payments", "2"),
            ("bookings,default", "bookings", "2"),
        ):
            command = [str(bin_ / "celery"), "-A", "maritime", "worker", "-Q", queues, "-n", f"{name}@bench"]
            command += ["--concurrency", processes, "--loglevel", WORKER_LOGLEVEL]
            self.spawn(f"worker_{name}", sliced(niced(command, WORKER_NICE)), self.env(LOG_LEVEL=WORKER_LOGLEVEL))
        for side, extra in (("a", {}), ("b", {"SEARCH_CACHE": "0"})):
            if side not in sides:
                continue
            bind = f"127.0.0.1:{self.ports['web_' + side]}"
            command = [str(bin_ / "gunicorn"), "maritime.wsgi", "--bind", bind]
            command += ["--workers", GUNICORN_WORKERS, "--threads", GUNICORN_THREADS, "--backlog", "2048"]
            # A socket of each worker's own (SO_REUSEPORT): the kernel spreads wrk's few long-lived connections over
            # the workers as many clients' would be. On the one shared socket, whichever worker woke first took
            # them all, and a round served by one process (one GIL) ran at a third of one served by three: the
            # rounds' ratios swung 0.2 to 1.3 from that alone.
            command += ["--reuse-port"]
            self.spawn(f"web_{side}", niced(command, WEB_NICE), self.env(**extra))
        for side in sides:
            url = self.url(side) + "/livez"
            wait_until(f"gunicorn {side}", 60, lambda u=url: requests.get(u, timeout=2).status_code == 200)
        wait_until(
            "the simulator", 30, lambda: socket.create_connection(("127.0.0.1", int(port)), timeout=1).close() or True
        )
        self.manage("ping_queues", "emails", "payments", "bookings", "default", "--timeout", "60")
        if probe:  # where the stack runs, the machine's speed timed every PROBE_INTERVAL s (bench/cpu.py)
            self.spawn("speed_probe", [PYTHON, "-c", cpu.PROBE, str(PROBE_INTERVAL)], env)

    @property
    def probe_log(self) -> Path:
        return self.workdir / "speed_probe.log"

    def spawn(self, name: str, command: list[str], env: dict) -> Process:
        process = Process(name, pinned(command, STACK_CPUS), env, self.workdir / f"{name}.log", self.code).start()
        self.processes[name] = process
        return process

    def url(self, side: str = "a") -> str:
        return f"http://127.0.0.1:{self.ports['web_' + side]}"

    def web_pids(self, side: str = "a") -> list[int]:
        """gunicorn's worker processes (the master's children)."""
        master = self.processes[f"web_{side}"].pid
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def check_alive(self) -> None:
        dead = [p for p in self.processes.values() if not p.alive()]
        if dead:
            raise RuntimeError("".join(f"\n{p.name} exited:\n{p.tail()}" for p in dead))

    # --- the end ----------------------------------------------------------------------------------

    def stop(self) -> None:
        # The web first (no new work), the workers next, the services last.
        order = ["web_a", "web_b", "simulator", "worker_emails", "worker_payments", "worker_bookings"]
        for name in order + [n for n in self.processes if n not in order]:
            with contextlib.suppress(KeyError, ProcessLookupError):
                self.processes[name].stop()
        if self.stripe:
            self.stripe.stop()
            self.stripe = None
        if self.smtp:
            self.smtp.stop()
            self.smtp = None
        if self.created_database:
            self.psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            self.created_database = False


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="maritime-bench-"))


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
