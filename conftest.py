"""Test-wide setup: real PostgreSQL and Redis, isolated per run.

Every run gets its own test database name and its own Redis key prefix (cache and broker), so runs
side by side never see each other's data, and cleanup deletes only this run's keys. Under pytest-xdist
(`make test` runs `-n 2`) each worker process is a run of its own in that sense: its own database
(`test_maritime_<run><worker>`) and its own key prefix, handed on to the Celery workers it starts.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

pytest_plugins = ["ferries.tests.fixtures"]

RUN_ID = os.environ.get("MARITIME_TEST_RUN_ID") or secrets.token_hex(4)
# xdist names the worker before this module is imported in it; a shared MARITIME_TEST_RUN_ID stays apart per worker.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
KEY_PREFIX = f"test-{RUN_ID}{XDIST_WORKER}"
# xdist's workers must collect the same tests in the same order, and some tests are parametrized from sets: the
# workers, started after this module is imported in the controller, share a hash seed drawn once per run.
if not XDIST_WORKER:
    os.environ.setdefault("PYTHONHASHSEED", str(secrets.randbelow(2**32)))
BASE_DIR = Path(__file__).resolve().parent


def pytest_configure(config):
    from django.conf import settings

    from maritime.celery import app as celery_app

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not settings.REDIS_URL:
        pytest.exit(
            "The tests run against real PostgreSQL and Redis: use `make test`, "
            "or set DATABASE_URL, REDIS_URL and CELERY_BROKER_URL.",
            returncode=2,
        )
    # Django's own advice for test suites: a fast hasher. Production keeps PBKDF2 (0.66 s a hash here), which
    # made every test that signs a user in spend most of its time hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Calls to the operator simulator are not paced in the tests' own process (a return trip would wait a second
    # between its two confirmations); ferries/tests/test_operator_pacing.py sets the production pace. Workers and
    # commands started by the tests keep it.
    settings.OPERATOR_WRITES_PER_MINUTE = 60_000
    settings.CACHES["default"]["KEY_PREFIX"] = f"{KEY_PREFIX}:cache"
    transport_options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{KEY_PREFIX}:broker:"}
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = transport_options
    celery_app.conf.broker_transport_options = transport_options
    # Child processes (workers, commands) read the same prefixes from the environment.
    os.environ["CACHE_KEY_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]
    os.environ["CELERY_BROKER_KEY_PREFIX"] = transport_options["global_keyprefix"]


def pytest_unconfigure(config):
    from django.conf import settings

    for url in {settings.REDIS_URL, settings.CELERY_BROKER_URL} - {""}:  # none when the run stopped at the start
        delete_keys(redis.Redis.from_url(url), f"{KEY_PREFIX}:*")


def delete_keys(client: redis.Redis, pattern: str) -> int:
    """Delete the keys matching `pattern` with SCAN (never KEYS, never FLUSHDB)."""
    deleted = 0
    for key in client.scan_iter(match=pattern, count=500):
        deleted += client.delete(key)
    return deleted


# What migrations make and no test changes: content types and permissions (with their ids, which stay put).
KEPT_BY_FLUSH = frozenset({"django_content_type", "auth_permission", "django_migrations"})


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """Tests that commit (`transaction=True`, live servers, workers) are followed by Django's flush, which empties
    every table with one TRUNCATE (0.42 s here whatever the tables hold, as PostgreSQL gives each of the 58 tables
    new files), then sends post_migrate to make the content types and permissions again (0.2 s). Here it deletes
    the rows of every table but KEPT_BY_FLUSH in one round trip (3 ms), and the content types and permissions,
    never deleted, need no making again. Same result: every other table empty, sequences left as they are (Django's
    flush after a test does not reset them either), foreign keys checked at commit."""
    from django.core.management.commands import flush
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences:
            return truncate(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        delete = style.SQL_KEYWORD("DELETE FROM")
        return ["\n".join(f"{delete} {style.SQL_FIELD(self.quote_name(t))};" for t in tables if t not in KEPT_BY_FLUSH)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        patch.setattr(flush, "emit_post_migrate_signal", lambda *args, **kwargs: None)
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_maritime_{RUN_ID}{XDIST_WORKER}"


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts with an empty cache: this run's keys only, deleted by pattern; and with no rate-limit places
    set aside in this process by an earlier test (kernel.throttling's `CountedAhead`)."""
    from django.core.cache import cache

    from kernel.throttling import forget_outage

    cache.delete_pattern("*")
    forget_outage()


@pytest.fixture(autouse=True)
def _documents_of_the_test(settings, tmp_path):
    """Each test keeps its PDFs in a folder of its own: numbers and references of other runs' databases repeat."""
    settings.STORAGES = {**settings.STORAGES, "documents": {**settings.STORAGES["documents"], "OPTIONS": {
        "location": tmp_path / "documents"}}}  # fmt: skip


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request a test sent in French (Accept-Language) leaves
    French active in its thread, and code a later test runs outside a request would speak it."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


