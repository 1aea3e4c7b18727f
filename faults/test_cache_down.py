"""Fault 4 — the cache's Redis stops answering: search and booking go on, /healthz names the cache, nothing hangs.

gunicorn reaches the cache through a path of the test's own in front of the real Redis, which then either
swallows every byte without a word ("blackhole": a hung server or a partition, where only a socket timeout ends
the wait) or refuses connections ("refuse": Redis stopped). Every request is made with a client timeout of a
few seconds: a hang guard, not a speed claim. The cache's socket timeout (REDIS_SOCKET_TIMEOUT, 0.5 s) is what
keeps a silent Redis from holding requests: without it the blackhole holds them for ever.
"""

import time
from urllib.parse import urlsplit

import pytest
import requests

from bookings.models import Booking
from bookings.tests.factories import request_data
from faults.processes import wait_for
from faults.stand_ins import FaultyPath
from ferries.models import Sailing
from ferries.tests.factories import sailing_factory

pytestmark = [pytest.mark.django_db(transaction=True)]

CLIENT_TIMEOUT = 10  # seconds: far above the cache's socket timeout (0.5 s), far below "hung"


@pytest.fixture
def cache_path(settings):
    """A path to the cache's Redis whose behaviour the test chooses; `cache_path.url(db)` for REDIS_URL."""
    location = urlsplit(settings.REDIS_URL)
    path = FaultyPath(location.port or 6379)
    path.db = int(location.path.strip("/") or 0)
    yield path
    path.close()


class Traveller:
    """A traveller's requests to the site, each of which must come back within CLIENT_TIMEOUT."""

    def __init__(self, site):
        self.site = site
        self.took: list[tuple[str, float]] = []

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        try:
            response = requests.request(method, self.site.url + path, timeout=CLIENT_TIMEOUT, **kwargs)
        except requests.Timeout:
            raise AssertionError(f"{method} {path} did not answer within {CLIENT_TIMEOUT}s: it hung") from None
        self.took.append((f"{method} {path}", round(time.monotonic() - started, 2)))
        return response

    def search_and_book(self, sailing: Sailing) -> Booking:
        day = sailing.departs_at.astimezone(sailing.route.origin.tz).date().isoformat()
        query = {"from": "TNTUN", "to": "FRMRS", "date": day, "adults": "1"}
        page = self.request("GET", "/sailings/search", params=query)
        assert page.status_code == 200
        assert sailing.vessel.name in page.text
        found = self.request("GET", "/api/v1/sailings/search", params=query)
        assert found.status_code == 200
        assert [row["sailing_id"] for row in found.json()["outbound"]] == [sailing.pk]
        booked = self.request("POST", "/api/v1/bookings", json=request_data(sailing))
        assert booked.status_code == 201, booked.text
        reference, token = booked.json()["reference"], booked.json()["access_token"]
        shown = self.request("GET", f"/api/v1/bookings/{reference}", headers={"X-Booking-Token": token})
        assert shown.status_code == 200
        return Booking.objects.get(reference=reference)


@pytest.mark.parametrize("fault", ["blackhole", "refuse"])
def test_with_the_cache_unreachable_search_and_booking_go_on_and_healthz_names_the_cache(
    fault, cache_path, web, tunis_marseille
):
    sailing = sailing_factory(route=tunis_marseille)
    site = web(REDIS_URL=cache_path.url(cache_path.db))
    traveller = Traveller(site)
    assert traveller.request("GET", "/healthz").status_code == 200
    traveller.search_and_book(sailing)  # the cache in use: entries stored, connections pooled

    cache_path.set_mode(fault)
    # Twice: the first requests meet the fault, the next ones the back-off that follows it.
    booked = [traveller.search_and_book(sailing) for _ in range(2)]
    health = traveller.request("GET", "/healthz")

    assert health.status_code == 503
    assert health.json()["failing"] == ["cache"]
    assert {name: check["status"] for name, check in health.json()["checks"].items()} == {
        "database": "ok", "cache": "error", "broker": "ok",
    }  # fmt: skip
    assert all(booking.status == Booking.Status.HELD for booking in booked)
    assert sailing.inventory.get(resource="passengers").taken == 3

    cache_path.set_mode("pass")
    wait_for(lambda: traveller.request("GET", "/healthz").status_code == 200, timeout=30, what="healthz well again")
    print("requests and the seconds each took:", traveller.took)
