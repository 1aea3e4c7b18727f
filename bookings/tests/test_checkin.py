"""Check-in and boarding at the quay: what a scan means for a sailing, and each traveller recorded once."""

import threading

import pytest
from django.db import connection

from bookings import boarding
from bookings.flows.cancelling import booking_cancel
from bookings.models import Boarding, Booking, TicketScan
from bookings.tests.factories import ADULT, CHILD, confirmed_booking, held_booking
from notifications.etickets import leg_code

pytestmark = pytest.mark.django_db
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}
AGENT = "staff:1"


def scan(sailing, text):
    return boarding.ticket_scan(sailing_id=sailing.pk, text=text, agent=AGENT)


def test_a_confirmed_tickets_code_boards_its_own_sailing(trip):
    booking = confirmed_booking(trip["out"], trip["back"])

    result = scan(trip["out"], leg_code(booking.legs.get(direction="outbound")))

    assert (result.outcome, result.booking_id, result.direction, result.typed) == (
        "valid",
        booking.pk,
        "outbound",
        False,
    )
    view = boarding.at_the_quay(scan=result)
    assert view.boards
    assert view.leg.direction == "outbound"
    assert [p.first_name for p, row in view.passengers] == ["Amira"]


def test_the_return_tickets_code_at_the_outbound_sailing_is_the_wrong_sailing_and_says_which_is_right(trip):
    booking = confirmed_booking(trip["out"], trip["back"])

    result = scan(trip["out"], leg_code(booking.legs.get(direction="return")))

    assert result.outcome == "wrong_sailing"
    view = boarding.at_the_quay(scan=result)
    assert not view.boards
    assert view.leg is None
    assert [leg.sailing_id for leg in view.other_legs] == [trip["back"].pk]


def test_a_reference_typed_finds_the_leg_on_this_sailing_and_one_on_no_leg_here_is_the_wrong_sailing(trip):
    booking = confirmed_booking(trip["out"], trip["back"])

    assert scan(trip["back"], booking.reference.lower()).outcome == "valid"
    assert scan(trip["back"], booking.reference).direction == "return"
    assert scan(trip["later_out"], booking.reference).outcome == "wrong_sailing"
    assert scan(trip["out"], "ZZZZZZ").outcome == "unknown"


def test_a_cancelled_bookings_ticket_and_reference_do_not_board(trip):
    booking = confirmed_booking(trip["out"])
    code = leg_code(booking.legs.get())
    booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    assert scan(trip["out"], code).outcome == "cancelled"
    assert scan(trip["out"], booking.reference).outcome == "cancelled"


def test_a_changed_bookings_old_ticket_does_not_board_and_an_unconfirmed_one_neither(trip):
    booking = confirmed_booking(trip["out"])
    old = leg_code(booking.legs.get())
    Booking.objects.filter(pk=booking.pk).update(tickets_version=2)
    booking.refresh_from_db()
    unpaid = held_booking(trip["out"])

    assert scan(trip["out"], old).outcome == "replaced"
    assert scan(trip["out"], leg_code(booking.legs.get())).outcome == "valid"
    assert scan(trip["out"], unpaid.reference).outcome == "not_confirmed"


def test_a_made_up_code_is_not_one_of_ours(trip):
    booking = confirmed_booking(trip["out"])
    code = leg_code(booking.legs.get())

    assert scan(trip["out"], code[:-3] + "abc").outcome == "invalid"
    assert scan(trip["out"], "https://example.com/not-a-ticket").outcome == "invalid"
    assert TicketScan.objects.filter(outcome="invalid", booking=None).count() == 2


def test_a_second_scan_once_the_party_is_checked_in_warns_and_each_scan_is_recorded(trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD], vehicle=CAR)
    leg = booking.legs.get()
    code = leg_code(leg)
    first = scan(trip["out"], code)
    everyone = list(booking.passengers.values_list("pk", flat=True))

    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=everyone, vehicle=True, agent=AGENT)
    second = scan(trip["out"], code)

    assert (first.outcome, second.outcome) == ("valid", "scanned_before")
    assert boarding.at_the_quay(scan=second).boards  # a warning: the agent decides
    assert TicketScan.objects.filter(booking=booking).count() == 2


def test_check_in_then_boarding_is_recorded_per_passenger_and_for_the_vehicle_once_each(trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD], vehicle=CAR)
    leg = booking.legs.get()
    adult, child = booking.passengers.all()

    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=[adult.pk], vehicle=True, agent=AGENT)
    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=[adult.pk, child.pk], vehicle=True, agent="staff:2")
    boarding.travellers_board(leg_id=leg.pk, passenger_ids=[adult.pk], vehicle=True, agent=AGENT)

    rows = {row.passenger_id: row for row in Boarding.objects.filter(leg=leg)}
    assert set(rows) == {adult.pk, child.pk, None}
    assert rows[adult.pk].checked_in_by == AGENT  # the first record stands
    assert rows[child.pk].checked_in_by == "staff:2"
    assert rows[adult.pk].boarded_at
    assert rows[None].boarded_at
    assert not rows[child.pk].boarded_at
    status = boarding.leg_boarding_status(leg=leg)
    assert (status["checked_in"], status["boarded"], status["vehicle_boarded"]) == (2, 1, True)


def test_boarding_someone_not_checked_in_is_refused_and_records_nothing(trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD])
    leg = booking.legs.get()
    adult, child = booking.passengers.all()
    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=[adult.pk], vehicle=False, agent=AGENT)

    with pytest.raises(boarding.BoardingRefused) as refused:
        boarding.travellers_board(leg_id=leg.pk, passenger_ids=[adult.pk, child.pk], vehicle=False, agent=AGENT)

    assert refused.value.code == "not_checked_in"
    assert "Youssef" in refused.value.message
    assert not Boarding.objects.filter(leg=leg, boarded_at__isnull=False).exists()


def test_check_in_refuses_a_cancelled_booking_a_passenger_of_another_booking_and_a_vehicle_not_booked(trip):
    booking, other = confirmed_booking(trip["out"]), confirmed_booking(trip["out"])
    leg = booking.legs.get()

    for passengers, vehicle, code in (([other.passengers.get().pk], False, "not_on_booking"),
                                      ([], True, "no_vehicle"), ([], False, "nobody")):  # fmt: skip
        with pytest.raises(boarding.BoardingRefused) as refused:
            boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=passengers, vehicle=vehicle, agent=AGENT)
        assert refused.value.code == code
    booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")
    with pytest.raises(boarding.BoardingRefused) as refused:
        boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=[booking.passengers.get().pk], vehicle=False,
                                     agent=AGENT)  # fmt: skip
    assert refused.value.code == "cancelled"
    assert not Boarding.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_agents_checking_in_the_same_party_at_once_record_each_traveller_once(trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD], vehicle=CAR)
    leg = booking.legs.get()
    everyone = list(booking.passengers.values_list("pk", flat=True))
    barrier, errors = threading.Barrier(4), []

    def agent(n):
        try:
            barrier.wait()
            boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=everyone, vehicle=True, agent=f"staff:{n}")
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Boarding.objects.filter(leg=leg).count() == 3
