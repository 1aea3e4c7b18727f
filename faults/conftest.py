"""Fixtures of the fault tests: real workers, a real web server, and outside parts that misbehave on request.

Everything the root conftest gives (this run's database and Redis key prefixes, `broker`, `broker_at`,
`private_redis_server`) applies here too. Workers and web servers run on the test database, in process groups
of their own, and are killed at the end of the test whatever state it left them in.
"""

import os
import sys
import threading

import pytest

from conftest import database_url_of_test_db, free_port
from faults.processes import WebServer, start_worker, wait_for
from faults.servers import PrivatePostgres
from faults.stand_ins import SlowSmtpSink, SlowStripe, WatchedSimulator
from ferries.operators.simulator import make_server
from payments.tests.conftest import STRIPE_KEYS


def base_env(**extra: str) -> dict:
    """The environment of a child process: this run's prefixes (set by the root conftest), the test database."""
    return {**os.environ, "DATABASE_URL": database_url_of_test_db(), "DATABASE_CONN_MAX_AGE": "0", **extra}


def stripe_env(fake: SlowStripe) -> dict:
    # A stalled answer must outlast the kill, not time out first.
    return {**STRIPE_KEYS, "STRIPE_API_BASE": fake.url, "STRIPE_TIMEOUT": "60"}


def smtp_env(sink) -> dict:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.controller.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "60",
    }


@pytest.fixture
def workers(transactional_db, broker, tmp_path):
    """`workers("emails", name="a", concurrency=1, include="", **env)` starts a prefork worker and waits until it is
    ready."""
    started = []

    def start(queues: str, *, name: str, concurrency: int = 1, include: str = "", **env: str):
        log = tmp_path / f"worker-{name}.log"
        options = {"name": name, "concurrency": concurrency, "include": include}
        worker = start_worker(queues, env=base_env(**env), log=log, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
        sys.stdout.write(worker.report())


@pytest.fixture
def web(transactional_db, tmp_path):
    """`web(**env)` starts gunicorn on the test database and waits until it answers."""
    started = []

    def start(**env: str) -> WebServer:
        server = WebServer(env=base_env(**env), log=tmp_path / f"gunicorn-{len(started)}.log")
        started.append(server)
        return server.wait_ready()

    yield start
    for server in started:
        server.stop()
        sys.stdout.write(server.report())


@pytest.fixture
def slow_stripe(settings):
    """Stripe answered locally, slowed down on request; this process and the workers (`stripe_env`) use it."""
    fake = SlowStripe().start()
    for name, value in STRIPE_KEYS.items():
        setattr(settings, name, value)
    settings.STRIPE_API_BASE = fake.url
    settings.PAYMENTS_PROVIDER = "stripe"
    yield fake
    fake.stop()


@pytest.fixture
def smtp():
    """`smtp(delay=…, slow=…)`: a real SMTP server whose first `slow` messages wait `delay` s at RCPT TO."""
    sinks = []

    def start(*, delay: float = 0.0, slow: int = 0) -> SlowSmtpSink:
        sink = SlowSmtpSink(free_port(), delay=delay, slow=slow).start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of the test's own, initialised and started; destroyed at the end."""
    cluster = PrivatePostgres().init()
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def operator_api(transactional_db, settings, tunis_marseille):
    """Our operator `LOC`, reached over HTTP through the simulator, by this process and by the workers."""
    simulator = WatchedSimulator()
    server = make_server(simulator)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/{tunis_marseille.operator.code}"
    settings.OPERATOR_API_URLS = {tunis_marseille.operator.code: url}
    simulator.worker_env = {
        "OPERATOR_API_URLS": f"{tunis_marseille.operator.code}={url}",
        "OPERATOR_TIMEOUT_SECONDS": "15",
    }
    yield simulator
    # A request whose caller was killed still runs to its end, on this test's database: let it finish first.
    wait_for(lambda: simulator.in_flight == 0, timeout=30, what="the operator's requests finished")
    server.shutdown()
    server.server_close()
