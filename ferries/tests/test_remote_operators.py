"""Remote operators through their HTTP API, played by the operator simulator on a real socket."""

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.cache import cache
from django.utils import timezone
from django_redis import get_redis_connection

from conftest import wait_until
from ferries.cache import PARTIAL_SEARCH_TTL, cache_service
from ferries.choices import Resource
from ferries.errors import OperatorError, OperatorRefused, OperatorTimeout
from ferries.models import CapacityHold, SailingInventory
from ferries.operators import adapter_for
from ferries.operators.base import LegOrder
from ferries.operators.http import HttpOperator
from ferries.operators.local import LocalInventoryOperator
from ferries.party import Extras, Party
from ferries.queries import SearchQuery, parse_search_query
from ferries.search import sailing_search
from ferries.tests.factories import OperatorFactory, RouteFactory, VesselFactory, local_time, sailing_factory

pytestmark = pytest.mark.django_db(transaction=True)


def leg(day: int):
    date = (timezone.now().date() + dt.timedelta(days=day)).isoformat()
    return parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": date, "adults": "2"}).outbound


def search(day: int = 10):
    return sailing_search(query=SearchQuery(outbound=leg(day)))


@pytest.fixture
def remote_route():
    return RouteFactory(operator=OperatorFactory(code="REM", name="Remote Lines"))


@pytest.fixture
def two_operators(tunis_marseille, remote_route):
    """A local sailing at 14:00 in ten days and a remote one at 13:00 the same day on the same port pair."""
    local = sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=10, hour=14))
    remote = sailing_factory(route=remote_route, departs_at=local_time(remote_route, days=10, hour=13))
    return local, remote


def test_remote_results_are_merged_with_local_ones_in_departure_order(operator_simulator, settings, two_operators):
    local, remote = two_operators
    simulator = operator_simulator(latency=0.05)
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}

    result = search()

    assert [row["sailing_id"] for row in result["outbound"]] == [remote.pk, local.pk]
    assert [row["operator"]["code"] for row in result["outbound"]] == ["REM", "LOC"]
    assert result["complete"] is True
    assert {op["code"]: op["status"] for op in result["operators"]} == {"LOC": "ok", "REM": "ok"}
    assert simulator.calls["search"] == 1
    assert result["outbound"][0]["price"] == {"amount_minor": 20000, "currency": "EUR"}


def test_a_slow_operator_is_left_out_and_flagged_without_waiting_for_it(operator_simulator, settings, two_operators):
    local, _remote = two_operators
    slow = operator_simulator(latency=5)
    settings.OPERATOR_API_URLS = {"REM": slow.url_for("REM")}
    settings.OPERATOR_TIMEOUT_SECONDS = 0.3

    result = search()

    assert [row["sailing_id"] for row in result["outbound"]] == [local.pk]
    assert result["complete"] is False
    assert {op["code"]: op["status"] for op in result["operators"]} == {"LOC": "ok", "REM": "timeout"}
    assert slow.calls["search"] == 0, "the answer came back before the slow operator even got to answer"


def test_a_slow_operator_is_flagged_late_even_when_its_request_gave_up_before_our_own_inventory_answered(
    operator_simulator, settings, two_operators, monkeypatch
):
    """The request runs out of the same time as the search's wait for it: on a busy machine it may be seen first."""
    local, _remote = two_operators
    slow = operator_simulator(latency=5)
    settings.OPERATOR_API_URLS = {"REM": slow.url_for("REM")}
    settings.OPERATOR_TIMEOUT_SECONDS = 0.3
    gave_up = threading.Event()
    ask_remote, ask_own = HttpOperator.search, LocalInventoryOperator.search_days

    def remote_then_tell(adapter, query):
        try:
            return ask_remote(adapter, query)
        finally:
            gave_up.set()

    def own_once_the_remote_gave_up(adapter, *args, **kwargs):
        found = ask_own(adapter, *args, **kwargs)
        assert gave_up.wait(timeout=30), "the remote operator's request did not end"
        return found

    monkeypatch.setattr(HttpOperator, "search", remote_then_tell)
    monkeypatch.setattr(LocalInventoryOperator, "search_days", own_once_the_remote_gave_up)

    result = search()

    assert [row["sailing_id"] for row in result["outbound"]] == [local.pk]
    assert result["complete"] is False
    assert {op["code"]: op["status"] for op in result["operators"]} == {"LOC": "ok", "REM": "timeout"}


