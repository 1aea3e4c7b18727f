"""Fault 5 — PostgreSQL restarts while workers are processing payments and confirming bookings.

The machine's PostgreSQL serves other runs and is never restarted: this test starts a cluster of its own
(initdb into a temporary directory, as the `postgres` user), migrates a database there as a release does, and
points this process and a real worker at it. A fast shutdown ends every session at once, rolling back the
transactions in flight; for two seconds nothing answers; then the cluster starts again.

What holds: the tasks that met the outage retry (OperationalError and InterfaceError are transient for every
queue) and complete; and since each step is one transaction, no booking is left half-applied — paid without
its payment, confirmed without its legs' operator references, or with places counted twice.

The second test replays on purpose the instant a restart ends, which the first meets only by chance: a retry
queued but not recorded in the result store must not be taken for the task's failure.
"""

import time

import pytest
from django.db import connection
from django.db.models import Count, Q

from bookings.models import Booking, BookingEvent
from bookings.tests.factories import held_booking
from faults.conftest import base_env, stripe_env
from faults.processes import wait_for
from faults.scenarios import paid_at_stripe, paid_booking, statuses, stripe_delivers
from ferries.models import CapacityHold, SailingInventory
from ferries.tests.factories import VesselFactory, sailing_factory
from notifications.models import Email
from payments.models import Payment, WebhookEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TRAVELLERS = 24
DATABASE = "maritime_faults"


@pytest.fixture
def private_database(private_postgres, transactional_db):
    """This process's database connection, moved to the private cluster for the test; workers started meanwhile
    follow it (their DATABASE_URL is read from it)."""
    private_postgres.create_database(DATABASE)
    private_postgres.migrate(DATABASE, env=base_env())
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(NAME=DATABASE, HOST="127.0.0.1", PORT=str(private_postgres.port))
    connection.settings_dict.update(USER="postgres", PASSWORD="")
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def processed() -> int:
    count = WebhookEvent.objects.filter(processed_at__isnull=False).count()
    connection.close()  # hold no session of our own across the restart
    return count


def assert_nothing_half_applied(bookings: list[Booking]) -> None:
    for booking in Booking.objects.filter(pk__in=[b.pk for b in bookings]):
        assert statuses(booking) == ["held", "paid", "confirmed"], booking.reference
        assert booking.payments.get().status == Payment.Status.SUCCEEDED
        assert not booking.legs.filter(Q(operator_booking_ref="") | Q(released_at__isnull=False)).exists()
        assert sorted(booking.emails.values_list("kind", flat=True)) == ["booking_confirmation", "payment_success"]
    holds = CapacityHold.objects.values("status").annotate(n=Count("pk"))
    assert {row["status"]: row["n"] for row in holds} == {"confirmed": TRAVELLERS}
    passengers = SailingInventory.objects.get(resource="passengers")
    assert passengers.taken == TRAVELLERS  # one adult each, counted once


def test_tasks_caught_by_a_postgresql_restart_retry_and_complete_with_no_booking_half_applied(
    private_database, private_postgres, slow_stripe, workers, tunis_marseille
):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(passenger_capacity=100))
    bookings = []
    for _ in range(TRAVELLERS):
        booking, _payment, intent = paid_at_stripe(slow_stripe, held_booking(sailing))
        stripe_delivers(intent)
        bookings.append(booking)
    slow_stripe.stall(TRAVELLERS * 2, delay=0.3)  # Stripe a little slow: the work spreads over seconds
    connection.close()
    worker = workers("payments,bookings", name="pg", concurrency=2, **stripe_env(slow_stripe))
    wait_for(lambda: processed() >= 3, timeout=60, what="the worker under way")

    private_postgres.stop(mode="fast")
    time.sleep(2)
    private_postgres.start()

    wait_for(
        lambda: Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == TRAVELLERS,
        timeout=120,
        what="every booking confirmed",
        interval=0.5,
    )
    assert processed() == TRAVELLERS
    log = worker.output()
    assert "OperationalError" in log or "InterfaceError" in log, "the restart met no task: nothing was tested"
    assert_nothing_half_applied(bookings)
    assert BookingEvent.objects.count() == 3 * TRAVELLERS
    assert Email.objects.count() == 2 * TRAVELLERS


def test_a_confirmation_whose_retry_the_restarting_database_could_not_record_is_retried_not_failed(
    operator_api, workers, tunis_marseille
):
    """The instant a restart ends, replayed on purpose: the operator does not answer, the confirmation queues its
    retry, recording that retry fails (the database is still starting), and Celery, recording a failure instead a
    moment later, calls the task's failure handler with the database's error. That handler fails the booking
    and refunds it — for the operator's refusal, or a spent retry budget: not for this. The retry runs and
    confirms the booking.
    """
    booking = paid_booking(tunis_marseille)
    operator_api.fail_first = 3  # the first call and both of its immediate retries answer 503
    env = {**operator_api.worker_env, "FAULTS_RETRY_RECORDS_LOST": "1"}
    worker = workers("bookings", name="restart-instant", include="faults.result_store", **env)

    wait_for(lambda: "confirmed" in statuses(booking) or "failed" in statuses(booking), timeout=60, what="settled")

    assert "Exception raised outside body" in worker.output(), "the retry's record did not fail: nothing was tested"
    assert statuses(booking) == ["held", "paid", "confirmed"]
