"""Pets by kind: each priced at its fare's price for dogs, cats or others, a kennel each on deck and none in a
pet-friendly cabin, their kinds kept on the booking and shown in the manifest."""

import pytest
from django.core.exceptions import ValidationError

from bookings.flows import changing
from bookings.manifests import sailing_manifest
from bookings.models import Booking
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from bookings.tests.factories import ADULT, confirmed_booking, held_booking, request_data
from bookings.tests.test_pets_and_assistance import inventory, priced_cabins
from bookings.tests.test_website import details, details_url
from ferries.choices import Accommodation, Resource
from ferries.models import CapacityHold, Fare, SailingInventory
from ferries.tests.factories import VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db


def sailing_with_pet_prices(**vessel):
    sailing = sailing_factory(vessel=VesselFactory(kennels=4, **vessel))
    Fare.objects.filter(route=sailing.route).update(pet_amount_minor=1500, dog_amount_minor=3500, cat_amount_minor=2500)
    return sailing


def pet_lines(booking: Booking) -> dict[str, tuple[int, int]]:
    lines = booking.legs.get().price_lines
    return {
        line["code"]: (line["quantity"], line["unit"]["amount_minor"])
        for line in lines
        if line["code"].startswith("pet")
    }


def test_each_pet_is_priced_at_its_kinds_price_and_takes_a_kennel_on_deck():
    sailing = sailing_with_pet_prices()

    booking = held_booking(sailing, pets=3, dogs=1, cats=1)

    assert (booking.pets, booking.dogs, booking.cats) == (3, 1, 1)
    assert pet_lines(booking) == {"pet:dog": (1, 3500), "pet:cat": (1, 2500), "pet:other": (1, 1500)}
    assert inventory(sailing, Resource.KENNELS).taken == 3


def test_pets_left_out_are_the_dogs_and_cats_and_in_a_pet_friendly_cabin_they_take_no_kennel():
    sailing = sailing_with_pet_prices(accommodations={Accommodation.PET_4: 3})
    priced_cabins(sailing)

    booking = held_booking(sailing, passengers=[ADULT, ADULT], dogs=2, accommodation="pet_4")

    assert (booking.pets, booking.dogs, booking.cats) == (2, 2, 0)
    assert pet_lines(booking) == {"pet:dog": (2, 3500)}
    assert inventory(sailing, Resource.PET_4).taken == 1
    assert inventory(sailing, Resource.KENNELS).taken == 0


@pytest.mark.parametrize(
    "pets", [{"pets": 1, "dogs": 1, "cats": 1}, {"dogs": 3, "cats": 2}, {"cats": "a few"}], ids=str
)
def test_pets_that_do_not_add_up_are_refused_on_their_field_and_nothing_is_written(pets):
    with pytest.raises(ValidationError) as error:
        booking_create(request=parse_booking_request(request_data(sailing_with_pet_prices(), **pets)))

    assert list(error.value.message_dict) == ["cats" if pets.get("cats") == "a few" else "pets"]
    assert (Booking.objects.count(), CapacityHold.objects.count()) == (0, 0)
    assert not SailingInventory.objects.filter(resource=Resource.KENNELS, taken__gt=0).exists()


def test_the_website_books_the_kinds_of_pets_searched_for(client):
    sailing = sailing_with_pet_prices()

    response = client.post(details_url(sailing, pets=2, cats=1), details(pets="2", cats="1", dogs="1"))

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.pets, booking.dogs, booking.cats) == (2, 1, 1)


def test_a_change_of_kinds_reprices_the_pets_and_the_manifest_names_them():
    sailing = sailing_with_pet_prices()
    booking = confirmed_booking(sailing, pets=2, dogs=2, outbound_fare_family="flex")  # changed without a fee

    change = changing.change_request(booking=booking, data={"dogs": 1, "cats": 1}, actor="traveller")
    change, _payment = changing.change_confirm(change=change)

    assert change.status == "confirmed"
    booking.refresh_from_db()
    assert (booking.pets, booking.dogs, booking.cats) == (2, 1, 1)
    assert pet_lines(booking) == {"pet:dog": (1, 4375), "pet:cat": (1, 3125)}  # Flex: 125 %
    [entry] = sailing_manifest(sailing_id=sailing.pk).bookings
    assert entry.pets_label == "2 (1 dog, 1 cat)"