def test_the_simulator_closed_refuses_at_once_a_request_waiting_out_its_latency_and_reads_nothing(
    operator_simulator, two_operators
):
    slow = operator_simulator(latency=60)
    answers = []
    url = slow.url_for("REM") + "/v1/search"
    caller = threading.Thread(target=lambda: answers.append(requests.post(url, json={}, timeout=120)))
    caller.start()
    wait_until(lambda: slow.in_flight == 1, timeout=10, what="the request waiting out the simulator's latency")

    slow.close()
    caller.join(timeout=30)

    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [(503, "closed")]
    assert slow.in_flight == 0
    assert slow.calls["search"] == 0  # refused before its route was read, let alone the database


def test_a_failing_operator_gives_partial_results_that_are_kept_only_briefly(
    operator_simulator, settings, two_operators
):
    local, _remote = two_operators
    failing = operator_simulator(error_rate=1.0)
    settings.OPERATOR_API_URLS = {"REM": failing.url_for("REM")}

    result = search()

    assert [row["sailing_id"] for row in result["outbound"]] == [local.pk]
    assert {op["code"]: op["status"] for op in result["operators"]} == {"LOC": "ok", "REM": "error"}
    assert failing.calls["requests"] == 3, "one try and two retries of a transient error"
    ttl = get_redis_connection("default").ttl(cache.make_key(cache_service.search_key(leg(day=10))))
    assert 0 < ttl <= PARTIAL_SEARCH_TTL


def test_a_transient_error_is_retried_and_the_search_succeeds(operator_simulator, settings, two_operators):
    flaky = operator_simulator(fail_first=2)
    settings.OPERATOR_API_URLS = {"REM": flaky.url_for("REM")}

    result = search()

    assert result["complete"] is True
    assert len(result["outbound"]) == 2
    assert flaky.calls["requests"] == 3


def test_an_operator_that_is_down_fails_fast_and_is_flagged(settings, two_operators):
    settings.OPERATOR_API_URLS = {"REM": "http://127.0.0.1:9/REM"}  # nothing listens on the discard port

    result = search()

    assert {op["code"]: op["status"] for op in result["operators"]} == {"LOC": "ok", "REM": "error"}


def test_a_request_that_runs_out_of_time_is_a_timeout_whether_it_may_be_retried_or_not(
    operator_simulator, settings, remote_route
):
    sailing = sailing_factory(route=remote_route)
    slow = operator_simulator(latency=5)
    settings.OPERATOR_TIMEOUT_SECONDS = 0.3
    adapter = HttpOperator(remote_route.operator, base_url=slow.url_for("REM"))

    with pytest.raises(OperatorTimeout) as searched:  # a search may be retried (not after a read timeout)
        adapter.search(leg(day=10))
    with pytest.raises(OperatorTimeout) as held:  # a hold never is
        adapter.hold(sailing_ref=sailing.ref, order=LegOrder(Party(adults=2)), minutes=20)

    assert [str(searched.value), str(held.value)] == ["REM: ReadTimeout", "REM: ReadTimeout"]


