"""Creating a booking: places held on every leg or none, priced on the server, bad input refused whole."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from bookings.access import access_token, token_opens
from bookings.flows.expiry import bookings_expire
from bookings.models import Booking, BookingEvent, BookingLeg, Passenger
from bookings.policy import refund_due
from bookings.requests import parse_booking_request
from bookings.services import IdempotencyConflict, booking_create, booking_rehold
from bookings.tests.factories import ADULT, CHILD, INFANT, held_booking, request_data
from ferries.choices import Resource
from ferries.models import CapacityHold, Fare, FareFamily, SailingInventory
from ferries.tests.factories import OperatorFactory, RouteFactory, VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db

CAR = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160}


def taken(sailing, resource=Resource.PASSENGERS) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=resource).taken


def refused(data) -> dict:
    with pytest.raises(ValidationError) as error:
        booking_create(request=parse_booking_request(data))
    return error.value.message_dict


def nothing_written():
    return not Booking.objects.exists() and not CapacityHold.objects.exists() and not Passenger.objects.exists()


def test_a_booking_holds_places_and_is_priced_on_the_server(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille)

    booking = held_booking(sailing, passengers=[ADULT, CHILD, INFANT], vehicle=CAR)

    assert booking.status == Booking.Status.HELD
    assert (booking.total_minor, booking.currency) == (10000 + 5000 + 15000, "EUR")
    assert taken(sailing) == 3
    assert taken(sailing, Resource.LANE_CM) == 500
    assert len(booking.reference) == 6
    assert not set(booking.reference) & set("01OI")
    leg = booking.legs.get()
    assert (leg.direction, leg.refund_full_days, leg.refund_partial_percent) == ("outbound", 7, 50)
    assert list(BookingEvent.objects.values_list("from_status", "to_status")) == [("", "held")]


def test_a_return_trip_holds_both_legs(tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))

    booking = held_booking(out, back)

    assert sorted(booking.legs.values_list("direction", flat=True)) == ["outbound", "return"]
    assert (taken(out), taken(back)) == (1, 1)
    assert booking.total_minor == 20000


def test_a_return_trip_whose_way_back_is_full_holds_nothing(tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    small = VesselFactory(operator=marseille_tunis.operator, passenger_capacity=1)
    back = sailing_factory(route=marseille_tunis, vessel=small, departs_in=dt.timedelta(days=14))

    errors = refused(request_data(out, back, passengers=[ADULT, {**ADULT, "first_name": "Sami"}]))

    assert "return_sailing_id" in errors
    assert "Sold out" in errors["return_sailing_id"][0]
    assert (taken(out), taken(back)) == (0, 0)
    assert nothing_written()


def test_the_guest_token_opens_only_its_own_booking():
    mine, other = held_booking(), held_booking()

    assert token_opens(mine, access_token(mine))
    assert not token_opens(mine, access_token(other))
    assert not token_opens(mine, "")


def test_the_same_idempotency_key_answers_the_same_booking():
    data = request_data()

    first = booking_create(request=parse_booking_request(data), idempotency_key="k-1")
    again = booking_create(request=parse_booking_request(data), idempotency_key="k-1")

    assert again.pk == first.pk
    assert Booking.objects.count() == 1
    assert CapacityHold.objects.count() == 1


def test_a_reference_drawn_twice_is_drawn_again_and_the_places_are_held_once(tunis_marseille, monkeypatch):
    first = held_booking()
    sailing = sailing_factory(route=tunis_marseille)
    draws = iter([first.reference, "B2C3D4"])
    monkeypatch.setattr("bookings.services.new_ref", lambda prefix, length: next(draws))

    booking = held_booking(sailing, passengers=[ADULT, CHILD])

    assert booking.reference == "B2C3D4"
    assert (taken(sailing), CapacityHold.objects.filter(sailing=sailing).count()) == (2, 1)
    assert Booking.objects.get(reference="B2C3D4").passengers.count() == 2


def test_an_idempotency_key_reused_for_another_request_is_refused():
    booking_create(request=parse_booking_request(request_data()), idempotency_key="k-2")

    with pytest.raises(IdempotencyConflict):
        booking_create(request=parse_booking_request(request_data()), idempotency_key="k-2")
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(outbound_sailing_id=999999), "outbound_sailing_id"),
        (lambda d: d.update(outbound_sailing_id="abc"), "outbound_sailing_id"),
        (lambda d: d.pop("outbound_sailing_id"), "outbound_sailing_id"),
        (lambda d: d["passengers"][0].update(last_name=""), "passengers.0.last_name"),
        (lambda d: d["passengers"][0].update(first_name="R2-D2"), "passengers.0.first_name"),
        (lambda d: d["passengers"][0].update(date_of_birth="12/04/1985"), "passengers.0.date_of_birth"),
        (lambda d: d["passengers"][0].update(date_of_birth="2020-01-01"), "passengers.0.date_of_birth"),
        (lambda d: d["passengers"][0].update(nationality="Tunisia"), "passengers.0.nationality"),
        (lambda d: d["passengers"][0].update(nationality="ZZ"), "passengers.0.nationality"),
        (lambda d: d["passengers"][0].update(nationality="XX"), "passengers.0.nationality"),
        (lambda d: d["passengers"][0].update(document_number="?"), "passengers.0.document_number"),
        (lambda d: d["passengers"][0].update(type="pilot"), "passengers.0.type"),
        (lambda d: d.update(passengers=[]), "passengers"),
        (lambda d: d.update(passengers=[{**ADULT}] * 10), "passengers"),
        (lambda d: d.update(vehicle={**CAR, "height_cm": 900}), "vehicle.height_cm"),
        (lambda d: d.update(vehicle={**CAR, "registration": ""}), "vehicle.registration"),
        (lambda d: d.update(vehicle={**CAR, "category": "tank"}), "vehicle.category"),
        (lambda d: d.update(accommodation="suite"), "accommodation"),
        (lambda d: d.update(pets=-1), "pets"),
        (lambda d: d["contact"].update(email="not-an-email"), "contact.email"),
        (lambda d: d["contact"].update(phone="call me"), "contact.phone"),
        (lambda d: d.update(contact=None), "contact"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(change, field):
    data = request_data()
    data["passengers"] = [dict(p) for p in data["passengers"]]
    data["contact"] = dict(data["contact"])
    change(data)

    assert field in refused(data)
    assert nothing_written()


def test_an_infant_without_an_adult_is_refused(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille)
    data = request_data(sailing, passengers=[dict(INFANT)])

    assert refused(data)["passengers"] == ["At least one adult or senior must travel."]


def test_a_child_whose_age_does_not_match_is_refused_with_the_age(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille)
    data = request_data(sailing, passengers=[ADULT, {**CHILD, "date_of_birth": "1990-01-01"}])

    assert "this one is" in refused(data)["passengers.1.date_of_birth"][0]


def test_a_departed_or_cancelled_sailing_cannot_be_booked(tunis_marseille):
    gone = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(minutes=10))

    assert refused(request_data(gone))["outbound_sailing_id"] == ["This sailing can no longer be booked."]


def test_legs_that_do_not_match_are_refused(tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    same_way = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=12))
    too_early = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=10, hours=3))

    assert "return_sailing_id" in refused(request_data(out, same_way))
    assert "return_sailing_id" in refused(request_data(out, too_early))
    assert nothing_written()


def test_a_vehicle_too_tall_for_the_vessel_is_refused_on_its_height(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(max_vehicle_height_cm=200))

    errors = refused(request_data(sailing, vehicle={**CAR, "height_cm": 240}))

    assert errors == {"vehicle.height_cm": ["Vehicles up to 200 cm high fit on " + sailing.vessel.name + "."]}
    assert nothing_written()


def test_over_capacity_is_refused_as_sold_out(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(passenger_capacity=1))

    errors = refused(request_data(sailing, passengers=[ADULT, {**ADULT, "first_name": "Sami"}]))

    assert errors["outbound_sailing_id"][0].startswith("Sold out")
    assert BookingLeg.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_remote_hold_is_given_back_when_our_own_leg_is_full(operator_simulator, settings, marseille_tunis):
    remote_route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    out = sailing_factory(route=remote_route, departs_in=dt.timedelta(days=10))
    full = VesselFactory(operator=marseille_tunis.operator, passenger_capacity=1)
    back = sailing_factory(route=marseille_tunis, vessel=full, departs_in=dt.timedelta(days=14))

    errors = refused(request_data(out, back, passengers=[ADULT, {**ADULT, "first_name": "Sami"}]))

    assert "return_sailing_id" in errors
    assert (simulator.calls["hold"], simulator.calls["cancel"]) == (1, 1)
    assert (taken(out), taken(back)) == (0, 0)
    assert not Booking.objects.exists()


# --- fare families ------------------------------------------------------------------------------------------------


def test_each_leg_is_sold_in_the_fare_family_chosen_with_its_rules_frozen_on_the_leg(tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))

    booking = held_booking(out, back, outbound_fare_family="basic", return_fare_family="flex")
    FareFamily.objects.filter(code="flex").update(refund_full_days=30, max_changes=1)  # later edits change nothing

    outbound, inbound = booking.legs.get(direction="outbound"), booking.legs.get(direction="return")
    assert (outbound.fare_family, outbound.fare_family_name, outbound.price_minor) == ("basic", "Basic", 8500)
    assert (inbound.fare_family, inbound.price_minor) == ("flex", 12500)
    assert booking.total_minor == 8500 + 12500
    assert (outbound.refund_full_days, outbound.refund_partial_percent) == (None, 0)
    assert outbound.change_rules["allowed"] is False
    inbound.refresh_from_db()
    assert (inbound.refund_full_days, inbound.change_rules["max_changes"]) == (1, 5)
    assert inbound.change_rules["fee_fixed"] == {"amount_minor": 0, "currency": "EUR"}


def test_a_booking_naming_no_fare_family_is_sold_in_standard(tunis_marseille):
    booking = held_booking(sailing_factory(route=tunis_marseille))

    leg = booking.legs.get()
    assert (leg.fare_family, leg.price_minor, leg.refund_full_days) == ("standard", 10000, 7)
    assert leg.change_rules["max_changes"] == 2


def test_a_fare_family_the_sailing_is_not_sold_in_is_refused_on_its_leg_and_nothing_is_written(
    tunis_marseille, marseille_tunis
):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))

    errors = refused(request_data(out, back, return_fare_family="premium"))

    assert list(errors) == ["return_fare_family"]
    assert "premium" in errors["return_fare_family"][0]
    assert nothing_written()
    assert (taken(out), taken(back)) == (0, 0)


@pytest.mark.parametrize("code", ["", "Flex", "flex!", "f", "x" * 21, 3, None])
def test_a_malformed_fare_family_is_refused_on_its_field(code, tunis_marseille):
    errors = refused(request_data(sailing_factory(route=tunis_marseille), outbound_fare_family=code))

    assert list(errors) == ["outbound_fare_family"]
    assert nothing_written()


def test_cancelling_refunds_by_the_fare_family_of_each_leg(tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=3))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=6))
    booking = held_booking(out, back, outbound_fare_family="basic", return_fare_family="flex")
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    booking.refresh_from_db()

    # Three days before: Basic gives nothing back, Flex everything (until a day before), Standard would give half.
    assert refund_due(booking=booking, at=timezone.now()) == 12500


# --- extras -------------------------------------------------------------------------------------------------------


def test_meals_and_priority_boarding_are_priced_per_leg_and_priority_takes_a_place_of_its_own(
    tunis_marseille, marseille_tunis
):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))

    booking = held_booking(
        out, back, passengers=[ADULT, CHILD],
        outbound_extras={"dinners": 2, "breakfasts": 1, "priority_boarding": True},
        return_extras={"priority_boarding": False},
    )  # fmt: skip

    outbound, inbound = booking.legs.get(direction="outbound"), booking.legs.get(direction="return")
    lines = {line["code"]: (line["quantity"], line["unit"]["amount_minor"]) for line in outbound.price_lines}
    assert lines["meal:dinner"] == (2, 2500)
    assert lines["meal:breakfast"] == (1, 1200)
    assert lines["priority_boarding"] == (1, 1500)
    assert outbound.price_minor == 10000 + 5000 + 2 * 2500 + 1200 + 1500
    assert not {"meal:dinner", "priority_boarding"} & {line["code"] for line in inbound.price_lines}
    assert booking.total_minor == outbound.price_minor + inbound.price_minor
    assert (taken(out, Resource.PRIORITY_BOARDING), taken(back, Resource.PRIORITY_BOARDING)) == (1, 0)


def test_priority_boarding_is_never_oversold_and_its_refusal_names_the_field(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille)  # two priority places
    for _party in range(2):
        held_booking(sailing, outbound_extras={"priority_boarding": True})

    errors = refused(request_data(sailing, outbound_extras={"priority_boarding": True}))

    assert list(errors) == ["outbound_extras.priority_boarding"]
    assert taken(sailing, Resource.PRIORITY_BOARDING) == 2
    assert Booking.objects.count() == 2
    assert taken(sailing) == 2, "the refused party's passenger place was not kept"


def test_an_extra_the_sailing_does_not_sell_is_refused_on_its_leg(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille)
    Fare.objects.update(dinner_amount_minor=None)

    errors = refused(request_data(sailing, outbound_extras={"dinners": 1}))

    assert list(errors) == ["outbound_extras"]
    assert "Dinner is not sold on this sailing." in errors["outbound_extras"]
    assert nothing_written()


@pytest.mark.parametrize(
    ("extras", "field"),
    [
        ({"dinners": 3}, "outbound_extras.dinners"),  # two passengers
        ({"breakfasts": -1}, "outbound_extras.breakfasts"),
        ({"dinners": "two"}, "outbound_extras.dinners"),
        ({"priority_boarding": "yes"}, "outbound_extras.priority_boarding"),
        ("dinner", "outbound_extras"),
    ],
)
def test_malformed_extras_are_refused_naming_the_field(extras, field, tunis_marseille):
    data = request_data(sailing_factory(route=tunis_marseille), passengers=[ADULT, CHILD], outbound_extras=extras)

    assert list(refused(data)) == [field]
    assert nothing_written()


def test_cancellation_protection_is_priced_per_passenger_on_every_leg(tunis_marseille, marseille_tunis):
    out = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))

    booking = held_booking(out, back, passengers=[ADULT, CHILD, INFANT], cancellation_protection=True)

    assert booking.cancellation_protection is True
    for leg in booking.legs.all():
        assert {line["code"]: line["quantity"] for line in leg.price_lines}["protection"] == 3
    assert booking.total_minor == 2 * (10000 + 5000 + 3 * 800)


def test_cancellation_protection_refunds_all_but_itself_until_a_day_before_whatever_the_fare(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=2))
    booking = held_booking(sailing, outbound_fare_family="basic", cancellation_protection=True)
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    booking.refresh_from_db()
    departs = sailing.departs_at

    assert booking.total_minor == 8500 + 800
    assert refund_due(booking=booking, at=departs - dt.timedelta(hours=24)) == 8500, "Basic alone: nothing back"
    assert refund_due(booking=booking, at=departs - dt.timedelta(hours=23)) == 0


def test_without_protection_a_basic_fare_gives_nothing_back_and_nothing_is_charged_for_protection(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=2))
    booking = held_booking(sailing, outbound_fare_family="basic")
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    booking.refresh_from_db()

    assert booking.total_minor == 8500
    assert refund_due(booking=booking, at=timezone.now()) == 0


def test_places_taken_again_after_a_late_payment_include_the_legs_priority_boarding_and_keep_its_price(
    tunis_marseille, eager_tasks
):
    sailing = sailing_factory(route=tunis_marseille)
    booking = held_booking(sailing, outbound_fare_family="flex", outbound_extras={"priority_boarding": True})
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))
    bookings_expire()
    assert taken(sailing, Resource.PRIORITY_BOARDING) == 0

    with transaction.atomic():
        assert booking_rehold(booking_id=booking.pk) is True

    assert taken(sailing, Resource.PRIORITY_BOARDING) == 1
    assert taken(sailing) == 1
    leg = booking.legs.get()
    assert (leg.fare_family, leg.price_minor) == ("flex", 12500 + 1500)
    assert CapacityHold.objects.get(ref=leg.operator_hold_ref).quantities == {"passengers": 1, "priority_boarding": 1}


@pytest.mark.django_db(transaction=True)
def test_one_reader_serves_requests_read_at_once_each_with_its_own_passengers_and_errors(tunis_marseille):
    # The request's reader (and its passengers' reader for a day of travel) is built once and shared by the threads
    # of a web process: nothing of one request may show in another's answer.
    sailings = [sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=days)) for days in (5, 40)]

    def name(i: int) -> str:
        return "Traveller" + "".join("abcdefghij"[int(digit)] for digit in str(i))

    def read(i: int):
        sailing, adult = sailings[i % 2], {**ADULT, "last_name": name(i)}
        passengers = [adult, {**CHILD, "date_of_birth": "1990-01-01"}] if i % 3 == 0 else [adult]
        try:
            request = parse_booking_request(request_data(sailing, passengers=passengers))
        except ValidationError as error:
            return "refused", sorted(error.message_dict)
        finally:
            connection.close()
        return request.outbound.pk, [p.last_name for p in request.passengers]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(read, range(48)))

    for i, answer in enumerate(answers):
        if i % 3 == 0:
            assert answer == ("refused", ["passengers.1.date_of_birth"]), i
        else:
            assert answer == (sailings[i % 2].pk, [name(i)]), i
