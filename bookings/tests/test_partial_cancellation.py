"""Cancelling part of a booking: one leg of a return, or one passenger — each refunded by its own fare rules, the
rest travelling on; and cancelling the rest later still refunds what it should."""

import datetime as dt

import pytest
from django.utils import timezone

from bookings import cancellations
from bookings.change_requests import ChangeRefused
from bookings.flows import cancelling, confirmation
from bookings.models import Booking, BookingChange
from bookings.tests.factories import ADULT, INFANT, held_booking, pay
from ferries.choices import Resource
from ferries.models import CapacityHold, SailingInventory
from ferries.tests.factories import OperatorFactory, RouteFactory, sailing_factory
from notifications.models import Email
from payments.models import Refund

pytestmark = pytest.mark.django_db


def confirmed(fake_stripe, *sailings, **kwargs) -> Booking:
    booking = held_booking(*sailings, **kwargs)
    pay(fake_stripe, booking)
    confirmation.booking_confirm(booking_id=booking.pk)
    return Booking.objects.get(pk=booking.pk)


def taken(sailing, resource=Resource.PASSENGERS) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=resource).taken


def refunds(cause=Refund.Cause.PARTIAL) -> list[int]:
    return sorted(Refund.objects.filter(cause=cause).values_list("amount_minor", flat=True))


def test_cancelling_the_return_refunds_it_and_the_outbound_travels_on(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    assert cancellations.leg_cancel_quote(booking=booking, direction="return").refund_minor == 10000

    change = cancelling.leg_cancel(booking_id=booking.pk, direction="return", actor="traveller")

    booking.refresh_from_db()
    assert (change.kind, change.status, change.refund_minor) == ("leg_cancelled", "confirmed", 10000)
    assert refunds() == [10000]
    assert (booking.status, booking.total_minor, booking.tickets_version) == ("confirmed", 10000, 2)
    assert list(booking.legs.values_list("direction", flat=True)) == ["outbound"]
    assert (taken(trip["back"]), taken(trip["out"])) == (0, 1)
    assert Email.objects.filter(booking=booking, kind=Email.Kind.BOOKING_CHANGED).exists()

    # Cancelling what remains refunds the outbound in full: the return's refund is not counted against it.
    cancellation = cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")
    assert cancellation.refund_minor == 10000
    assert sum(Refund.objects.values_list("amount_minor", flat=True)) == 20000


def test_a_leg_is_refunded_by_its_own_fare_rules(fake_stripe, tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=3))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=5))
    booking = confirmed(fake_stripe, out, back, return_fare_family="basic")

    assert cancellations.leg_cancel_quote(booking=booking, direction="outbound").refund_minor == 5000  # Standard: half
    assert cancelling.leg_cancel(booking_id=booking.pk, direction="return", actor="traveller").refund_minor == 0
    assert refunds() == []
    assert taken(back) == 0


def test_cancelling_a_passenger_refunds_their_fare_and_their_share_of_the_cabins(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], passengers=[ADULT] * 3, accommodation="inside_2")
    # Three adults need two two-berth cabins; two need one: each leg 100.00 (the fare) + 80.00 (a cabin) less.
    leaving = booking.passengers.last()
    assert cancellations.passenger_cancel_quote(booking=booking, passenger_id=leaving.pk).refunds == {
        "outbound": 18000, "return": 18000,
    }  # fmt: skip

    change = cancelling.passenger_cancel(booking_id=booking.pk, passenger_id=leaving.pk, actor="traveller")

    booking.refresh_from_db()
    assert (change.kind, change.refund_minor, change.difference_minor) == ("passenger_cancelled", 36000, -36000)
    assert refunds() == [36000]
    assert booking.passengers.count() == 2
    assert booking.total_minor == 2 * (20000 + 8000)
    for sailing in (trip["out"], trip["back"]):
        assert (taken(sailing), taken(sailing, "inside_2")) == (2, 1)
    holds = CapacityHold.objects.filter(sailing=trip["out"])
    assert sorted(holds.values_list("status", flat=True)) == ["confirmed", "released"]


def test_a_passenger_leaves_a_sailing_that_is_full(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], passengers=[ADULT, ADULT])
    for sailing in (trip["out"], trip["back"]):
        SailingInventory.objects.filter(sailing=sailing, resource=Resource.PASSENGERS).update(capacity=2)

    cancelling.passenger_cancel(booking_id=booking.pk, passenger_id=booking.passengers.first().pk, actor="traveller")

    assert (taken(trip["out"]), taken(trip["back"])) == (1, 1)


def test_cancellation_protection_itself_is_never_refunded(fake_stripe, tunis_marseille):
    soon = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=3))  # Standard alone: half back
    booking = confirmed(fake_stripe, soon, passengers=[ADULT, ADULT], cancellation_protection=True)

    change = cancelling.passenger_cancel(booking_id=booking.pk, passenger_id=booking.passengers.first().pk,
                                         actor="traveller")  # fmt: skip

    assert change.refund_minor == 10000  # the fare in full; not the passenger's 8.00 of protection


