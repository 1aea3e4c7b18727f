"""E-ticket codes board only while they are the booking's current tickets of a confirmed, uncancelled leg."""

import pytest
from django.core import signing

from bookings.flows.cancelling import booking_cancel, leg_cancel
from bookings.models import Booking
from bookings.tests.factories import confirmed_booking, held_booking
from bookings.tickets import (
    TicketCancelled,
    TicketNotConfirmed,
    TicketRefused,
    TicketReplaced,
    ticket_code,
    ticket_read,
    ticket_verify,
)
from notifications.etickets import leg_code

pytestmark = pytest.mark.django_db


def test_a_confirmed_bookings_code_boards_and_names_its_leg(trip):
    booking = confirmed_booking(trip["out"], trip["back"])

    assert ticket_verify(leg_code(booking.legs.get(direction="return"))) == {
        "booking": booking.reference, "leg": "return", "v": 1,
    }  # fmt: skip


def test_a_code_we_did_not_sign_is_refused(trip):
    code = leg_code(confirmed_booking(trip["out"]).legs.get())

    with pytest.raises(TicketRefused) as refused:
        ticket_verify(code[:-2] + ("xx" if not code.endswith("xx") else "yy"))
    assert refused.value.code == "invalid"
    with pytest.raises(TicketRefused):
        ticket_read(signing.dumps({"booking": "ABC"}, salt="maritime.eticket"))  # signed, but not a ticket's payload


def test_a_legs_code_is_the_same_whenever_it_is_drawn(trip, monkeypatch):
    booking = confirmed_booking(trip["out"])
    first = ticket_code(reference=booking.reference, direction="outbound", version=1)
    monkeypatch.setattr(signing.time, "time", lambda: 4_102_444_800.0)  # years later

    assert ticket_code(reference=booking.reference, direction="outbound", version=1) == first
    assert ticket_code(reference=booking.reference, direction="outbound", version=2) != first
    assert ticket_verify(first)["booking"] == booking.reference


def test_a_code_of_e_tickets_made_when_codes_carried_their_time_still_boards(trip):
    booking = confirmed_booking(trip["out"])
    payload = {"booking": booking.reference, "leg": "outbound", "v": booking.tickets_version}
    earlier = signing.dumps(payload, salt="maritime.eticket", compress=True)

    assert ticket_verify(earlier) == payload
    with pytest.raises(TicketRefused):
        ticket_verify(earlier[:-2] + ("xx" if not earlier.endswith("xx") else "yy"))


def test_a_cancelled_bookings_code_no_longer_boards(trip):
    booking = confirmed_booking(trip["out"])
    code = leg_code(booking.legs.get())

    booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    with pytest.raises(TicketCancelled):
        ticket_verify(code)


def test_a_cancelled_legs_code_no_longer_boards_and_the_other_legs_still_does(trip):
    booking = confirmed_booking(trip["out"], trip["back"])
    out_code, back_code = (leg_code(booking.legs.get(direction=d)) for d in ("outbound", "return"))

    leg_cancel(booking_id=booking.pk, direction="return", actor="traveller")

    # Cancelling a leg sends new tickets: the codes of the earlier ones no longer board, and no code of the leg does.
    booking.refresh_from_db()
    for code in (out_code, back_code):
        with pytest.raises(TicketReplaced):
            ticket_verify(code)
    with pytest.raises(TicketCancelled):
        ticket_verify(ticket_code(reference=booking.reference, direction="return", version=booking.tickets_version))
    assert ticket_verify(leg_code(booking.legs.get()))["leg"] == "outbound"


def test_an_unconfirmed_bookings_code_does_not_board(trip):
    booking = held_booking(trip["out"])

    with pytest.raises(TicketNotConfirmed):
        ticket_verify(leg_code(booking.legs.get()))


def test_a_code_of_replaced_tickets_does_not_board(trip):
    booking = confirmed_booking(trip["out"])
    code = leg_code(booking.legs.get())
    Booking.objects.filter(pk=booking.pk).update(tickets_version=2)

    with pytest.raises(TicketReplaced):
        ticket_verify(code)
