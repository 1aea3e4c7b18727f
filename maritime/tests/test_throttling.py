"""API rate limits on the real Redis cache — and what each limit does while Redis is down."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.tests.factories import held_booking, request_data
from ferries.tests.factories import sailing_factory
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
