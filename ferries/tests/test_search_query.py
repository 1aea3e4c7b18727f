"""The one place search input is read and checked; every rule names the field it is about."""

import dataclasses
import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ferries.choices import Accommodation, VehicleCategory
from ferries.operators.base import PartyManifest
from ferries.party import Party, Vehicle
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


def test_several_vehicles_are_read_in_order_with_their_loads_and_equal_queries_make_equal_parties():
    query = {**VALID, "vehicle2": "trailer", "vehicle2_load": "roof_box", "vehicle": "car", "vehicle_load": "rear_rack"}
    party = parse_search_query(query).outbound.party

    assert party.vehicles == (
        Vehicle(VehicleCategory.CAR, 450, 160, "rear_rack"), Vehicle(VehicleCategory.TRAILER, 400, 200, "roof_box"),
    )  # fmt: skip
    assert party.needs()["lane_cm"] == (450 + 80 + 50) + (400 + 50)
    assert party.too_tall(240) == 1  # the trailer, 250 cm with its roof box
    assert Party.from_dict(party.as_dict()) == party
    assert parse_search_query(dict(reversed(query.items()))).outbound.party == party


def test_a_party_written_before_several_vehicles_and_kinds_of_pets_is_read_as_it_was():
    old = {"adults": 2, "children": 0, "infants": 0, "seniors": 0, "accommodation": "deck", "pets": 1,
           "vehicle": {"category": "car", "length_cm": 450, "height_cm": 160}}  # fmt: skip

    party = Party.from_dict(old)

    assert party.vehicles == (Vehicle(VehicleCategory.CAR, 450, 160),)
    assert party.pet_counts == {"other": 1}
    assert Party.from_dict({**old, "vehicle": None}).vehicles == ()


def test_a_manifest_with_one_vehicle_as_older_clients_send_it_is_read_as_a_list_of_one():
    passenger = {"type": "adult", "first_name": "A", "last_name": "B", "date_of_birth": "1985-04-12",
                 "nationality": "TN", "document_number": "X1234567"}  # fmt: skip
    vehicle = {"category": "car", "registration": "AB-1", "length_cm": 450, "height_cm": 160}

    manifest = PartyManifest.from_dict({"passengers": [passenger], "vehicle": vehicle})

    assert manifest.as_dict()["vehicles"] == [{**vehicle, "load": ""}]
    with pytest.raises(ValueError, match=r"manifest\.vehicles\.0\.load"):
        PartyManifest.from_dict({"passengers": [passenger], "vehicles": [{**vehicle, "load": "piano"}]})


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
        ({"vehicle2_load": "roof_box"}, "vehicle2_load"),
        ({"vehicle2": "car", "vehicle2_height_cm": "300"}, "vehicle2_height_cm"),
        ({"vehicle": "car", "vehicle_load": "piano"}, "vehicle_load"),
        ({"pets": "1", "dogs": "1", "cats": "1"}, "pets"),
        ({"dogs": "3", "cats": "2"}, "pets"),
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


def test_a_partys_wire_form_is_every_field_with_its_vehicles_as_a_list_as_the_caches_keys_were_made_of():
    party = Party(adults=2, children=1, vehicles=(Vehicle("car", 450, 180, "roof_box"), Vehicle("trailer", 400, 200)),
                  accommodation=Accommodation.PET_4, pets=2, dogs=1)  # fmt: skip

    assert party.as_dict() == dataclasses.asdict(party) | {"vehicles": [dataclasses.asdict(v) for v in party.vehicles]}
    canonical = json.dumps(party.as_dict(), sort_keys=True, separators=(",", ":"))
    assert canonical == json.dumps(dataclasses.asdict(party), sort_keys=True, separators=(",", ":"))
