"""A vehicle measured at the quay: larger takes more lane metres (never oversold) and costs the difference, paid with
the usual payment; smaller keeps its price and gives the space back; the size booked changes nothing."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from bookings import boarding
from bookings.change_requests import ChangeRefused
from bookings.flows import changing, checkout
from bookings.flows.remeasuring import vehicle_remeasure
from bookings.models import Boarding, BookingChange, BookingVehicle
from bookings.tests.factories import ADULT, CHILD, confirmed_booking
from ferries.choices import Resource
from ferries.models import SailingInventory
from notifications.models import Email
from payments.models import DemoIntent

pytestmark = pytest.mark.django_db
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}
AGENT = "staff:7"


def lane(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.LANE_CM).taken


def pay_demo(payment) -> None:
    DemoIntent.objects.filter(intent_id=payment.intent_id).update(status="succeeded")
    checkout.payment_reconcile(payment_id=payment.pk)


def test_the_size_booked_is_recorded_as_measured_and_changes_nothing(trip):
    booking = confirmed_booking(trip["out"], vehicle=CAR)

    done = vehicle_remeasure(booking_id=booking.pk, length_cm=450, height_cm=150, actor=AGENT)

    assert (done.change, done.payment) == (None, None)
    vehicle = BookingVehicle.objects.get(booking=booking)
    assert vehicle.measured_at is not None
    assert vehicle.measured_by == AGENT
    assert not BookingChange.objects.exists()


def test_a_larger_vehicle_takes_the_extra_lane_metres_and_costs_the_difference_once_paid(trip):
    booking = confirmed_booking(trip["out"], trip["back"], vehicle=CAR)
    before = (lane(trip["out"]), lane(trip["back"]))
    total = booking.total_minor

    done = vehicle_remeasure(booking_id=booking.pk, length_cm=540, height_cm=160, actor=AGENT)

    change = done.change
    assert (change.kind, change.status, change.fee_minor) == ("vehicle_remeasured", "awaiting_payment", 0)
    assert change.due_minor == 2 * 5000, "the next length band on each leg: 150.00 → 200.00"
    assert (lane(trip["out"]), lane(trip["back"])) == (before[0] + 90, before[1] + 90), "held while it is paid for"
    email = Email.objects.get(booking=booking, kind=Email.Kind.CHANGE_PAYMENT)
    assert email.details == {"change_number": change.number, "due_minor": 10000}

    pay_demo(done.payment)
    assert BookingChange.objects.get(pk=change.pk).status == "paid"
    changing.change_make(change_id=change.pk)  # as make_change_task does, once the payment's transaction commits

    booking.refresh_from_db()
    vehicle = BookingVehicle.objects.get(booking=booking)
    assert (vehicle.length_cm, vehicle.height_cm, vehicle.measured_by) == (540, 160, AGENT)
    assert booking.total_minor == total + 10000
    assert BookingChange.objects.get(pk=change.pk).status == "confirmed"
    assert (lane(trip["out"]), lane(trip["back"])) == (before[0] + 90, before[1] + 90)


def test_a_smaller_vehicle_keeps_its_price_and_gives_the_space_back_at_once(trip):
    booking = confirmed_booking(trip["out"], vehicle={**CAR, "length_cm": 560})
    before, total = lane(trip["out"]), booking.total_minor

    done = vehicle_remeasure(booking_id=booking.pk, length_cm=430, height_cm=150, actor=AGENT)

    assert done.payment is None
    assert (done.change.status, done.change.due_minor, done.change.refund_minor) == ("confirmed", 0, 0)
    booking.refresh_from_db()
    assert booking.total_minor == total
    assert lane(trip["out"]) == before - 130
    assert BookingVehicle.objects.get(booking=booking).length_cm == 430


def test_a_larger_vehicle_on_a_full_deck_is_refused_and_nothing_changes(trip):
    booking = confirmed_booking(trip["out"], vehicle=CAR)
    deck = SailingInventory.objects.get(sailing=trip["out"], resource=Resource.LANE_CM)
    SailingInventory.objects.filter(pk=deck.pk).update(taken=deck.capacity - 40)

    with pytest.raises(ChangeRefused):
        vehicle_remeasure(booking_id=booking.pk, length_cm=540, height_cm=150, actor=AGENT)

    assert lane(trip["out"]) == deck.capacity - 40
    assert BookingVehicle.objects.get(booking=booking).length_cm == 450
    assert not BookingChange.objects.filter(status__in=BookingChange.OPEN).exists()


def test_a_size_no_car_has_is_refused_on_its_field(trip):
    booking = confirmed_booking(trip["out"], vehicle=CAR)

    with pytest.raises(ValidationError) as refused:
        vehicle_remeasure(booking_id=booking.pk, length_cm=2400, height_cm=150, actor=AGENT)

    assert "length_cm" in refused.value.message_dict
    assert not BookingChange.objects.exists()


def test_passengers_checked_in_stay_checked_in_when_the_vehicle_is_measured(trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD], vehicle={**CAR, "length_cm": 560})
    leg = booking.legs.get()
    everyone = list(booking.passengers.values_list("pk", flat=True))
    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=everyone, vehicle=True, agent=AGENT)

    vehicle_remeasure(booking_id=booking.pk, length_cm=430, height_cm=150, actor=AGENT)

    assert Boarding.objects.filter(leg=leg).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_vehicles_measured_larger_at_once_never_oversell_the_deck(trip):
    first, second = (confirmed_booking(trip["out"], vehicle=CAR) for _ in range(2))
    deck = SailingInventory.objects.get(sailing=trip["out"], resource=Resource.LANE_CM)
    SailingInventory.objects.filter(pk=deck.pk).update(taken=deck.capacity - 100)  # room for one more 90 cm
    barrier, outcomes = threading.Barrier(2), []

    def measure(booking):
        try:
            barrier.wait()
            vehicle_remeasure(booking_id=booking.pk, length_cm=540, height_cm=150, actor=AGENT)
            outcomes.append("held")
        except ChangeRefused as refusal:
            outcomes.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=measure, args=(booking,)) for booking in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["held", "sold_out"]
    deck.refresh_from_db()
    assert deck.taken == deck.capacity - 10
