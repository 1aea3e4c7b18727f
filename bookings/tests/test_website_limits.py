"""The website's rate limits: holding places and "Manage my booking" are counted per address (or signed-in user)
with the API's own limits, in the cache's Redis, and answered with a page that says when to try again."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.tests.factories import ADULT, held_booking, request_data
from bookings.tests.test_website import adult, details, details_url, sailing_at, text_of
from kernel.throttling import forget_outage

pytestmark = pytest.mark.django_db

MANAGE = reverse("manage_booking")


@pytest.fixture(autouse=True)
def _no_outage_remembered():
    forget_outage()
    yield
    forget_outage()


@pytest.fixture
def rates(settings):
    """`rates(booking_create="3/hour", …)`: the limits for this test; unnamed ones are high enough not to matter."""

    def set_rates(**given: str) -> None:
        everything = {"anon": "1000/minute", "user": "1000/minute", "booking_create": "1000/hour"}
        everything |= {"payment_start": "1000/hour", "booking_lookup": "1000/hour"}
        everything |= {"promo_code": "1000/hour", "travel_alert": "1000/hour", **given}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": everything}

    return set_rates


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing there


def traveller(number: int) -> dict:
    """The details page filled in for a different traveller each time."""
    return details(**adult(document_number=f"X{number:07d}"), **{"contact-email": f"t{number}@example.com"})


def hold(client, sailing, number: int, **extra):
    return client.post(details_url(sailing), traveller(number), **extra)


def test_the_41st_booking_from_one_address_in_the_window_is_refused_and_writes_nothing(client, rates, tunis_marseille):
    rates(booking_create="40/hour")
    sailing = sailing_at(tunis_marseille)
    answers = [hold(client, sailing, number).status_code for number in range(40)]

    refused = hold(client, sailing, 40)

    assert answers == [302] * 40
    assert refused.status_code == 429
    assert Booking.objects.count() == 40
    assert not Booking.objects.filter(contact_email="t40@example.com").exists()


def test_the_refusal_is_a_page_of_the_site_saying_when_to_try_again(client, rates, tunis_marseille):
    rates(booking_create="1/hour")
    sailing = sailing_at(tunis_marseille)
    hold(client, sailing, 1)

    refused = hold(client, sailing, 2)

    assert refused.status_code == 429
    assert refused.templates[0].name == "429.html"
    retry_after = int(refused["Retry-After"])
    assert 3500 < retry_after <= 3600
    text = text_of(refused)
    assert "Too many requests" in text
    assert "Please try again in 60 minutes." in text
    assert "Manage my booking" in text, "in the site's layout, with its navigation"


def test_bookings_made_on_the_website_and_through_the_api_share_one_allowance(client, rates, tunis_marseille):
    rates(booking_create="2/hour")
    sailing = sailing_at(tunis_marseille)
    api = APIClient()
    other_traveller = request_data(sailing, passengers=[{**ADULT, "document_number": "A1111111"}])
    api.post("/api/v1/bookings", other_traveller, format="json")
    hold(client, sailing, 1)

    assert hold(client, sailing, 2).status_code == 429
    assert api.post("/api/v1/bookings", request_data(sailing), format="json").status_code == 429
    assert Booking.objects.count() == 2


def test_another_address_still_books_while_one_is_over_its_limit(client, rates, tunis_marseille):
    rates(booking_create="1/hour")
    sailing = sailing_at(tunis_marseille)
    hold(client, sailing, 1, REMOTE_ADDR="203.0.113.7")

    assert hold(client, sailing, 2, REMOTE_ADDR="203.0.113.7").status_code == 429
    assert hold(Client(), sailing, 3, REMOTE_ADDR="203.0.113.8").status_code == 302


def test_showing_the_details_page_is_not_counted_as_booking(client, rates, tunis_marseille):
    rates(booking_create="1/hour")
    sailing = sailing_at(tunis_marseille)
    for _ in range(3):
        assert client.get(details_url(sailing)).status_code == 200

    assert hold(client, sailing, 1).status_code == 302


def test_with_redis_down_booking_on_the_website_is_still_limited_within_the_web_process(
    client, rates, redis_down, tunis_marseille
):
    rates(booking_create="2/hour")
    sailing = sailing_at(tunis_marseille)

    answers = [hold(client, sailing, number).status_code for number in range(3)]

    assert answers == [302, 302, 429]
    assert Booking.objects.count() == 2


# --- Manage my booking -------------------------------------------------------------------------------------


def guess(client, reference: str, email: str = "amira@example.com", **extra):
    return client.post(MANAGE, {"reference": reference, "email": email}, **extra)


def test_wrong_guesses_on_manage_my_booking_are_limited_even_once_the_guess_is_right(client, rates):
    rates(booking_lookup="5/hour")
    booking = held_booking()
    answers = [guess(client, f"ZZZZZ{letter}").status_code for letter in "ABCDE"]

    right = guess(client, booking.reference)

    assert answers == [400] * 5, "each failed guess is answered, and counted"
    assert right.status_code == 429
    assert right.templates[0].name == "429.html"
    assert 0 < int(right["Retry-After"]) <= 3600
    assert client.get(reverse("booking_detail", kwargs={"reference": booking.reference})).status_code == 404


def test_a_right_lookup_from_another_address_is_not_held_back_by_someone_elses_guesses(rates):
    rates(booking_lookup="3/hour")
    booking = held_booking()
    guesser, traveller_client = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="203.0.113.8")
    for letter in "ABCD":
        guess(guesser, f"ZZZZZ{letter}")

    response = guess(traveller_client, booking.reference)

    assert guess(guesser, booking.reference).status_code == 429
    assert response.status_code == 302
    assert response.url == reverse("booking_detail", kwargs={"reference": booking.reference})


def test_opening_the_manage_page_is_not_counted_as_a_guess(client, rates):
    rates(booking_lookup="1/hour")
    booking = held_booking()
    for _ in range(3):
        assert client.get(MANAGE).status_code == 200

    assert guess(client, booking.reference).status_code == 302


def test_with_redis_down_guesses_are_still_limited_within_the_web_process(client, rates, redis_down):
    rates(booking_lookup="2/hour")

    answers = [guess(client, f"ZZZZZ{letter}").status_code for letter in "ABC"]

    assert answers == [400, 400, 429]
