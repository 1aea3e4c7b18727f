"""Changing a booking through the mobile API, following its OpenAPI description: ask, read, confirm, pay the
difference with the demo card; and every refusal in the documented shape."""

import pytest
from django.contrib.auth.models import User
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.models import Booking, BookingChange
from bookings.tests.factories import ADULT, held_booking, pay_with_demo_card
from notifications.models import Email
from payments.tests.conftest import card

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api():
    return APIClient()


def confirmed(trip, **kwargs) -> Booking:
    booking = pay_with_demo_card(held_booking(trip["out"], trip["back"], **kwargs))
    assert booking.status == Booking.Status.CONFIRMED  # tasks run eagerly: paid, then confirmed by the operator
    return booking


def as_traveller(booking) -> dict:
    return {"HTTP_X_BOOKING_TOKEN": access_token(booking)}


def changes_url(booking, *rest) -> str:
    return "/".join([f"/api/v1/bookings/{booking.reference}/changes", *map(str, rest)])


def test_the_whole_change_journey_as_the_schema_describes_it(api, trip, eager_tasks):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/bookings/{reference}/changes"])
    assert "get" in paths["/api/v1/bookings/{reference}/changes/{change_id}"]
    confirm_doc = paths["/api/v1/bookings/{reference}/changes/{change_id}/confirm"]["post"]
    assert {"200", "202", "409"} <= set(confirm_doc["responses"])
    booking = confirmed(trip)
    headers = as_traveller(booking)

    quoted = api.post(changes_url(booking), {"return_sailing_id": trip["later_back"].pk, "return_fare_family": "flex"},
                      format="json", **headers)  # fmt: skip
    assert quoted.status_code == 201, quoted.json()
    body = quoted.json()
    assert (body["id"], body["status"]) == (1, "quoted")
    assert body["difference"] == {"amount_minor": 2500, "currency": "EUR"}
    assert body["fee"] == {"amount_minor": 1500, "currency": "EUR"}
    assert body["due"]["amount_minor"] == 4000
    assert body["refund"]["amount_minor"] == 0
    assert [leg["sailing_id"] for leg in body["new_legs"]] == [trip["later_back"].pk]
    assert body["new_legs"][0]["fare_family"] == {"code": "flex", "name": "Flex"}
    assert [leg["sailing_id"] for leg in body["replaces"]] == [trip["back"].pk]
    assert quoted["Location"].endswith(changes_url(booking, 1))
    assert api.get(changes_url(booking, 1), **headers).json()["status"] == "quoted"

    confirming = api.post(changes_url(booking, 1, "confirm"), **headers)
    assert confirming.status_code == 202
    payment = confirming.json()["payment"]
    assert payment["amount"] == {"amount_minor": 4000, "currency": "EUR"}
    paid = api.post(f"/api/v1/payments/demo/{payment['payment_intent_id']}/card", card("4242424242424242"),
                    format="json", **headers)  # fmt: skip
    assert paid.json() == {"status": "succeeded", "error": ""}

    made = api.get(changes_url(booking, 1), **headers).json()
    assert made["status"] == "confirmed"
    assert made["payment"] is None
    legs = api.get(f"/api/v1/bookings/{booking.reference}", **headers).json()["legs"]
    assert [leg["sailing_id"] for leg in legs] == [trip["out"].pk, trip["later_back"].pk]
    assert api.get(changes_url(booking), **headers).json()[0]["id"] == 1
    assert Email.objects.get(booking=booking, kind=Email.Kind.BOOKING_CHANGED).status == Email.Status.SENT


def test_a_change_with_nothing_due_is_made_on_confirming(api, trip, eager_tasks):
    booking = confirmed(trip, return_fare_family="flex")  # Flex: changes without a fee
    headers = as_traveller(booking)
    api.post(changes_url(booking), {"return_sailing_id": trip["later_back"].pk}, format="json", **headers)

    confirming = api.post(changes_url(booking, 1, "confirm"), **headers)

    assert confirming.status_code == 200
    assert confirming.json()["status"] == "confirmed"
    assert api.post(changes_url(booking, 1, "confirm"), **headers).status_code == 200  # again: as it stands


def test_a_forbidden_change_is_409_with_the_rule(api, trip, eager_tasks):
    booking = confirmed(trip, return_fare_family="basic")

    refused = api.post(changes_url(booking), {"return_sailing_id": trip["later_back"].pk}, format="json",
                       **as_traveller(booking))  # fmt: skip

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "The Basic fare of the return sailing cannot be changed.",
        "code": "fare_forbids_changes",
        "leg": "return",
    }
    assert not BookingChange.objects.exists()


def test_bad_input_is_400_by_field_and_writes_nothing(api, trip, eager_tasks):
    booking = confirmed(trip)

    refused = api.post(changes_url(booking), {"passengers": [{**ADULT, "last_name": ""}], "colour": "blue"},
                       format="json", **as_traveller(booking))  # fmt: skip

    assert refused.status_code == 400
    assert set(refused.json()) == {"passengers.0.last_name", "colour"}
    assert not BookingChange.objects.exists()


def test_nobody_else_reads_or_changes_the_booking(api, trip, eager_tasks):
    booking, other = confirmed(trip), held_booking(trip["out"])
    api.post(changes_url(booking), {"return_sailing_id": trip["later_back"].pk}, format="json", **as_traveller(booking))
    stranger = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=User.objects.create_user('sami')).key}"}

    for headers, code in ((as_traveller(other), 401), (stranger, 404), ({}, 401)):
        assert api.get(changes_url(booking), **headers).status_code == code
        assert api.get(changes_url(booking, 1), **headers).status_code == code
        assert api.post(changes_url(booking, 1, "confirm"), **headers).status_code == code
        assert api.post(changes_url(booking), {"pets": 1}, format="json", **headers).status_code == code
    assert BookingChange.objects.get().status == "quoted"
    assert api.get(changes_url(booking, 7), **as_traveller(booking)).status_code == 404
