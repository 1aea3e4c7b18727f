"""API rate limits on the real Redis cache — and what each limit does while Redis is down."""

import datetime as dt

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection
from rest_framework.request import Request
from rest_framework.test import APIClient
from rest_framework.throttling import BaseThrottle

from bookings.access import access_token
from bookings.tests.factories import held_booking, request_data
from ferries.tests.factories import sailing_factory
from kernel import throttling
from kernel.throttling import forget_outage

pytestmark = pytest.mark.django_db

PORTS = "/api/v1/ports"
SEARCH = "/api/v1/sailings/search"
BOOKINGS = "/api/v1/bookings"


@pytest.fixture(autouse=True)
def _no_outage_remembered():
    forget_outage()
    yield
    forget_outage()


@pytest.fixture
def rates(settings):
    """`rates(anon="3/minute", …)`: the API's rates for this test; unnamed ones are high enough not to matter."""

    def set_rates(**given: str) -> None:
        everything = {"anon": "1000/minute", "user": "1000/minute", "booking_create": "1000/hour"}
        everything |= {"payment_start": "1000/hour", "promo_code": "1000/hour", "travel_alert": "1000/hour", **given}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": everything}

    return set_rates


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing there


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def booking_request(tunis_marseille):
    return request_data(sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10)))


def search_params() -> dict:
    return {"from": "TNTUN", "to": "FRMRS", "date": (dt.date.today() + dt.timedelta(days=10)).isoformat()}


def test_a_client_over_the_rate_is_answered_429_and_told_when_to_come_back(api, rates):
    rates(anon="3/minute")

    answers = [api.get(PORTS).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert 0 < int(api.get(PORTS)["Retry-After"]) <= 60


def test_each_address_has_an_allowance_of_its_own_that_a_forwarded_for_header_does_not_renew(api, rates):
    rates(anon="2/minute")
    for _ in range(2):
        api.get(PORTS, REMOTE_ADDR="203.0.113.7")

    assert api.get(PORTS, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert api.get(PORTS, REMOTE_ADDR="203.0.113.8").status_code == 200


def test_booking_is_limited_more_strictly_than_reading(api, rates, booking_request):
    rates(booking_create="2/hour")

    answers = [api.post(BOOKINGS, booking_request, format="json").status_code for _ in range(3)]

    assert answers == [201, 201, 429]
    assert api.get(PORTS).status_code == 200


def test_starting_a_payment_is_limited_more_strictly_than_reading(api, rates, eager_tasks):
    rates(payment_start="2/hour")
    booking = held_booking()
    headers = {"HTTP_X_BOOKING_TOKEN": access_token(booking)}

    answers = [api.post(f"{BOOKINGS}/{booking.reference}/payment", **headers).status_code for _ in range(3)]

    assert answers == [201, 201, 429]
    assert api.get(f"{BOOKINGS}/{booking.reference}", **headers).status_code == 200


def test_with_redis_down_searching_stays_open_past_the_rate(api, rates, redis_down, tunis_marseille, caplog):
    rates(anon="2/minute", user="2/minute")

    answers = [api.get(SEARCH, search_params()).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 200]
    assert "rate limits: cache unavailable" in caplog.text


def test_with_redis_down_booking_is_still_limited_within_the_web_process(api, rates, redis_down, booking_request):
    rates(booking_create="2/hour")

    answers = [api.post(BOOKINGS, booking_request, format="json").status_code for _ in range(3)]

    assert answers == [201, 201, 429]


def test_requests_let_through_by_the_process_on_its_own_are_counted_in_redis_and_the_limit_holds(
    api, rates, round_trips
):
    rates(anon="40/minute")

    answers = [api.get(PORTS).status_code for _ in range(45)]

    assert answers == [200] * 40 + [429] * 5
    # Redis asked at the first two requests, then each time the places it set aside for the process (twice the
    # requests since the last asking, an eighth of what was left at most) were used: 19 round trips for the 40 let
    # through, one for each refusal (always Redis's).
    assert len(round_trips) == 19 + 5
    window = get_redis_connection("default").zrange(cache.make_key("throttle_anon_127.0.0.1:window"), 0, -1)
    assert len(window) == 40


def test_web_processes_taking_turns_let_a_client_through_no_more_than_its_limit(api, rates, monkeypatch):
    rates(anon="64/minute")
    processes = [throttling.CountedAhead() for _ in range(8)]

    answers = []
    for n in range(120):
        monkeypatch.setattr(throttling, "_ahead", processes[n % 8])
        answers.append(api.get(PORTS).status_code)
    for process in processes:
        monkeypatch.setattr(throttling, "_ahead", process)
        throttling.send_counted_ahead()

    # Each process lets the client through on places Redis set aside for it: the limit is never passed.
    assert answers.count(200) == 64
    window = get_redis_connection("default").zcard(cache.make_key("throttle_anon_127.0.0.1:window"))
    assert window == answers.count(200)


def test_a_window_of_another_kind_is_counted_afresh_and_the_limits_hold_in_redis(api, rates, caplog):
    rates(anon="3/minute")
    window = cache.make_key("throttle_anon_127.0.0.1:window")
    get_redis_connection("default").rpush(window, "not a window")  # made by hand, say: ZSET commands meet WRONGTYPE

    answers = [api.get(PORTS).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]  # counted in Redis, afresh
    assert get_redis_connection("default").type(window) == b"zset"
    assert "cache unavailable" not in caplog.text


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "client"),
    [
        (0, None, "203.0.113.7"),
        (0, "198.51.100.1", "203.0.113.7"),  # no proxy trusted: the header is the client's own word
        (1, None, "203.0.113.7"),
        (1, "198.51.100.1, 192.0.2.9", "192.0.2.9"),  # the hop our proxy saw
        (2, " 198.51.100.1 ,192.0.2.9 , 192.0.2.10 ", "192.0.2.9"),
        (3, "198.51.100.1", "198.51.100.1"),  # fewer hops than proxies: the first
        (None, "198.51.100.1, 192.0.2.9", "198.51.100.1,192.0.2.9"),  # DRF's default: the whole header
        (None, "", "203.0.113.7"),
    ],
)
def test_the_client_is_told_by_its_address_as_drf_tells_it(settings, rf, num_proxies, forwarded_for, client):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    request = rf.get(PORTS, REMOTE_ADDR="203.0.113.7", **headers)

    ours = throttling.AnonThrottle().get_ident(request)

    assert "headers" not in request.__dict__  # read from META: no copy of every header made for it
    assert ours == client
    assert ours == BaseThrottle().get_ident(Request(request))  # DRF's own, which reads request.headers
