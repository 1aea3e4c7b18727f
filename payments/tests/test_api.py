"""Paying from the mobile app: the PaymentIntent for Stripe's SDK, and the demo card."""

import pytest
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.models import Booking
from bookings.tests.factories import held_booking

pytestmark = pytest.mark.django_db(transaction=True)


def start(client, booking, token=None):
    headers = {"HTTP_X_BOOKING_TOKEN": token if token is not None else access_token(booking)}
    return client.post(f"/api/v1/bookings/{booking.reference}/payment", **headers)


@pytest.fixture
def api():
    return APIClient()


def test_a_held_booking_gets_its_payment_intent_for_stripes_sdk(api, fake_stripe, eager_tasks):
    booking = held_booking()

    response = start(api, booking)

    body = response.json()
    assert response.status_code == 201
    assert body["provider"] == "stripe"
    assert body["amount"] == {"amount_minor": booking.total_minor, "currency": "EUR"}
    assert body["client_secret"] == fake_stripe.intents[body["payment_intent_id"]]["client_secret"]
    assert body["publishable_key"].startswith("pk_test_")
    assert start(api, booking).json()["payment_intent_id"] == body["payment_intent_id"]


def test_someone_else_cannot_start_the_payment(api, fake_stripe, eager_tasks):
    booking, other = held_booking(), held_booking()

    assert start(api, booking, token=access_token(other)).status_code == 404
    assert not fake_stripe.intents


def test_an_expired_booking_cannot_be_paid(api, fake_stripe, eager_tasks):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)

    response = start(api, booking)

    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


def test_the_demo_card_pays_through_the_webhook_and_the_booking_is_confirmed(api, eager_tasks):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]

    declined = api.post(f"/api/v1/payments/demo/{intent_id}/card", {"card_number": "4000000000000002"}, format="json")
    paid = api.post(f"/api/v1/payments/demo/{intent_id}/card", {"card_number": "4242 4242 4242 4242"}, format="json")

    assert declined.json() == {"status": "failed", "error": "Your card was declined."}
    assert paid.json() == {"status": "succeeded", "error": ""}
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


def test_the_demo_card_endpoint_does_not_exist_with_stripe(api, fake_stripe, eager_tasks):
    intent_id = start(api, held_booking()).json()["payment_intent_id"]

    response = api.post(f"/api/v1/payments/demo/{intent_id}/card", {"card_number": "4242424242424242"}, format="json")

    assert response.status_code == 404


@pytest.mark.parametrize("intent_id", ["pi_%00", "pi_" + "x" * 70, "pi_é"], ids=["NUL", "too long", "accent"])
def test_a_demo_card_for_an_intent_id_that_cannot_be_one_is_not_found(api, intent_id):
    response = api.post(f"/api/v1/payments/demo/{intent_id}/card", {"card_number": "4242424242424242"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such demo payment."}