@pytest.fixture
def stalling_operator():
    """An operator API that sends its answer's headers and the start of its body, then nothing until the test ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop, connections = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            connections.append(connection)
            connection.settimeout(10)
            connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            connection.sendall(head + b'{"sail')  # 6 bytes of the 100

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/REM"
    stop.set()
    server.join(timeout=10)
    for connection in connections:
        connection.close()
    listener.close()


def test_an_answer_whose_body_stops_coming_is_a_timeout(settings, remote_route, stalling_operator):
    settings.OPERATOR_API_URLS = {"REM": stalling_operator}
    settings.OPERATOR_TIMEOUT_SECONDS = 0.3

    with pytest.raises(OperatorTimeout) as stalled:
        adapter_for(remote_route.operator).search(leg(day=10))

    assert str(stalled.value) == "REM: ReadTimeout"


def test_an_operator_that_is_down_is_an_error_not_a_timeout(remote_route):
    with pytest.raises(OperatorError) as down:
        HttpOperator(remote_route.operator, base_url="http://127.0.0.1:9/REM").search(leg(day=10))

    assert not isinstance(down.value, OperatorTimeout)
    assert str(down.value) == "REM: ConnectionError"


def test_hold_confirm_and_cancel_go_through_the_operator_api(operator_simulator, settings, remote_route):
    sailing = sailing_factory(route=remote_route)
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    adapter = adapter_for(remote_route.operator)
    assert isinstance(adapter, HttpOperator)

    hold = adapter.hold(sailing_ref=sailing.ref, order=LegOrder(Party(adults=2)), minutes=20)
    taken = SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken
    confirmation = adapter.confirm(hold.hold_ref)
    adapter.cancel(hold.hold_ref)
    adapter.cancel(hold.hold_ref)

    assert hold.price["total"] == {"amount_minor": 20000, "currency": "EUR"}
    assert taken == 2
    assert confirmation.startswith("C")
    assert CapacityHold.objects.get(ref=hold.hold_ref).status == CapacityHold.Status.RELEASED
    assert SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken == 0


def test_a_refusal_from_the_operator_keeps_its_reason(operator_simulator, settings, remote_route):
    vessel = VesselFactory(operator=remote_route.operator, passenger_capacity=1, accommodations={})
    sailing = sailing_factory(route=remote_route, vessel=vessel)
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}

    with pytest.raises(OperatorRefused) as refused:
        adapter_for(remote_route.operator).hold(sailing_ref=sailing.ref, order=LegOrder(Party(adults=2)), minutes=20)

    assert refused.value.code == "sold_out"
    assert CapacityHold.objects.count() == 0


def test_an_api_that_does_not_understand_us_is_an_operator_error_not_a_refusal(operator_simulator, remote_route):
    simulator = operator_simulator()

    with pytest.raises(OperatorError):
        HttpOperator(remote_route.operator, base_url=simulator.url_for("NOPE")).confirm("HXXXX")
    with pytest.raises(OperatorError):
        HttpOperator(remote_route.operator, base_url=simulator.url_for("REM") + "/wrong").availability(["X"])


def test_a_hold_whose_rules_are_not_whole_numbers_is_a_malformed_reply_not_a_hold(operator_simulator, remote_route):
    """A fraction of a percent would become a fraction of a cent in the refund: the reply is refused, naming it."""
    sailing = sailing_factory(route=remote_route)
    simulator = operator_simulator()
    reply = HttpOperator(remote_route.operator, base_url=simulator.url_for("REM"))
    price = reply.hold(sailing_ref=sailing.ref, order=LegOrder(Party()), minutes=20).price
    price["cancellation_policy"]["refund_partial_percent"] = 33.3
    body = json.dumps({"hold_ref": "H1", "expires_at": timezone.now().isoformat(), "price": price}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        operator = HttpOperator(remote_route.operator, base_url=f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(OperatorError, match=r"malformed hold reply.*refund_partial_percent"):
            operator.hold(sailing_ref=sailing.ref, order=LegOrder(Party()), minutes=20)
        server.shutdown()


def test_a_remote_operator_sells_each_fare_family_with_its_rules_and_holds_the_one_asked(
    operator_simulator, settings, remote_route
):
    sailing = sailing_factory(route=remote_route, departs_at=local_time(remote_route, days=10, hour=13))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}

    [row] = search()["outbound"]
    hold = adapter_for(remote_route.operator).hold(
        sailing_ref=sailing.ref, order=LegOrder(Party(adults=2), fare_family="flex"), minutes=20
    )

    assert [(fare["fare_family"]["code"], fare["price"]["amount_minor"]) for fare in row["fares"]] == [
        ("basic", 17000),
        ("standard", 20000),
        ("flex", 25000),
    ]
    assert row["fares"][0]["cancellation_policy"]["refund_full_days"] is None
    assert row["fares"][2]["change_policy"]["max_changes"] == 5
    assert (hold.quote.family["code"], hold.quote.total_minor) == ("flex", 25000)
    assert hold.quote.policy["refund_full_days"] == 1


def test_a_fare_family_the_remote_operator_does_not_sell_is_refused_and_nothing_is_held(
    operator_simulator, settings, remote_route
):
    sailing = sailing_factory(route=remote_route)
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}

    with pytest.raises(OperatorRefused) as refused:
        adapter_for(remote_route.operator).hold(
            sailing_ref=sailing.ref, order=LegOrder(Party(adults=1), fare_family="premium"), minutes=20
        )

    assert refused.value.code == "unknown_fare_family"
    assert CapacityHold.objects.count() == 0


def test_a_remote_operator_sells_extras_and_holds_priority_boarding_from_its_own_inventory(
    operator_simulator, settings, remote_route
):
    sailing = sailing_factory(route=remote_route, departs_at=local_time(remote_route, days=10, hour=13))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    order = LegOrder(Party(adults=2), extras=Extras(dinners=2, priority_boarding=True, protection=True))

    [row] = search()["outbound"]
    hold = adapter_for(remote_route.operator).hold(sailing_ref=sailing.ref, order=order, minutes=20)

    assert {extra["code"] for extra in row["extras"]} == {"meal:dinner", "meal:breakfast", "priority_boarding",
                                                          "protection"}  # fmt: skip
    lines = {line.code: line.quantity for line in hold.quote.lines}
    assert (lines["meal:dinner"], lines["priority_boarding"], lines["protection"]) == (2, 1, 2)
    assert hold.quote.total_minor == 20000 + 2 * 2500 + 1500 + 2 * 800
    priority = SailingInventory.objects.get(sailing=sailing, resource=Resource.PRIORITY_BOARDING)
    assert priority.taken == 1
