"""Servers of a test's own, that it may stop and start: a PostgreSQL cluster and a Redis that keeps an
append-only file. The machine's shared PostgreSQL and Redis are never restarted: other runs use them."""

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import redis

from conftest import BASE_DIR, PrivateRedis, free_port


def _postgres_bin(name: str) -> str:
    """The newest installed version's program (Debian keeps each version under /usr/lib/postgresql/N)."""
    installed = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    found = sorted(installed, key=lambda path: float(Path(path).parts[4])) or [shutil.which(name)]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (/usr/lib/postgresql/*/bin)")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on a free port, run by the `postgres` OS user.

    PostgreSQL refuses to run as root, and CI runs the tests as root: the cluster's files belong to
    `postgres` and its commands run through `runuser` when needed.
    """

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="maritime-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> "PrivatePostgres":
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Mode "fast" ends every session at once, rolling back their transactions, as a restart does."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def migrate(self, database: str, env: dict) -> None:
        """The project's migrations, as a release runs them (`manage.py migrate`)."""
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=BASE_DIR, env={**env, "DATABASE_URL": self.url(database)}, check=True, timeout=180,
        )  # fmt: skip

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_postgres, *command], check=True, capture_output=True, timeout=120)


class DurableRedis(PrivateRedis):
    """A private Redis that writes every command to an append-only file, as docker-compose's broker does."""

    persistence = ("--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", ".")


def unacked_age_by(client: redis.Redis, prefix: str, seconds: float) -> int:
    """Make the messages workers took but never acknowledged look `seconds` older to the broker.

    Redis keeps each delivered message in `unacked` with its delivery time in the sorted set `unacked_index`;
    any worker's connection gives back to its queue a message older than the visibility timeout (at its start,
    then every few minutes). Moving the delivery time back is how a test lets that timeout pass without waiting.
    """
    key = f"{prefix}unacked_index"
    entries = client.zrange(key, 0, -1, withscores=True)
    for member, score in entries:
        client.zadd(key, {member: score - seconds})
    return len(entries)
