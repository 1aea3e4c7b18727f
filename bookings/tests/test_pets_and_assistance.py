"""Pets travel in a kennel on deck (a sailing's kennels are an inventory of their own) or with the party in a
pet-friendly cabin; passengers ask for assistance, and an accessible cabin is an accommodation of its own. Kennels and
accessible cabins are never sold twice, on real PostgreSQL with travellers on their own connections; assistance
reaches the operator and the manifest."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.admin.manifests import manifest_rows
from bookings.flows import changing
from bookings.manifests import sailing_manifest
from bookings.models import Booking
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from bookings.tests.factories import ADULT, confirmed_booking, held_booking, request_data
from bookings.tests.test_races import ATTEMPTS, live_holds_total, storm
from bookings.tests.test_website import adult, details, details_url
from ferries.choices import Accommodation, Resource
from ferries.models import AccommodationFare, SailingInventory
from ferries.party import Party
from ferries.queries import LegQuery
from ferries.search import leg_search
from ferries.tests.factories import OperatorFactory, RouteFactory, VesselFactory, sailing_factory

WHEELCHAIR = {**ADULT, "assistance": "wheelchair"}


def inventory(sailing, resource: str) -> SailingInventory:
    return SailingInventory.objects.get(sailing=sailing, resource=resource)


def priced_cabins(sailing) -> None:
    """The sailing's fare sells accessible and pet-friendly cabins."""
    fare = sailing.route.fares.get()
    AccommodationFare.objects.bulk_create(
        AccommodationFare(fare=fare, accommodation=kind, amount_minor=amount)
        for kind, amount in ((Accommodation.ACCESSIBLE_2, 8000), (Accommodation.PET_4, 12000))
    )


# --- never sold twice ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_parties_with_a_dog_for_the_last_three_kennels_get_exactly_three():
    sailing = sailing_factory(vessel=VesselFactory(kennels=3))

    outcomes = storm(request_data(sailing, passengers=[ADULT], pets=1))

    assert outcomes == {"held": 3, "Sold out": ATTEMPTS - 3}
    kennels = inventory(sailing, Resource.KENNELS)
    assert kennels.taken == kennels.capacity == live_holds_total(sailing, Resource.KENNELS) == 3
    assert inventory(sailing, Resource.PASSENGERS).taken == 3


@pytest.mark.django_db(transaction=True)
def test_fifty_parties_for_the_last_two_accessible_cabins_get_exactly_two():
    sailing = sailing_factory(vessel=VesselFactory(accommodations={Accommodation.ACCESSIBLE_2: 2}))
    priced_cabins(sailing)

    outcomes = storm(request_data(sailing, passengers=[WHEELCHAIR, ADULT], accommodation="accessible_2"))

    assert outcomes == {"held": 2, "Sold out": ATTEMPTS - 2}
    cabins = inventory(sailing, Resource.ACCESSIBLE_2)
    assert cabins.taken == cabins.capacity == live_holds_total(sailing, Resource.ACCESSIBLE_2) == 2
    assert set(Booking.objects.values_list("passengers__assistance", flat=True)) == {"wheelchair", ""}


# --- where pets travel ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pets_in_a_pet_friendly_cabin_take_no_kennel_and_a_ship_without_kennels_takes_them_only_there():
    sailing = sailing_factory(vessel=VesselFactory(kennels=0, accommodations={Accommodation.PET_4: 3}))
    priced_cabins(sailing)
    on_deck, in_cabin = Party(adults=2, pets=2), Party(adults=2, pets=2, accommodation=Accommodation.PET_4)

    def status(party: Party) -> str:
        query = LegQuery(sailing.route.origin.code, sailing.route.destination.code, sailing.local_day, party)
        return leg_search(query=query)["sailings"][0]["availability"]["status"]

    assert (status(on_deck), status(in_cabin)) == ("unavailable", "available")
    with pytest.raises(ValidationError):
        held_booking(sailing, passengers=[ADULT, ADULT], pets=2)
    booking = held_booking(sailing, passengers=[ADULT, ADULT], pets=2, accommodation="pet_4")
    assert (booking.pets, booking.accommodation) == (2, "pet_4")
    assert inventory(sailing, Resource.PET_4).taken == 1
    assert not SailingInventory.objects.filter(sailing=sailing, resource=Resource.KENNELS).exists()


