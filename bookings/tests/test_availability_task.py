"""The brief's availability check, asked before payment and answered by a real worker on the bookings queue."""

import pytest
from celery import Task

from bookings import tasks
from bookings.tasks import check_ferry_availability_task
from ferries.cache import cache_service
from ferries.models import Sailing
from ferries.party import Party
from ferries.services import capacity_hold
from ferries.tests.factories import VesselFactory, sailing_factory


def ask(sailing: Sailing, passengers: int, vehicles: int = 0, *, here: bool = False):
    """Through the bookings queue, or `here` in this process."""
    send = check_ferry_availability_task.apply if here else check_ferry_availability_task.apply_async
    return send(
        kwargs={
            "operator": sailing.route.operator.code,
            "sailing_id": sailing.ref,
            "departure_port": sailing.route.origin.code,
            "arrival_port": sailing.route.destination.code,
            "departure_time": sailing.departs_at.isoformat(),
            "passenger_count": passengers,
            "vehicle_count": vehicles,
        }
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_bookings_queue_answers_the_brief_shape(celery_worker_process):
    sailing = sailing_factory(vessel=VesselFactory(passenger_capacity=10, lane_metres=10))
    capacity_hold(sailing=sailing, party=Party(adults=8), minutes=20)
    celery_worker_process("bookings")

    room, full, no_lane = ask(sailing, 2), ask(sailing, 3), ask(sailing, 1, vehicles=3)

    assert room.get(timeout=60) == {"status": "available", "message": "Places are available.", "places_left": 2}
    assert full.get(timeout=60)["status"] == "sold_out"
    assert no_lane.get(timeout=60)["status"] == "sold_out"


@pytest.mark.django_db
def test_the_answer_is_cached_for_a_minute_and_dropped_when_capacity_changes(django_capture_on_commit_callbacks):
    sailing = sailing_factory()

    first = ask(sailing, 1, here=True).get()
    with django_capture_on_commit_callbacks(execute=True):
        capacity_hold(sailing=sailing, party=Party(adults=5), minutes=20)
    after = ask(sailing, 1, here=True).get()

    assert (first["places_left"], after["places_left"]) == (100, 95)
    assert cache_service.get_availability(sailing.pk)["remaining"]["passengers"] == 95


@pytest.mark.django_db
def test_an_unknown_or_moved_sailing_is_reported_not_raised():
    sailing = sailing_factory()

    unknown = check_ferry_availability_task.apply(
        kwargs={"operator": sailing.route.operator.code, "sailing_id": "NOPE", "passenger_count": 1}
    ).get()
    moved = check_ferry_availability_task.apply(
        kwargs={
            "operator": sailing.route.operator.code,
            "sailing_id": sailing.ref,
            "departure_time": "2030-01-01T10:00:00Z",
            "passenger_count": 1,
        }
    ).get()

    assert unknown["status"] == moved["status"] == "unknown"


def test_no_task_of_the_bookings_queue_is_held_back_by_a_worker_rate_limit():
    # A message a Celery rate limit holds back counts against the worker's prefetch: while it waits, nothing else of
    # the queue is taken, availability checks included. Operators are paced where they are called instead
    # (ferries/operators/pacing.py).
    queue_tasks = [task for task in vars(tasks).values() if isinstance(task, Task)]

    assert check_ferry_availability_task in queue_tasks
    assert [task.name for task in queue_tasks if task.rate_limit] == []
