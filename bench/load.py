"""Load generators: wrk for closed-loop throughput, a small asyncio client for a fixed request rate.

wrk (Debian's package) keeps N connections busy and reports requests/s and latency percentiles. A fixed rate
("200 requests a second") needs an open loop instead: requests leave on a schedule whether or not the
previous ones have been answered, and each latency is counted from the moment the request was due, so a
stalled server shows as the delay travellers would see (no coordinated omission).
"""

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.stack import BASE_DIR, LOAD_CPUS, pinned
from kernel import process

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "requests.lua"


@dataclass
class Run:
    """One measured run: requests/s and latencies (seconds) as percentiles, plus what went wrong."""

    requests: int
    seconds: float
    percentiles: dict[float, float]  # quantile (0-100) → seconds
    errors: int = 0
    statuses: Counter = field(default_factory=Counter)
    cpu: dict[str, float] | None = None  # CPU seconds by kind of process over the run, when it was metered
    # What the machine did meanwhile (bench/cpu.machine_counters: reclaim, the hypervisor's steal), warm-up included.
    machine: dict[str, float] | None = None

    def cpu_per_request(self) -> dict[str, float]:
        """CPU milliseconds per request by kind of process (a metered run)."""
        return {kind: seconds * 1000 / self.requests for kind, seconds in (self.cpu or {}).items()}

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, quantile: float) -> float:
        return self.percentiles[quantile]


def request_lines(lines: list[str], folder: Path) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=folder, delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    return Path(handle.name)


def wrk(base_url: str, requests_file: Path, *, seconds: float, connections: int, timeout: float = 10) -> Run:
    """Closed loop: `connections` connections, one wrk thread, on the load generator's CPU."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(seconds, 1):.0f}s", f"--timeout={timeout:.0f}s"]
    command = pinned([*command, "-s", str(WRK_SCRIPT), base_url, "--", str(requests_file)], LOAD_CPUS)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((text for text in out.splitlines() if text.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    data = json.loads(line[len("BENCH ") :])
    errors = data["errors"]
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        percentiles={float(q): us / 1e6 for q, us in data["latency_us"]["percentiles"].items()},
        errors=sum(errors.values()),
        statuses=Counter({"non-2xx": errors["status"]}) if errors["status"] else Counter(),
    )


# --- an open loop, in asyncio --------------------------------------------------------------------


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.used = False  # answered a request already: the server may have closed it since

    async def exchange(self, raw: bytes) -> tuple[int, bool]:
        """Send one request, read the whole answer: (status, whether the connection may be used again)."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self.reader.read()
            return status, False
        return status, headers.get("connection") != "close"

    def close(self) -> None:
        self.writer.close()


