"""Taking and giving back a local sailing's capacity (PostgreSQL, conditional updates)."""

import datetime as dt

import pytest

from ferries.choices import Accommodation, Resource, VehicleCategory
from ferries.errors import OperatorRefused
from ferries.models import CapacityHold, Sailing, SailingInventory
from ferries.party import Party, Vehicle
from ferries.services import capacity_confirm, capacity_hold, capacity_release
from ferries.tests.factories import VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db

CAR = Vehicle(category=VehicleCategory.CAR, length_cm=450, height_cm=160)


def taken(sailing) -> dict[str, int]:
    return dict(SailingInventory.objects.filter(sailing=sailing).values_list("resource", "taken"))


def test_a_new_sailing_has_inventory_sized_from_its_vessel():
    sailing = sailing_factory()

    capacities = dict(SailingInventory.objects.filter(sailing=sailing).values_list("resource", "capacity"))
    assert capacities == {
        "passengers": 100,
        "lane_cm": 5000,
        "seat": 20,
        "inside_2": 5,
        "priority_boarding": 2,
        "kennels": 4,
    }


def test_a_hold_takes_places_lane_and_cabins_for_the_party():
    sailing = sailing_factory()
    party = Party(adults=2, children=1, infants=1, vehicles=(CAR,), accommodation=Accommodation.INSIDE_2)

    hold = capacity_hold(sailing=sailing, party=party, minutes=20)

    assert taken(sailing) == {
        "passengers": 4,
        "lane_cm": 500,
        "seat": 0,
        "inside_2": 2,
        "priority_boarding": 0,
        "kennels": 0,
    }
    assert hold.quantities == {"passengers": 4, "lane_cm": 500, "inside_2": 2}
    assert hold.status == CapacityHold.Status.HELD


def test_a_hold_that_does_not_fit_takes_nothing_at_all():
    sailing = sailing_factory()
    capacity_hold(sailing=sailing, party=Party(adults=2, accommodation=Accommodation.INSIDE_2), minutes=20)
    capacity_hold(sailing=sailing, party=Party(adults=8, accommodation=Accommodation.INSIDE_2), minutes=20)

    with pytest.raises(OperatorRefused) as refused:
        capacity_hold(sailing=sailing, party=Party(adults=3, accommodation=Accommodation.INSIDE_2), minutes=20)

    assert refused.value.code == "sold_out"
    assert taken(sailing)["passengers"] == 10, "passengers were taken before cabins ran out, then given back"
    assert CapacityHold.objects.count() == 2


def test_a_vehicle_taller_than_the_vessel_allows_is_refused():
    sailing = sailing_factory(vessel=VesselFactory(max_vehicle_height_cm=200))
    van = Vehicle(category=VehicleCategory.VAN, length_cm=550, height_cm=250)

    with pytest.raises(OperatorRefused, match="up to 200 cm") as refused:
        capacity_hold(sailing=sailing, party=Party(vehicles=(van,)), minutes=20)

    assert refused.value.code == "vehicle_too_tall"


def test_a_cabin_the_vessel_lacks_is_refused_as_not_offered():
    sailing = sailing_factory(vessel=VesselFactory(accommodations={}))

    with pytest.raises(OperatorRefused) as refused:
        capacity_hold(sailing=sailing, party=Party(accommodation=Accommodation.OUTSIDE_4), minutes=20)

    assert refused.value.code == "not_offered"


def test_a_cancelled_or_departing_sailing_cannot_be_held():
    cancelled = sailing_factory()
    Sailing.objects.filter(pk=cancelled.pk).update(status=Sailing.Status.CANCELLED)
    cancelled.refresh_from_db()
    leaving = sailing_factory(departs_in=dt.timedelta(minutes=30))

    for sailing in (cancelled, leaving):
        with pytest.raises(OperatorRefused) as refused:
            capacity_hold(sailing=sailing, party=Party(), minutes=20)
        assert refused.value.code == "not_bookable"


def test_releasing_gives_the_capacity_back_once():
    sailing = sailing_factory()
    hold = capacity_hold(sailing=sailing, party=Party(adults=2, vehicles=(CAR,)), minutes=20)

    capacity_release(hold_ref=hold.ref)
    capacity_release(hold_ref=hold.ref)

    assert taken(sailing) == {
        "passengers": 0,
        "lane_cm": 0,
        "seat": 0,
        "inside_2": 0,
        "priority_boarding": 0,
        "kennels": 0,
    }
    assert CapacityHold.objects.get(pk=hold.pk).status == CapacityHold.Status.RELEASED


def test_confirming_keeps_the_capacity_and_is_idempotent():
    sailing = sailing_factory()
    hold = capacity_hold(sailing=sailing, party=Party(adults=2), minutes=20)

    first = capacity_confirm(hold_ref=hold.ref).confirmation_ref
    second = capacity_confirm(hold_ref=hold.ref).confirmation_ref

    assert first == second
    assert taken(sailing)[Resource.PASSENGERS] == 2


def test_a_released_hold_cannot_be_confirmed():
    hold = capacity_hold(sailing=sailing_factory(), party=Party(), minutes=20)
    capacity_release(hold_ref=hold.ref)

    with pytest.raises(OperatorRefused) as refused:
        capacity_confirm(hold_ref=hold.ref)

    assert refused.value.code == "hold_released"


def test_the_database_refuses_to_oversell_even_without_the_condition():
    from django.db import IntegrityError, transaction
    from django.db.models import F

    sailing = sailing_factory()

    with pytest.raises(IntegrityError), transaction.atomic():
        SailingInventory.objects.filter(sailing=sailing, resource=Resource.PASSENGERS).update(taken=F("capacity") + 1)
