"""Remote operators receive the passenger and vehicle list with the confirmation, and again when a change touches
it — through their API (the operator simulator, a real HTTP server)."""

import datetime as dt

import pytest

from bookings.flows import changing
from bookings.services import booking_manifest_send
from bookings.tests.factories import ADULT, CHILD, confirmed_booking
from ferries.errors import OperatorError
from ferries.operators import adapter_for
from ferries.operators.base import PartyManifest
from ferries.tests.factories import OperatorFactory, RouteFactory, sailing_factory

pytestmark = pytest.mark.django_db(transaction=True)
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}


@pytest.fixture
def remote(operator_simulator, settings):
    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    return simulator, sailing_factory(route=route, departs_in=dt.timedelta(days=10))


def test_the_confirmation_carries_the_passenger_and_vehicle_list(remote):
    simulator, sailing = remote

    booking = confirmed_booking(sailing, passengers=[ADULT, CHILD], vehicle=CAR)

    received = simulator.manifests[booking.legs.get().operator_hold_ref]
    assert [(p["first_name"], p["last_name"], p["type"], p["document_number"]) for p in received["passengers"]] == [
        ("Amira", "Ben Salah", "adult", "X1234567"), ("Youssef", "Ben Salah", "child", "X1234567"),
    ]  # fmt: skip
    assert received["passengers"][0]["date_of_birth"] == "1985-04-12"
    assert received["vehicles"] == [
        {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150, "load": ""}
    ]


def test_a_change_of_the_partys_details_sends_the_list_again(remote):
    simulator, sailing = remote
    booking = confirmed_booking(sailing, passengers=[ADULT])
    hold = booking.legs.get().operator_hold_ref

    change = changing.change_request(booking=booking, data={"passengers": [{**ADULT, "last_name": "Ben Salah-Haddad"}]},
                                     actor="traveller")  # fmt: skip
    changing.change_confirm(change=change)
    assert booking_manifest_send(booking_id=booking.pk) == 1  # what send_manifest_task runs, after commit

    assert simulator.manifests[hold]["passengers"][0]["last_name"] == "Ben Salah-Haddad"
    assert simulator.calls["manifest"] == 1


def test_a_malformed_list_is_refused_by_the_operator(remote):
    simulator, sailing = remote
    booking = confirmed_booking(sailing)
    adapter_leg = booking.legs.select_related("sailing__route__operator").get()

    adapter = adapter_for(adapter_leg.sailing.route.operator)
    with pytest.raises(OperatorError):
        adapter.send_manifest(adapter_leg.operator_hold_ref, PartyManifest(passengers=({"first_name": "A"},)))
    assert simulator.manifests[adapter_leg.operator_hold_ref]["passengers"][0]["first_name"] == "Amira"
