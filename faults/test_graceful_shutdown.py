"""Fault 8 — SIGTERM to a worker in the middle of a real task: confirming a paid booking with a slow operator.

deploy/tests/test_deployment.py shows both cases with a test task that only sleeps. Here the task is the
operator's confirmation, through the operator's HTTP API (the operator simulator, answering slowly), and what
is checked is the booking: never half-done.

- SIGTERM to the worker's main process (what Docker's init and supervisord with stopasgroup=false send) is
  Celery's warm shutdown: the confirmation finishes, then the worker exits.
- SIGTERM to the whole process group (stopasgroup=true, or a careless `kill` of the group) stops the pool
  process mid-call. Acknowledged late and rejected when its worker is lost, the message goes back to its queue;
  the next worker asks the operator again, who answers the same confirmation (confirming twice is harmless).
"""

import signal

import pytest

from bookings.models import Booking
from faults.processes import wait_for
from faults.scenarios import paid_booking, statuses
from ferries.models import CapacityHold

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CONFIRM_SECONDS = 3  # how long the operator takes to confirm: the signal lands inside


def assert_confirmed_once(booking: Booking) -> None:
    booking = Booking.objects.get(pk=booking.pk)
    assert statuses(booking) == ["held", "paid", "confirmed"]
    leg = booking.legs.get()
    assert leg.operator_booking_ref == CapacityHold.objects.get(ref=leg.operator_hold_ref).confirmation_ref != ""


def test_sigterm_to_a_worker_mid_confirmation_lets_the_confirmation_finish_before_it_exits(
    operator_api, workers, broker, tunis_marseille
):
    booking = paid_booking(tunis_marseille)
    operator_api.latency = CONFIRM_SECONDS
    worker = workers("bookings", name="draining", **operator_api.worker_env)
    assert operator_api.confirming.wait(60), "the worker did not call the operator"

    worker.signal(signal.SIGTERM)

    assert worker.wait(timeout=60) == 0
    assert_confirmed_once(booking)
    assert operator_api.confirmations_asked == 1
    assert broker.queue_length("bookings") == 0


def test_sigterm_to_the_worker_s_whole_group_mid_confirmation_puts_it_back_for_the_next_worker(
    operator_api, workers, broker, tunis_marseille
):
    booking = paid_booking(tunis_marseille)
    operator_api.latency = CONFIRM_SECONDS
    worker = workers("bookings", name="stopped-as-group", **operator_api.worker_env)
    assert operator_api.confirming.wait(60), "the worker did not call the operator"

    worker.signal_group(signal.SIGTERM)

    worker.wait(timeout=60)
    assert "WorkerLostError" in worker.output()
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.PAID  # not confirmed, not half-confirmed
    assert booking.legs.get().operator_booking_ref == ""
    assert broker.queue_length("bookings") == 1, "the message went back to its queue"

    operator_api.latency = 0
    workers("bookings", name="next", **operator_api.worker_env)

    wait_for(
        lambda: Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED,
        timeout=60,
        what="the next worker confirmed the booking",
    )
    assert_confirmed_once(booking)
    assert operator_api.confirmations_asked == 2  # asked again, answered the same confirmation
