"""Fault 7 — an overbooking storm: 200 holds at once over 10 sailings, from 20 processes, each with its own
connection to PostgreSQL; meanwhile some travellers cancel and some buy, giving places back or keeping them.

bookings/tests/test_races.py storms one sailing from threads of one process. Here separate processes, released
together by a barrier, book through the booking service as the website and the API do. What must hold: no
sailing is ever sold beyond its capacity, a refusal is a clean "sold out", and each sailing's counters equal
what its live holds and sales add up to — no place taken without a booking, none given back twice.
"""

import datetime as dt
import multiprocessing
import random
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from bookings import services
from bookings.models import Booking
from bookings.requests import parse_booking_request
from bookings.tests.factories import ADULT, request_data
from ferries.models import CapacityHold, Sailing, SailingInventory
from ferries.tests.factories import VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES = 20
HOLDS_EACH = 10
SAILINGS = 10
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 160}
# Small ships, so that the storm runs out of everything: 24 places, 3 cars (500 cm each), 8 seats, 3 cabins.
VESSEL = {"passenger_capacity": 24, "lane_metres": 15, "accommodations": {"seat": 8, "inside_2": 3}}
LIVE = [CapacityHold.Status.HELD, CapacityHold.Status.CONFIRMED]


def a_request(rng: random.Random, sailing: Sailing) -> dict:
    passengers = [dict(ADULT) for _ in range(rng.randint(1, 4))]
    vehicle = CAR if rng.random() < 0.3 else None
    return request_data(
        sailing, passengers=passengers, vehicle=vehicle, accommodation=rng.choice(["deck", "seat", "inside_2"])
    )


def then(rng: random.Random, booking: Booking) -> str:
    """What the traveller does next: keep the hold, cancel it (places back), or buy (the operator's sale)."""
    choice = rng.choice(["held", "cancelled", "sold"])
    if choice == "cancelled":
        services.booking_mark_cancelled(booking_id=booking.pk, actor="traveller", reason="storm")
    elif choice == "sold":
        services.booking_transition(booking_id=booking.pk, to=Booking.Status.PAID, actor="stripe", reason="storm")
        services.booking_confirm_with_operator(booking_id=booking.pk)
    return choice


def book(rng: random.Random, sailings: list[Sailing]) -> str:
    """One traveller's attempt, and what came of it."""
    try:
        booking = services.booking_create(request=parse_booking_request(a_request(rng, rng.choice(sailings))))
    except ValidationError as refusal:
        message = next(iter(refusal.message_dict.values()))[0]
        return "sold out" if message.startswith("Sold out") else f"refused: {message}"
    except Exception as exc:  # reported to the test, which fails naming it
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return then(rng, booking)


def traveller(seed: int, sailing_ids: list[int], start, results) -> None:
    """One process: waits for the others, then books HOLDS_EACH times on its own database connection."""
    rng = random.Random(seed)
    outcomes = []
    try:
        sailings = list(Sailing.objects.filter(pk__in=sailing_ids).select_related("route__operator"))
        start.wait(timeout=60)
        outcomes = [book(rng, sailings) for _ in range(HOLDS_EACH)]
    except Exception as exc:
        outcomes.append(f"error: {exc!r}")
    finally:
        connections.close_all()
        results.put(outcomes)


def storm(sailing_ids: list[int]) -> Counter:
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(PROCESSES), context.Queue()
    connections.close_all()  # each process opens its own connection
    processes = [context.Process(target=traveller, args=(n, sailing_ids, start, results)) for n in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = Counter()
    for _ in processes:
        outcomes.update(results.get(timeout=240))
    for process in processes:
        process.join(timeout=30)
    return outcomes


def live_total(sailing: Sailing, resource: str) -> int:
    holds = CapacityHold.objects.filter(sailing=sailing, status__in=LIVE)
    return sum(hold.quantities.get(resource, 0) for hold in holds)


def test_two_hundred_holds_at_once_from_twenty_processes_never_oversell_and_counters_add_up(tunis_marseille):
    sailings = [
        sailing_factory(
            route=tunis_marseille, vessel=VesselFactory(**VESSEL), departs_in=dt.timedelta(days=10, hours=n)
        )
        for n in range(SAILINGS)
    ]

    outcomes = storm([sailing.pk for sailing in sailings])
    print("outcomes:", dict(outcomes))

    assert set(outcomes) <= {"held", "cancelled", "sold", "sold out"}, outcomes
    assert sum(outcomes.values()) == PROCESSES * HOLDS_EACH
    assert outcomes["sold out"] > 0, "the storm never ran out of places: nothing was tested"
    assert outcomes["held"] + outcomes["sold"] > 0, outcomes
    for inventory in SailingInventory.objects.filter(sailing__in=sailings).select_related("sailing"):
        assert inventory.taken <= inventory.capacity, inventory
        assert inventory.taken == live_total(inventory.sailing, inventory.resource), inventory
    by_status = Counter(Booking.objects.values_list("status", flat=True))
    assert by_status == Counter(held=outcomes["held"], cancelled=outcomes["cancelled"], confirmed=outcomes["sold"])
    holds = Counter(CapacityHold.objects.values_list("status", flat=True))
    assert holds == Counter(held=outcomes["held"], released=outcomes["cancelled"], confirmed=outcomes["sold"])
