import datetime as dt

import pytest
from django.utils import timezone

from ferries.choices import Accommodation, VehicleCategory
from ferries.party import Party, Vehicle
from ferries.pricing import NotPriced, quote, route_quote
from ferries.tests.factories import FareFactory, RouteFactory

pytestmark = pytest.mark.django_db


def lines(q) -> dict[str, tuple[int, int]]:
    return {line.code: (line.quantity, line.unit_minor) for line in q.lines}


def test_each_passenger_type_pays_its_fare_and_infants_travel_free():
    q = quote(fare=FareFactory(), party=Party(adults=2, children=1, infants=1, seniors=1))

    assert lines(q) == {
        "adult": (2, 10000),
        "child": (1, 5000),
        "infant": (1, 0),
        "senior": (1, 8500),
        "accommodation:deck": (4, 0),
    }
    assert (q.total_minor, q.currency) == (33500, "EUR")


def test_a_vehicle_pays_the_shortest_band_it_fits():
    fare = FareFactory()
    short = Party(vehicle=Vehicle(VehicleCategory.CAR, 480, 150))
    long = Party(vehicle=Vehicle(VehicleCategory.CAR, 520, 150))

    assert lines(quote(fare=fare, party=short))["vehicle:car"] == (1, 15000)
    assert lines(quote(fare=fare, party=long))["vehicle:car"] == (1, 20000)


def test_a_vehicle_longer_than_every_band_is_not_priced():
    with pytest.raises(NotPriced):
        quote(fare=FareFactory(), party=Party(vehicle=Vehicle(VehicleCategory.CAR, 650, 150)))


def test_cabins_are_priced_per_cabin_and_seats_per_occupant():
    fare = FareFactory()
    family = dict(adults=2, children=1, infants=1)

    cabins = quote(fare=fare, party=Party(**family, accommodation=Accommodation.INSIDE_2))
    seats = quote(fare=fare, party=Party(**family, accommodation=Accommodation.SEAT))

    assert lines(cabins)["accommodation:inside_2"] == (2, 8000), "three occupants need two 2-berth cabins"
    assert lines(seats)["accommodation:seat"] == (3, 1500), "the infant needs no seat"


def test_an_accommodation_the_route_does_not_sell_is_not_priced():
    with pytest.raises(NotPriced):
        quote(fare=FareFactory(), party=Party(accommodation=Accommodation.OUTSIDE_4))


def test_pets_are_charged_per_pet():
    assert lines(quote(fare=FareFactory(), party=Party(pets=2)))["pets"] == (2, 2000)


def test_there_is_no_price_outside_the_fare_seasons():
    route = RouteFactory()
    FareFactory(route=route)

    with pytest.raises(NotPriced):
        route_quote(route=route, day=timezone.now().date() + dt.timedelta(days=400), party=Party())


def test_the_quote_has_the_wire_shape_of_money():
    shape = quote(fare=FareFactory(), party=Party()).as_dict()

    assert shape["total"] == {"amount_minor": 10000, "currency": "EUR"}
    assert shape["lines"][0] == {
        "code": "adult",
        "quantity": 1,
        "unit": {"amount_minor": 10000, "currency": "EUR"},
        "total": {"amount_minor": 10000, "currency": "EUR"},
    }
