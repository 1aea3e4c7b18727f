"""The real processes the fault tests start and hurt: Celery workers (prefork, as deployed) and gunicorn.

Each runs in a process group of its own, as supervisord and Docker start them, so a test can signal the main
process alone (what a deploy sends), one pool process (what the OOM killer picks), or the whole group (a lost
host, or a supervisor told to stop the group).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from conftest import BASE_DIR, KEY_PREFIX, free_port


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it answers something true (which is returned); fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if answer := condition():
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g}s")
        time.sleep(interval)


def children_of(pid: int) -> list[int]:
    """Live child processes of `pid`, read from /proc (a pool's processes, for a prefork worker)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, …
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(entry.name))
    return children


class Process:
    """A subprocess in its own process group, with its output in a log file."""

    def __init__(self, command: list[str], *, env: dict, log: Path):
        self.log = log
        with log.open("w") as out:
            self.popen = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid = self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """To the main process only, as Docker's init and supervisord (stopasgroup=false) send it."""
        self.popen.send_signal(sig)

    def signal_group(self, sig: int) -> None:
        """To every process of the group: the main process and its children."""
        os.killpg(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group — a host lost — including children that outlived their main process."""
        with contextlib.suppress(ProcessLookupError):  # nobody left in the group
            self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def report(self, limit: int = 6000) -> str:
        return f"\n--- {self.log.name} ---\n{self.output()[-limit:]}"


class Worker(Process):
    """`celery -A maritime worker` with the prefork pool, as deployed."""

    def pool(self) -> list[int]:
        return children_of(self.pid)

    def wait_ready(self, timeout: float = 60) -> "Worker":
        wait_for(lambda: " ready." in self.output() or not self.alive(), timeout=timeout, what="worker ready")
        if not self.alive():
            raise AssertionError(f"the worker exited at start{self.report()}")
        return self


def start_worker(queues: str, *, env: dict, log: Path, name: str, concurrency: int = 1, include: str = "") -> Worker:
    """A prefork worker on `queues`, ready to consume; its node name is unique to this run. `include` names
    modules it imports at start (`-I`), as the fault tests load their own faults into a worker."""
    command = [sys.executable, "-m", "celery", "-A", "maritime", "worker", "-Q", queues]
    command += ["-n", f"{KEY_PREFIX}-{name}@%h", "--concurrency", str(concurrency), "--loglevel", "INFO"]
    command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    command += ["-I", include] if include else []
    return Worker(command, env=env, log=log).wait_ready()


class WebServer(Process):
    """gunicorn serving maritime.wsgi on a free port: the real HTTP stack, in processes of its own."""

    def __init__(self, *, env: dict, log: Path, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "gunicorn", "maritime.wsgi:application", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(workers), "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5"]
        command += ["--no-control-socket"]  # its default path is shared by every gunicorn of the user
        super().__init__(command, env=env, log=log)

    def wait_ready(self, timeout: float = 60) -> "WebServer":
        def answers() -> bool:
            if not self.alive():
                raise AssertionError(f"gunicorn exited at start{self.report()}")
            try:
                return requests.get(f"{self.url}/api/v1/ports", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, timeout=timeout, what="gunicorn answering", interval=0.2)
        return self

    def stop(self) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.wait(timeout=10)
        self.kill()