@pytest.mark.parametrize(
    ("setup", "part", "code"),
    [
        ({"passengers": [ADULT]}, "passenger", "last_passenger"),
        ({"passengers": [ADULT, INFANT]}, "adult", "party_problem"),
        ({"one_way": True}, "outbound", "last_leg"),
        ({"held": True}, "return", "booking_not_changeable"),
    ],
    ids=["last passenger", "an infant alone", "the only leg", "not confirmed"],
)
def test_what_cannot_be_cancelled_alone_says_why(fake_stripe, trip, setup, part, code):
    sailings = (trip["out"],) if setup.pop("one_way", False) else (trip["out"], trip["back"])
    held = setup.pop("held", False)
    booking = held_booking(*sailings, **setup) if held else confirmed(fake_stripe, *sailings, **setup)

    if part in ("passenger", "adult"):
        passenger = booking.passengers.filter(type="adult").first()
        cancel = lambda: cancelling.passenger_cancel(booking_id=booking.pk, passenger_id=passenger.pk, actor="x")  # noqa: E731
    else:
        cancel = lambda: cancelling.leg_cancel(booking_id=booking.pk, direction=part, actor="x")  # noqa: E731

    with pytest.raises(ChangeRefused) as refused:
        cancel()

    assert refused.value.code == code
    assert not BookingChange.objects.exists()
    assert not Refund.objects.filter(cause=Refund.Cause.PARTIAL).exists()


@pytest.mark.django_db(transaction=True)
def test_a_remote_operator_holds_the_smaller_party_before_the_larger_is_released(
    fake_stripe, operator_simulator, settings, eager_tasks
):
    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    sailing = sailing_factory(route=route, departs_in=dt.timedelta(days=10))
    booking = confirmed(fake_stripe, sailing, passengers=[ADULT, ADULT])
    old_hold = booking.legs.get().operator_hold_ref
    calls = dict(simulator.calls)

    change = cancelling.passenger_cancel(
        booking_id=booking.pk, passenger_id=booking.passengers.first().pk, actor="traveller"
    )

    leg = booking.legs.get()
    assert change.refund_minor == 10000
    assert [simulator.calls[a] - calls.get(a, 0) for a in ("hold", "confirm", "cancel")] == [1, 1, 1]
    assert CapacityHold.objects.get(ref=old_hold).status == CapacityHold.Status.RELEASED
    assert CapacityHold.objects.get(ref=leg.operator_hold_ref).quantities == {"passengers": 1}
    assert leg.operator_booking_ref.startswith("C")
    assert timezone.now() < leg.sailing.departs_at


# --- in the API ------------------------------------------------------------------------------------------------------


def cancel_url(booking) -> str:
    return f"/api/v1/bookings/{booking.reference}/cancel"


def test_the_api_says_what_a_part_refunds_then_cancels_it(fake_stripe, trip):
    from rest_framework.test import APIClient

    from bookings.access import access_token

    api, booking = APIClient(), confirmed(fake_stripe, trip["out"], trip["back"], passengers=[ADULT, ADULT])
    headers = {"HTTP_X_BOOKING_TOKEN": access_token(booking)}
    passengers = api.get(f"/api/v1/bookings/{booking.reference}", **headers).json()["passengers"]

    quoted = api.get(cancel_url(booking), {"passenger_id": passengers[1]["id"]}, **headers).json()
    cancelled = api.post(cancel_url(booking), {"passenger_id": passengers[1]["id"]}, format="json", **headers)
    leg_quote = api.get(cancel_url(booking), {"leg": "return"}, **headers).json()
    leg = api.post(cancel_url(booking), {"leg": "return"}, format="json", **headers)

    assert quoted == {"refund": {"amount_minor": 20000, "currency": "EUR"},
                      "legs": {"outbound": {"amount_minor": 10000, "currency": "EUR"},
                               "return": {"amount_minor": 10000, "currency": "EUR"}}}  # fmt: skip
    assert cancelled.json() == {"reference": booking.reference, "status": "confirmed",
                                "refund": {"amount_minor": 20000, "currency": "EUR"}}  # fmt: skip
    assert leg_quote["refund"]["amount_minor"] == 10000
    assert leg.json()["refund"]["amount_minor"] == 10000
    assert refunds() == [10000, 20000]
    left = api.post(cancel_url(booking), {"leg": "outbound"}, format="json", **headers)
    assert (left.status_code, left.json()["code"]) == (409, "last_leg")
    both = api.post(cancel_url(booking), {"leg": "outbound", "passenger_id": 1}, format="json", **headers)
    assert (both.status_code, list(both.json())) == (400, ["passenger_id"])
    not_an_object = api.post(cancel_url(booking), "false", content_type="application/json", **headers)
    assert not_an_object.status_code == 400
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


def test_nobody_else_cancels_a_part_of_the_booking(fake_stripe, trip):
    from rest_framework.test import APIClient

    from bookings.access import access_token

    api = APIClient()
    booking, other = confirmed(fake_stripe, trip["out"], trip["back"]), held_booking(trip["out"])

    response = api.post(cancel_url(booking), {"leg": "return"}, format="json",
                        HTTP_X_BOOKING_TOKEN=access_token(other))  # fmt: skip

    assert response.status_code == 401
    assert booking.legs.count() == 2
