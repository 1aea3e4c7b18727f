"""The one place search input is read and checked; every rule names the field it is about."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ferries.choices import Accommodation, VehicleCategory
from ferries.party import Vehicle
from ferries.queries import parse_search_query


def day(n: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=n)).isoformat()


VALID = {"from": "TNTUN", "to": "FRMRS", "date": day(5)}


def errors_of(**changes) -> dict[str, list[str]]:
    params = {**VALID, **changes}
    with pytest.raises(ValidationError) as raised:
        parse_search_query({k: v for k, v in params.items() if v is not None})
    return raised.value.message_dict


def test_defaults_are_one_adult_on_deck_without_vehicle():
    query = parse_search_query(VALID)

    party = query.outbound.party
    assert (party.adults, party.children, party.infants, party.seniors) == (1, 0, 0, 0)
    assert (party.vehicles, party.accommodation) == ((), Accommodation.DECK)
    assert query.inbound is None


def test_a_return_date_adds_the_way_back():
    query = parse_search_query({**VALID, "return_date": day(9)})

    assert (query.inbound.origin, query.inbound.destination, query.inbound.day.isoformat()) == (
        "FRMRS",
        "TNTUN",
        day(9),
    )


def test_a_vehicle_without_dimensions_takes_its_category_defaults():
    party = parse_search_query({**VALID, "vehicle": "Car"}).outbound.party

    assert party.vehicles == (Vehicle(category=VehicleCategory.CAR, length_cm=450, height_cm=160),)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"from": "XX"}, "from"),
        ({"from": None}, "from"),
        ({"to": "TNTUN"}, "to"),
        ({"date": None}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "2026-W50-1"}, "date"),
        ({"to": "FRMRÉ"}, "to"),
        ({"date": day(-1)}, "date"),
        ({"date": day(400)}, "date"),
        ({"return_date": day(2)}, "return_date"),
        ({"adults": "0", "children": "1"}, "adults"),
        ({"adults": "0", "infants": "1"}, "adults"),
        ({"adults": "0"}, "adults"),
        ({"adults": "1", "infants": "2"}, "infants"),
        ({"adults": "5", "children": "5"}, "passengers"),
        ({"children": "-1"}, "children"),
        ({"seniors": "two"}, "seniors"),
        ({"vehicle": "tank"}, "vehicle"),
        ({"vehicle": "car", "vehicle_length_cm": "2000"}, "vehicle_length_cm"),
        ({"vehicle": "car", "vehicle_length_cm": "long"}, "vehicle_length_cm"),
        ({"vehicle": "car", "vehicle_height_cm": "20"}, "vehicle_height_cm"),
        ({"vehicle_length_cm": "400"}, "vehicle_length_cm"),
        ({"accommodation": "suite"}, "accommodation"),
    ],
)
def test_bad_input_is_refused_naming_the_field(changes, field):
    assert field in errors_of(**changes)


def test_every_problem_is_reported_at_once():
    assert set(errors_of(**{"from": "", "date": "soon", "adults": "1", "children": "-2"})) == {
        "from",
        "date",
        "children",
    }
