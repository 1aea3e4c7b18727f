"""Fixtures of the ferry network, shared by every app's tests (loaded by the root conftest)."""

import datetime as dt
import threading

import pytest
from django_redis import get_redis_connection

from conftest import wait_until
from ferries.cache import cache_service
from ferries.operators.simulator import OperatorSimulator, make_server
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, sailing_factory
from kernel import redis_lane


@pytest.fixture(autouse=True)
def _cache_remembers_no_outage():
    """A test that took Redis away must not leave later tests searching without the cache."""
    cache_service.forget_failures()
    yield
    cache_service.forget_failures()


@pytest.fixture
def operator_simulator(transactional_db):
    """Starts operator simulators (real HTTP servers in threads) on free ports.

    `operator_simulator(latency=…, error_rate=…, fail_first=…)` answers the simulator; its API for
    operator CODE is at `sim.url_for("CODE")`.
    """
    servers = []

    def start(**options) -> OperatorSimulator:
        app = OperatorSimulator(**options)
        server = make_server(app)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        app.url_for = lambda code: f"http://127.0.0.1:{server.server_port}/{code}"
        servers.append(server)
        return app

    yield start
    for server in servers:
        server.get_app().close()  # a request still waiting out its latency (its caller gave up) reads nothing now
        wait_until(lambda s=server: s.get_app().in_flight == 0, timeout=30, what="the simulator's requests finished")
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_operator(db):
    return OperatorFactory(code="LOC", name="Local Lines")


@pytest.fixture
def tunis_marseille(local_operator):
    """The route TNTUN → FRMRS of a local-inventory operator."""
    return RouteFactory(
        operator=local_operator, origin=PortFactory(code="TNTUN"), destination=PortFactory(code="FRMRS")
    )


@pytest.fixture
def marseille_tunis(local_operator):
    """The way back of `tunis_marseille`."""
    return RouteFactory(
        operator=local_operator, origin=PortFactory(code="FRMRS"), destination=PortFactory(code="TNTUN")
    )


@pytest.fixture
def trip(tunis_marseille, marseille_tunis):
    """Tunis ⇄ Marseille: a return trip ("out" in 10 days, "back" in 14) and, for changes, another sailing each
    way two days later ("later_out", "later_back")."""
    return {
        "out": sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10)),
        "back": sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14)),
        "later_out": sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=12)),
        "later_back": sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=16)),
    }


@pytest.fixture
def round_trips(monkeypatch):
    """Round trips to the cache's Redis, counted at the real connection: each sends its commands at once. The
    process's connection on which Redis tells of the answers' changes, and this thread's connection for the request
    path's round trips, are made first (each once per process, with its greeting: not the test's to count)."""
    cache_service.told_of_changes()
    client = get_redis_connection("default")
    redis_lane.round_trip(client, [("PING",)])
    connection_class = client.connection_pool.connection_class
    sent = []
    send = connection_class.send_packed_command

    def counted(self, command, *args, **kwargs):
        sent.append(command)
        return send(self, command, *args, **kwargs)

    monkeypatch.setattr(connection_class, "send_packed_command", counted)
    return sent


def commands_in(round_trip) -> list[str]:
    """The names of the commands a round trip (`round_trips`' item: RESP, as bytes or as their chunks) sent."""
    return [command[0].decode().upper() for command in commands_sent(round_trip)]


def commands_sent(round_trip) -> list[list[bytes]]:
    """The commands a round trip (`round_trips`' item) sent, each as its name and arguments."""
    sent = round_trip if isinstance(round_trip, bytes) else b"".join(round_trip)
    commands, at = [], 0
    while at < len(sent):
        assert sent[at : at + 1] == b"*", "a command is an array"
        end = sent.index(b"\r\n", at)
        count, at = int(sent[at + 1 : end]), end + 2
        command = []
        for _i in range(count):
            end = sent.index(b"\r\n", at)
            size = int(sent[at + 1 : end])
            command.append(sent[end + 2 : end + 2 + size])
            at = end + 2 + size + 2
        commands.append(command)
    return commands
