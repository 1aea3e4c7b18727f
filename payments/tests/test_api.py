"""Paying from the mobile app: the PaymentIntent for Stripe's SDK, and the demo card."""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.models import Booking
from bookings.tests.factories import held_booking
from payments.models import DemoIntent, WebhookEvent
from payments.tests.conftest import card

pytestmark = pytest.mark.django_db(transaction=True)


def start(client, booking, token=None):
    headers = {"HTTP_X_BOOKING_TOKEN": token if token is not None else access_token(booking)}
    return client.post(f"/api/v1/bookings/{booking.reference}/payment", **headers)


@pytest.fixture
def api():
    return APIClient()


def signed_in_as_someone() -> dict:
    """The Token of a user who owns none of the bookings."""
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=User.objects.create_user('sami')).key}"}


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

    assert start(api, booking, token=access_token(other)).status_code == 401
    assert api.post(f"/api/v1/bookings/{booking.reference}/payment", **signed_in_as_someone()).status_code == 404
    assert not fake_stripe.intents


def test_an_expired_booking_cannot_be_paid(api, fake_stripe, eager_tasks):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)

    response = start(api, booking)

    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


def pay_with(api, booking, intent_id: str, body: dict, token: str | None = None):
    headers = {"HTTP_X_BOOKING_TOKEN": token if token is not None else access_token(booking)}
    return api.post(f"/api/v1/payments/demo/{intent_id}/card", body, format="json", **headers)


def test_the_demo_card_pays_through_the_webhook_and_the_booking_is_confirmed(api, eager_tasks):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]

    declined = pay_with(api, booking, intent_id, card("4000000000000002"))
    paid = pay_with(api, booking, intent_id, card("4242 4242 4242 4242"))

    assert declined.json() == {"status": "failed", "error": "Your card was declined."}
    assert paid.json() == {"status": "succeeded", "error": ""}
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


def test_the_demo_card_endpoint_does_not_exist_with_stripe(api, fake_stripe, eager_tasks):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]

    response = pay_with(api, booking, intent_id, card())

    assert response.status_code == 404


@pytest.mark.parametrize("intent_id", ["pi_%00", "pi_" + "x" * 70, "pi_é"], ids=["NUL", "too long", "accent"])
def test_a_demo_card_for_an_intent_id_that_cannot_be_one_is_not_found(api, intent_id):
    response = api.post(f"/api/v1/payments/demo/{intent_id}/card", card(), format="json", **signed_in_as_someone())

    assert response.status_code == 404
    assert response.json() == {"detail": "No such demo payment."}


def test_a_demo_card_without_credentials_is_refused_alike_whether_or_not_the_payment_exists(api, eager_tasks):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]

    existing = api.post(f"/api/v1/payments/demo/{intent_id}/card", card(), format="json")
    missing = api.post("/api/v1/payments/demo/pi_demo_0000/card", card(), format="json")

    assert existing.status_code == 401
    assert (existing.status_code, existing.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize(
    ("who", "status", "detail"),
    [
        ("nobody", 401, "Send the booking's X-Booking-Token, or its owner's Authorization: Token …"),
        ("another booking's token", 401, "This booking token does not open this booking."),
        ("another user's Token", 404, "No such demo payment."),
    ],
)
def test_the_demo_card_pays_only_for_whoever_holds_the_booking(api, eager_tasks, who, status, detail):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]
    credentials = {
        "nobody": {},
        "another booking's token": {"HTTP_X_BOOKING_TOKEN": access_token(held_booking())},
        "another user's Token": signed_in_as_someone(),
    }[who]

    response = api.post(f"/api/v1/payments/demo/{intent_id}/card", card(), format="json", **credentials)

    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
    assert DemoIntent.objects.get(intent_id=intent_id).status == "requires_payment_method"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"card_number": "4242424242424241"}, "card_number", "Your card number is invalid."),
        ({"exp_month": 1, "exp_year": 2020}, "exp_year", "Your card's expiration date is in the past."),
        ({"cvc": "12"}, "cvc", "This value does not match the required pattern."),
        ({"card_number": "378282246310005", "cvc": "123"}, "cvc", "Your card's security code is invalid."),
        ({"exp_month": 13}, "exp_month", "Ensure this value is less than or equal to 12."),
    ],
    ids=["not a card number", "expired", "two-digit CVC", "three-digit CVC on American Express", "month 13"],
)
def test_a_card_stripe_would_refuse_is_refused_naming_the_field_and_pays_nothing(
    api, eager_tasks, change, field, message
):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]

    response = pay_with(api, booking, intent_id, card() | change)

    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert DemoIntent.objects.get(intent_id=intent_id).status == "requires_payment_method"
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("4000000000000069", "Your card has expired."),
        ("4000000000000127", "Your card's security code is incorrect."),
        ("4000000000009995", "Your card has insufficient funds."),
        ("5555555555554444", "Your card was declined: in demo mode, use one of Stripe's test cards."),
    ],
)
def test_stripes_test_cards_are_declined_as_at_stripe(api, eager_tasks, number, error):
    booking = held_booking()
    intent_id = start(api, booking).json()["payment_intent_id"]

    response = pay_with(api, booking, intent_id, card(number))

    assert response.json() == {"status": "failed", "error": error}
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
