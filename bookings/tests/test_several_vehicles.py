"""Several vehicles on one booking: each takes its length and a gap in the lanes, each is priced by its own band, and
each must fit under the vessel's deck with what is on its roof."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from bookings.flows import changing
from bookings.manifests import sailing_manifest
from bookings.models import Booking, BookingVehicle
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from bookings.tests.factories import confirmed_booking, held_booking, request_data
from ferries.choices import LANE_GAP_CM, Resource, VehicleCategory
from ferries.models import CapacityHold, Fare, SailingInventory, VehicleFare
from ferries.tests.factories import VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db

CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 160}
TRAILER = {"category": "trailer", "registration": "TR-55", "length_cm": 400, "height_cm": 200}
BIKE = {"category": "motorcycle", "registration": "MO-1", "length_cm": 220, "height_cm": 140}
CAR_AND_TRAILER_CM = 450 + LANE_GAP_CM + 400 + LANE_GAP_CM


def sailing_with_lanes(route, *, lane_metres: int = 50, max_height_cm: int = 400):
    vessel = VesselFactory(operator=route.operator, lane_metres=lane_metres, max_vehicle_height_cm=max_height_cm)
    sailing = sailing_factory(route=route, vessel=vessel)
    for fare in Fare.objects.filter(route=route):
        VehicleFare.objects.get_or_create(
            fare=fare, category=VehicleCategory.TRAILER, max_length_cm=900, defaults={"amount_minor": 9000}
        )
    return sailing


def lane_taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.LANE_CM).taken


def refused(data) -> dict:
    with pytest.raises(ValidationError) as error:
        booking_create(request=parse_booking_request(data))
    return error.value.message_dict


def test_a_car_and_its_trailer_take_both_lengths_and_a_gap_each_and_are_priced_each(tunis_marseille):
    sailing = sailing_with_lanes(tunis_marseille)

    booking = held_booking(sailing, vehicles=[CAR, TRAILER])

    assert lane_taken(sailing) == CAR_AND_TRAILER_CM
    assert [(v.category, v.registration) for v in booking.vehicles.all()] == [
        ("car", "AB-123-CD"),
        ("trailer", "TR-55"),
    ]
    lines = [(line["code"], line["unit"]["amount_minor"]) for line in booking.legs.get().price_lines]
    assert [line for line in lines if line[0].startswith("vehicle:")] == [
        ("vehicle:car", 15000),
        ("vehicle:trailer", 9000),
    ]


def test_a_rear_rack_adds_its_length_to_the_lanes_and_the_price_band(tunis_marseille):
    sailing = sailing_with_lanes(tunis_marseille)

    booking = held_booking(sailing, vehicles=[{**CAR, "load": "rear_rack"}])

    assert lane_taken(sailing) == 450 + 80 + LANE_GAP_CM
    lines = [(line["code"], line["unit"]["amount_minor"]) for line in booking.legs.get().price_lines]
    assert ("vehicle:car", 20000) in lines  # 530 cm: the band up to 600 cm


def test_a_second_party_whose_vehicles_would_exceed_the_lanes_is_refused_and_nothing_of_it_is_written(tunis_marseille):
    sailing = sailing_with_lanes(tunis_marseille, lane_metres=15)
    held_booking(sailing, vehicles=[CAR, TRAILER])

    errors = refused(request_data(sailing, vehicles=[CAR, TRAILER]))

    assert errors["outbound_sailing_id"][0].startswith("Sold out")
    assert lane_taken(sailing) == CAR_AND_TRAILER_CM
    assert (Booking.objects.count(), BookingVehicle.objects.count(), CapacityHold.objects.count()) == (1, 2, 1)


def test_a_roof_box_making_a_car_too_tall_is_refused_on_that_vehicles_height(tunis_marseille):
    sailing = sailing_with_lanes(tunis_marseille, max_height_cm=200)  # the car is 160 cm, 210 with its roof box

    errors = refused(request_data(sailing, vehicles=[BIKE, {**CAR, "load": "roof_box"}]))

    assert errors == {"vehicles.1.height_cm": [f"Vehicles up to 200 cm high fit on {sailing.vessel.name}."]}
    assert (Booking.objects.count(), CapacityHold.objects.count()) == (0, 0)


def test_search_shows_a_sailing_unavailable_when_a_roof_box_makes_the_second_vehicle_too_tall(tunis_marseille):
    sailing = sailing_with_lanes(tunis_marseille, max_height_cm=200)
    day = sailing.departs_at.astimezone(sailing.route.origin.tz).date().isoformat()
    query = {"from": "TNTUN", "to": "FRMRS", "date": day, "vehicle": "motorcycle", "vehicle2": "car"}

    fits = APIClient().get("/api/v1/sailings/search", query).json()
    too_tall = APIClient().get("/api/v1/sailings/search", query | {"vehicle2_load": "roof_box"}).json()

    assert [row["availability"]["status"] for row in fits["outbound"]] == ["available"]
    assert [row["availability"]["status"] for row in too_tall["outbound"]] == ["unavailable"]


@pytest.mark.parametrize(
    ("vehicles", "field"),
    [
        pytest.param([CAR, {**TRAILER, "registration": "$$$"}], "vehicles.1.registration", id="bad plate"),
        pytest.param([CAR, {**TRAILER, "load": "sofa"}], "vehicles.1.load", id="unknown load"),
        pytest.param([CAR, None], "vehicles.1", id="null vehicle"),
        pytest.param([CAR] * 5, "vehicles", id="five vehicles"),
        pytest.param({"category": "car"}, "vehicles", id="an object for the list"),
    ],
)
def test_a_vehicle_in_error_is_named_by_its_place_and_nothing_is_written(tunis_marseille, vehicles, field):
    errors = refused(request_data(sailing_with_lanes(tunis_marseille), vehicles=vehicles))

    assert list(errors) == [field]
    assert (Booking.objects.count(), CapacityHold.objects.count()) == (0, 0)


def test_vehicles_and_the_older_single_vehicle_together_are_refused_on_vehicle(tunis_marseille):
    errors = refused(request_data(sailing_with_lanes(tunis_marseille), vehicle=CAR, vehicles=[TRAILER]))

    assert list(errors) == ["vehicle"]
    assert not Booking.objects.exists()


def test_the_api_books_several_vehicles_and_lists_them_with_the_first_as_vehicle(tunis_marseille):
    sailing = sailing_with_lanes(tunis_marseille)

    response = APIClient().post(
        "/api/v1/bookings", request_data(sailing, vehicles=[CAR, {**TRAILER, "load": ""}]), format="json"
    )

    body = response.json()
    assert response.status_code == 201, body
    assert [v["registration"] for v in body["vehicles"]] == ["AB-123-CD", "TR-55"]
    assert body["vehicle"] == {**CAR, "load": ""}


def test_a_change_removes_one_vehicle_and_gives_its_lane_space_back(tunis_marseille):

    sailing = sailing_with_lanes(tunis_marseille)
    booking = confirmed_booking(sailing, vehicles=[CAR, TRAILER])

    change = changing.change_request(booking=booking, data={"vehicles": [CAR]}, actor="traveller")
    change, _payment = changing.change_confirm(change=change)

    assert change.status == "confirmed"
    assert [v.registration for v in booking.vehicles.all()] == ["AB-123-CD"]
    assert lane_taken(sailing) == 450 + LANE_GAP_CM


def test_the_website_books_the_vehicles_searched_for_each_with_its_registration(client, tunis_marseille):
    from bookings.tests.test_website import details, details_url

    sailing = sailing_with_lanes(tunis_marseille)
    url = details_url(sailing, vehicle="car", vehicle2="trailer", vehicle2_load="roof_bikes")
    vehicles = {"vehicles-0-registration": "AB-123-CD", "vehicles-1-registration": "TR-55"}

    response = client.post(url, details(**vehicles, **{"vehicles-1-load": "roof_bikes"}))

    assert response.status_code == 302, response.content.decode()[:2000]
    booking = Booking.objects.get()
    assert [(v.category, v.registration, v.load) for v in booking.vehicles.all()] == [
        ("car", "AB-123-CD", ""), ("trailer", "TR-55", "roof_bikes"),
    ]  # fmt: skip


def test_at_the_quay_each_vehicle_of_the_party_is_checked_in_boarded_and_listed_on_its_own(tunis_marseille):
    from bookings import boarding

    sailing = sailing_with_lanes(tunis_marseille)
    booking = confirmed_booking(sailing, vehicles=[CAR, TRAILER])
    leg = booking.legs.get()
    adult = list(booking.passengers.values_list("pk", flat=True))

    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=adult, vehicle=True, agent="staff:1")
    boarding.travellers_board(leg_id=leg.pk, passenger_ids=adult, vehicle=True, agent="staff:1")

    assert sorted(leg.boardings.filter(vehicle__isnull=False).values_list("vehicle__registration", flat=True)) == [
        "AB-123-CD", "TR-55",
    ]  # fmt: skip
    status = boarding.leg_boarding_status(leg=leg)
    assert (status["vehicles"], status["vehicle_checked_in"], status["vehicle_boarded"]) == (2, True, True)
    manifest = sailing_manifest(sailing_id=sailing.pk)
    assert [(v.registration, bool(v.boarded_at)) for v in manifest.vehicles] == [("AB-123-CD", True), ("TR-55", True)]
    assert (manifest.progress.vehicles, manifest.progress.vehicles_boarded) == (2, 2)


def test_a_measure_at_the_quay_changes_only_the_vehicle_measured(tunis_marseille):
    from bookings.flows.remeasuring import vehicle_remeasure

    sailing = sailing_with_lanes(tunis_marseille)
    booking = confirmed_booking(sailing, vehicles=[CAR, TRAILER])
    car, trailer = booking.vehicles.all()

    vehicle_remeasure(booking_id=booking.pk, vehicle_id=trailer.pk, length_cm=350, height_cm=200, actor="staff:1")

    car.refresh_from_db()
    trailer.refresh_from_db()
    assert (car.length_cm, car.measured_at) == (450, None)
    assert (trailer.length_cm, trailer.measured_by) == (350, "staff:1")
    assert lane_taken(sailing) == 450 + LANE_GAP_CM + 350 + LANE_GAP_CM