def http_request(method: str, url: str, *, body: bytes = b"", headers: dict | None = None) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _open_loop(url: str, make_request, rate: float, seconds: float, max_connections: int) -> Run:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(max_connections)
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors = 0

    async def one(raw: bytes, due: float) -> None:
        nonlocal errors
        async with slots:
            conn = idle.pop() if idle else None
            try:
                try:
                    conn = conn or _Connection(*await asyncio.open_connection(host, port))
                    status, reusable = await conn.exchange(raw)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    if conn is None or not conn.used or isinstance(exc, ConnectionRefusedError):
                        raise
                    # A kept-alive connection the server closed meanwhile: once more on a new one, as browsers do.
                    conn.close()
                    conn = _Connection(*await asyncio.open_connection(host, port))
                    status, reusable = await conn.exchange(raw)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors += 1
                if conn:
                    conn.close()
                return
            conn.used = True
            latencies.append(time.perf_counter() - due)
            statuses[status] += 1
            if reusable:
                idle.append(conn)
            else:
                conn.close()

    start = time.perf_counter()
    total = int(rate * seconds)
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(make_request(i), due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for conn in idle:
        conn.close()
    return Run(
        requests=len(latencies),
        seconds=elapsed,
        percentiles=percentiles(latencies),
        errors=errors,
        statuses=statuses,
    )


def open_loop(url: str, make_request, *, rate: float, seconds: float, max_connections: int = 64) -> Run:
    """`make_request(i)` answers the raw bytes of request i; requests leave at `rate` a second for `seconds`."""
    return asyncio.run(_open_loop(url, make_request, rate, seconds, max_connections))


# What `ApartLoad` names its own CPU in the Run it answers.
LOAD_CPU = "the load"


class ApartLoad:
    """`open_loop` over `requests` (request i is `requests[i % len(requests)]`), run by a process of its own on the
    load generator's CPUs. In the bench's process the client's work at hundreds of requests a second holds the GIL
    the process's other threads need — the probes stamping and sending their tasks (figure 8), the stand-ins for
    Stripe and the mail server that the workers call — so their waits for it would be counted as the stack's.

    `start()` returns once the process is ready to send (its interpreter started, the requests read), so what is
    measured alongside starts with the load; `result()` waits for its end."""

    def __init__(self, url: str, requests: list[bytes], *, rate: float, seconds: float, max_connections: int = 64):
        self.job = {
            "url": url,
            "requests": [raw.decode("latin-1") for raw in requests],
            "rate": rate,
            "seconds": seconds,
            "max_connections": max_connections,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "ApartLoad":
        command = pinned([sys.executable, "-m", "bench.load"], LOAD_CPUS)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=BASE_DIR
        )
        self.process.stdin.write(json.dumps(self.job))
        self.process.stdin.close()
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the load generator did not start: {self.process.stderr.read()[-2000:]}")
        return self

    def result(self) -> Run:
        out = self.process.stdout.read()
        errors = self.process.stderr.read()
        if self.process.wait() != 0:
            raise RuntimeError(f"the load generator failed: {errors[-2000:]}")
        found = json.loads(out)
        return Run(
            requests=found["requests"],
            seconds=found["seconds"],
            percentiles={float(q): value for q, value in found["percentiles"].items()},
            errors=found["errors"],
            statuses=Counter({int(status): n for status, n in found["statuses"].items()}),
            cpu={LOAD_CPU: found["cpu_seconds"]},
        )


def open_loop_apart(url: str, requests: list[bytes], *, rate: float, seconds: float) -> Run:
    """`ApartLoad`, started and waited for."""
    return ApartLoad(url, requests, rate=rate, seconds=seconds).start().result()


def _run_job() -> None:
    """`ApartLoad`'s other side: the job as JSON on stdin; "ready" once read, then the Run as JSON on stdout."""
    job = json.load(sys.stdin)
    raws = [text.encode("latin-1") for text in job["requests"]]
    # What it has loaded is left out of its garbage collections: a full one (8–15 ms here) would stop the sending
    # and the reading, counted as the stack's latency for the requests due meanwhile.
    process.heap_frozen()
    print("ready", flush=True)
    began = time.process_time()
    run = open_loop(
        job["url"],
        lambda i: raws[i % len(raws)],
        rate=job["rate"],
        seconds=job["seconds"],
        max_connections=job["max_connections"],
    )
    json.dump(
        {
            "requests": run.requests,
            "seconds": run.seconds,
            "percentiles": run.percentiles,
            "errors": run.errors,
            "statuses": run.statuses,
            "cpu_seconds": time.process_time() - began,  # what the sending and reading took of the cores
        },
        sys.stdout,
    )


QUANTILES = (1, 5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 95, 97.5, 99, 99.5, 99.9)


def percentiles(values: list[float]) -> dict[float, float]:
    if not values:
        return {float(q): float("nan") for q in QUANTILES}
    if len(values) == 1:
        return {float(q): values[0] for q in QUANTILES}
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    return {float(q): cuts[min(int(q * 10) - 1, len(cuts) - 1)] if q * 10 >= 1 else min(values) for q in QUANTILES}


if __name__ == "__main__":
    _run_job()