class BrokerProbe:
    """Reads this run's queues straight from the broker's Redis database."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.prefix = f"{KEY_PREFIX}:broker:"

    def queue_length(self, queue: str) -> int:
        return self.client.llen(self.prefix + queue)

    def purge(self) -> None:
        delete_keys(self.client, self.prefix + "*")

    def idle(self) -> bool:
        """No message waiting in a queue and none taken but unacknowledged (tasks acknowledge late, so a task
        running or waiting for its retry countdown is still in `unacked`): no worker has anything left to do.
        Redis drops a list or hash once it is empty, so a key of either kind means work."""
        if self.client.exists(self.prefix + "unacked"):
            return False
        return not any(self.client.type(key) == b"list" for key in self.client.scan_iter(match=self.prefix + "*"))


@pytest.fixture
def broker():
    """The broker's Redis, as seen by this run; its queues are emptied before and after the test."""
    from django.conf import settings

    probe = BrokerProbe(redis.Redis.from_url(settings.CELERY_BROKER_URL))
    probe.purge()
    yield probe
    probe.purge()


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Wait for `condition()` to come true and return what it returned; fail the test naming `what` if it has
    not within `timeout` seconds. The timeout bounds a test that would otherwise hang: it is not a speed, so
    give it room (a slow shared machine must not fail the test), and never wait a fixed time instead."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_of_test_db() -> str:
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, broker, tmp_path):
    """Starts real `celery -A maritime worker` processes on the test database and this run's broker keys.

    Usage: `celery_worker_process("emails,default")`; the workers stop at the end of the test.
    """
    started: list[tuple[subprocess.Popen, Path]] = []
    env = {**os.environ, "DATABASE_URL": database_url_of_test_db(), "DATABASE_CONN_MAX_AGE": "0"}

    def start(queues: str, **extra_env: str) -> subprocess.Popen:
        log = tmp_path / f"worker-{len(started)}.log"
        name = f"{KEY_PREFIX}-{len(started)}@%h"
        command = [sys.executable, "-m", "celery", "-A", "maritime", "worker", "-Q", queues, "-n", name]
        command += ["--pool", "solo", "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
        with log.open("w") as out:
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env={**env, **extra_env}, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, log))
        return process

    yield start
    for process, _log in started:  # all asked at once: each warm shutdown takes a second or two
        process.send_signal(signal.SIGTERM)
    for process, log in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sys.stdout.write(f"\n--- {log.name} ---\n{log.read_text()[-4000:]}")


class PrivateRedis:
    """A Redis server of a test's own, on a free port, that the test may stop and start again."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.started = False  # once started, it keeps its port

    # Nothing kept on disk: a restart loses what was in it, as the machine's Redis here does.
    persistence = ("--save", "", "--appendonly", "no")

    def start(self) -> None:
        """Start it; on its first start, on another free port should another server have taken this one meanwhile
        (another test run's, say): a test must never count or flush what another Redis holds. Started again, it
        keeps its port, or fails."""
        for _attempt in range(5):
            if self._serving():
                self.started = True
                return
            if self.started:
                raise RuntimeError(f"port {self.port} was taken while the test's Redis was stopped")
            self.port = free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
        raise RuntimeError("no free port for the test's Redis")

    def _serving(self) -> bool:
        """Whether the server started now is the one answering on its port (False: another was, and this one left)."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", *self.persistence]
        self.process = subprocess.Popen(command, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.info("server")["process_id"] == self.process.pid:
                        return True
                    self.process.kill()  # another server's port: this one could not bind it
                    self.process.wait(timeout=10)
                    return False
                except redis.ConnectionError:
                    if self.process.poll() is not None:
                        return False  # it could not start on this port
                    if time.monotonic() > deadline:
                        self.process.kill()
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    # The Popen-like names the first tests used.
    def terminate(self) -> None:
        self.stop()

    def wait(self, timeout: float | None = None) -> None:
        if self.process:
            self.process.wait(timeout=timeout)


@pytest.fixture
def private_redis_server(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def eager_tasks(monkeypatch):
    """Run enqueued tasks in this process, as the embedded default does (the queues are tested on their own)."""
    from maritime.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)


@pytest.fixture
def broker_at(monkeypatch):
    """Point Celery at another broker for the rest of the test: `broker_at(url)`."""
    from maritime.celery import app as celery_app

    def point(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery reads the variable before its own setting
        monkeypatch.setitem(celery_app.conf, "broker_url", url)
        _forget_broker_connections(celery_app)

    yield point
    monkeypatch.undo()
    _forget_broker_connections(celery_app)


def _forget_broker_connections(app) -> None:
    from kombu import pools

    pools.reset()  # kombu keeps producer pools per broker URL, process-wide
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.fail(f"Browser tests need Chromium at {executable} (Debian package `chromium`; .ci/run installs it).")
    # Playwright's sync API keeps an event loop in this thread; Django's ORM guard would refuse the test's own
    # database calls while it lives. The live server runs in its own thread and is unaffected.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    args += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A browser tab on the live server. Anything the Content-Security-Policy blocked fails the test: a page
    that relied on it (an inline script, a style, another origin) would be broken for travellers."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    blocked = []
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
    yield page
    context.close()
    assert blocked == [], "the Content-Security-Policy blocked part of a page"
