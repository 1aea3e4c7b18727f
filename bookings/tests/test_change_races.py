"""Changes racing each other and racing new bookings, on real PostgreSQL, each traveller on its own connection:
one change of a booking wins at a time, and a sailing is never sold beyond its places."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from bookings.change_requests import ChangeRefused
from bookings.flows import changing, confirmation
from bookings.models import Booking, BookingChange
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from bookings.tests.factories import ADULT, held_booking, pay, request_data
from ferries.choices import Resource
from ferries.models import CapacityHold, SailingInventory
from ferries.party import Party
from ferries.services import capacity_hold
from ferries.tests.factories import sailing_factory

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*work) -> Counter:
    """Run each callable in its own thread, all released at the same moment; count their outcomes."""
    start, lock, outcomes = threading.Barrier(len(work)), threading.Lock(), Counter()

    def run(job):
        start.wait()
        try:
            outcome = job()
        except ChangeRefused as refusal:
            outcome = refusal.code
        except ValidationError as error:
            outcome = next(iter(error.message_dict.values()))[0].split(":")[0]
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def live_holds_total(sailing, resource=Resource.PASSENGERS) -> int:
    holds = CapacityHold.objects.filter(sailing=sailing).exclude(status=CapacityHold.Status.RELEASED)
    return sum(hold.quantities.get(resource, 0) for hold in holds)


def taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


@pytest.fixture
def flex_return(fake_stripe, tunis_marseille, marseille_tunis):
    """A confirmed return booking in the Flex fare (changes without a fee: nothing to pay, made on confirming), and
    three other return sailings it could move to."""
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))
    others = [sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=15 + n)) for n in range(3)]
    booking = held_booking(out, back, return_fare_family="flex")
    pay(fake_stripe, booking)
    confirmation.booking_confirm(booking_id=booking.pk)
    return Booking.objects.get(pk=booking.pk), back, others


def test_changes_of_one_booking_at_once_chain_or_lose_never_both_from_the_same_booking(flex_return):
    booking, back, others = flex_return

    def move_to(sailing):
        def job():
            change = changing.change_request(
                booking=Booking.objects.get(pk=booking.pk), data={"return_sailing_id": sailing.pk}, actor="traveller"
            )
            return changing.change_confirm(change=change)[0].status

        return job

    outcomes = at_once(*(move_to(sailing) for sailing in others))

    made = list(BookingChange.objects.filter(status=BookingChange.Status.CONFIRMED).order_by("number"))
    leg = booking.legs.get(direction="return")
    assert outcomes["confirmed"] == len(made) >= 1
    assert sum(outcomes.values()) == len(others)
    assert set(outcomes) <= {"confirmed", "change_superseded", "booking_changed", "change_in_progress"}
    assert leg.changes_made == len(made)
    # Each change made starts from the booking the one before left: none was made on a booking already changed.
    starts = [change.old_legs[0]["sailing_id"] for change in made]
    ends = [change.new_legs[0]["sailing_id"] for change in made]
    assert starts == [back.pk, *ends[:-1]]
    assert leg.sailing_id == ends[-1]
    for sailing in [back, *others]:
        expected = 1 if sailing.pk == leg.sailing_id else 0
        assert taken(sailing) == live_holds_total(sailing) == expected, sailing.ref


def test_a_change_racing_new_bookings_for_the_last_places_never_oversells(flex_return):
    booking, back, others = flex_return
    target = others[0]
    row = SailingInventory.objects.get(sailing=target, resource=Resource.PASSENGERS)
    capacity_hold(sailing=target, party=Party(adults=row.capacity - 3), minutes=20)  # three places left
    data = request_data(target, passengers=[ADULT])

    def new_booking():
        booking_create(request=parse_booking_request(data))
        return "held"

    def change():
        quote = changing.change_request(booking=booking, data={"return_sailing_id": target.pk}, actor="traveller")
        return changing.change_confirm(change=quote)[0].status

    outcomes = at_once(change, *(new_booking for _n in range(8)))

    row.refresh_from_db()
    assert row.taken == row.capacity == live_holds_total(target)
    assert outcomes["held"] + outcomes["confirmed"] == 3
    assert outcomes["held"] + outcomes["confirmed"] + outcomes["Sold out"] + outcomes["sold_out"] == 9
    moved = booking.legs.get(direction="return").sailing_id == target.pk
    assert moved == (outcomes["confirmed"] == 1)
    assert taken(back) == (0 if moved else 1)