@pytest.mark.django_db
def test_a_sailing_whose_kennels_are_taken_is_sold_out_for_a_party_with_a_pet_and_not_for_one_without():
    sailing = sailing_factory(vessel=VesselFactory(kennels=1))
    held_booking(sailing, pets=1)
    query = lambda pets: LegQuery(  # noqa: E731
        sailing.route.origin.code, sailing.route.destination.code, sailing.local_day, Party(pets=pets)
    )

    assert leg_search(query=query(1))["sailings"][0]["availability"]["status"] == "sold_out"
    assert leg_search(query=query(0))["sailings"][0]["availability"]["status"] in {"available", "limited"}
    assert inventory(sailing, Resource.KENNELS).taken == 1


# --- assistance ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_assistance_is_kept_answered_and_shown_in_every_form_of_the_manifest(admin_client):
    sailing = sailing_factory()
    booking = confirmed_booking(sailing, passengers=[WHEELCHAIR, {**ADULT, "first_name": "Sami"}])

    manifest = sailing_manifest(sailing_id=sailing.pk)
    page = admin_client.get(reverse("admin:bookings_sailing_manifest", args=[sailing.pk]))
    rows = {row["first_name"]: row["assistance"] for row in manifest_rows(manifest) if row["kind"] == "passenger"}

    assert [(p.first_name, p.assistance_label) for p in manifest.assistance] == [("Amira", "Wheelchair user")]
    assert rows == {"Amira": "wheelchair", "Sami": ""}
    assert "Wheelchair user" in page.content.decode()
    api = APIClient().get(f"/api/v1/bookings/{booking.reference}", HTTP_X_BOOKING_TOKEN=access_token(booking))
    assert [p["assistance"] for p in api.json()["passengers"]] == ["wheelchair", ""]


@pytest.mark.django_db(transaction=True)
def test_a_remote_operator_is_told_who_needs_assistance(operator_simulator, settings):
    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    sailing = sailing_factory(route=route, departs_in=dt.timedelta(days=10))

    booking = confirmed_booking(sailing, passengers=[{**ADULT, "assistance": "visual"}, ADULT])

    received = simulator.manifests[booking.legs.get().operator_hold_ref]["passengers"]
    assert [passenger["assistance"] for passenger in received] == ["visual", ""]


@pytest.mark.django_db
def test_an_unknown_assistance_is_refused_on_its_passenger_and_nothing_is_held():
    data = request_data(passengers=[ADULT, {**ADULT, "assistance": "jetpack"}])

    with pytest.raises(ValidationError) as refused:
        booking_create(request=parse_booking_request(data))

    assert list(refused.value.message_dict) == ["passengers.1.assistance"]
    assert "wheelchair, reduced_mobility, visual, hearing" in refused.value.message_dict["passengers.1.assistance"][0]
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_the_website_asks_each_passenger_for_the_assistance_they_need(client, unlimited_forms):
    sailing = sailing_factory()

    client.post(details_url(sailing), details(**adult(assistance="reduced_mobility")))

    assert Booking.objects.get().passengers.get().assistance == "reduced_mobility"


@pytest.mark.django_db
def test_pets_searched_for_go_on_to_the_details_and_the_kennels_decide_what_shows(
    client, tunis_marseille, django_capture_on_commit_callbacks
):
    roomy = sailing_factory(route=tunis_marseille, vessel=VesselFactory(kennels=2))
    search = {"from": "TNTUN", "to": "FRMRS", "date": roomy.local_day.isoformat(), "trip": "one_way", "pets": 2}

    results = client.get(reverse("sailing_results"), search)
    with django_capture_on_commit_callbacks(execute=True):  # the sailing's cached availability dropped
        held_booking(roomy, pets=1)
    full = client.get(reverse("sailing_results"), search)

    assert '<input type="hidden" name="pets" value="2">' in results.content.decode()
    assert "sailing-card--available" in results.content.decode()
    assert "sailing-card--sold_out" in full.content.decode()  # one kennel left for two pets
    page = client.get(details_url(roomy, pets=2))
    assert page.context["form"]["pets"].value() == 2


@pytest.mark.django_db
def test_a_change_of_sailing_keeps_the_assistance_passengers_asked_for(trip):
    booking = confirmed_booking(trip["out"], trip["back"], passengers=[WHEELCHAIR], outbound_fare_family="flex")

    change = changing.change_request(booking=booking, data={"outbound_sailing_id": trip["later_out"].pk},
                                     actor="traveller")  # fmt: skip
    changing.change_confirm(change=change)

    booking.refresh_from_db()
    assert booking.legs.get(direction="outbound").sailing_id == trip["later_out"].pk
    assert list(booking.passengers.values_list("assistance", flat=True)) == ["wheelchair"]
