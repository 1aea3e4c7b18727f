"""Concurrent travellers on real PostgreSQL: never more sold than there is."""

import fcntl
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.test import Client

from bookings.models import Booking
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from bookings.tests.factories import ADULT, request_data
from ferries.choices import Resource
from ferries.models import CapacityHold, SailingInventory
from ferries.party import Party
from ferries.services import capacity_hold
from ferries.tests.factories import VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 50
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 160}


@contextmanager
def one_storm_at_a_time():
    """PostgreSQL takes a hundred connections: two test processes' storms of fifty at once would exceed it."""
    with open(Path(tempfile.gettempdir()) / "maritime-tests-storm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def storm(data: dict, attempts: int = ATTEMPTS) -> Counter:
    """`attempts` travellers ask for the same places at the same moment, each on its own connection."""
    with one_storm_at_a_time():
        return _storm(data, attempts)


def _storm(data: dict, attempts: int) -> Counter:
    start = threading.Barrier(attempts)
    outcomes = Counter()
    lock = threading.Lock()

    def traveller():
        start.wait()
        try:
            booking_create(request=parse_booking_request(data))
            outcome = "held"
        except ValidationError as error:
            outcome = next(iter(error.message_dict.values()))[0].split(":")[0]
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=traveller) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def live_holds_total(sailing, resource: str) -> int:
    holds = CapacityHold.objects.filter(sailing=sailing).exclude(status=CapacityHold.Status.RELEASED)
    return sum(hold.quantities.get(resource, 0) for hold in holds)


def test_fifty_travellers_for_the_last_five_places_get_exactly_five_holds():
    sailing = sailing_factory(vessel=VesselFactory(passenger_capacity=100))
    capacity_hold(sailing=sailing, party=Party(adults=95), minutes=20)  # a group: 95 of 100 taken

    outcomes = storm(request_data(sailing, passengers=[ADULT]))

    assert outcomes == {"held": 5, "Sold out": ATTEMPTS - 5}
    row = SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS)
    assert row.taken == row.capacity == live_holds_total(sailing, Resource.PASSENGERS) == 100
    assert Booking.objects.count() == 5


def test_fifty_cars_for_the_last_five_lanes_get_exactly_five_holds():
    sailing = sailing_factory(vessel=VesselFactory(passenger_capacity=500, lane_metres=25))  # 5 × (450 + 50) cm

    outcomes = storm(request_data(sailing, passengers=[ADULT], vehicle=CAR))

    assert outcomes == {"held": 5, "Sold out": ATTEMPTS - 5}
    lane = SailingInventory.objects.get(sailing=sailing, resource=Resource.LANE_CM)
    assert lane.taken == lane.capacity == live_holds_total(sailing, Resource.LANE_CM) == 2500
    assert SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken == 5
    assert Booking.objects.aggregate(Sum("total_minor"))["total_minor__sum"] == 5 * (10000 + 15000)


def test_parties_with_a_car_and_a_trailer_at_once_never_take_more_lane_than_there_is(tunis_marseille):
    from bookings.tests.test_several_vehicles import CAR_AND_TRAILER_CM, TRAILER, sailing_with_lanes

    sailing = sailing_with_lanes(tunis_marseille, lane_metres=20)  # room for two parties of 9.5 m, not three

    outcomes = storm(request_data(sailing, passengers=[ADULT], vehicles=[CAR, TRAILER]), attempts=8)

    assert outcomes == {"held": 2, "Sold out": 6}
    lane = SailingInventory.objects.get(sailing=sailing, resource=Resource.LANE_CM)
    assert lane.taken == live_holds_total(sailing, Resource.LANE_CM) == 2 * CAR_AND_TRAILER_CM
    assert Booking.objects.count() == 2


def test_two_tabs_of_one_browser_sending_the_same_details_at_once_hold_the_places_once(tunis_marseille):
    from bookings.tests.test_website import details, details_url, sailing_at

    sailing = sailing_at(tunis_marseille)
    first_tab = Client()
    first_tab.get(details_url(sailing))  # the browser's session, shared by its tabs
    second_tab = Client()
    second_tab.cookies = first_tab.cookies
    start = threading.Barrier(2)
    answers = []

    def send(tab: Client) -> None:
        start.wait()
        try:
            answers.append(tab.post(details_url(sailing), details()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(tab,)) for tab in (first_tab, second_tab)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [302, 302]
    assert answers[0].url == answers[1].url
    assert Booking.objects.count() == 1
    assert SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken == 1
