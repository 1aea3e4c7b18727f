"""The booking forms and pages given anything at all (Hypothesis): the travellers' details, the party in the link
from the results page, "manage my booking", and references typed into the booking pages' addresses. Whatever
is sent, the answer is a page or a redirect — never a 5xx, never the markup sent back unescaped — and a refused
request writes nothing."""

from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from hypothesis import given

from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking
from bookings.tests.test_website import CAR, adult, details, details_url, sailing_at
from maritime.tests.hostile import FORM_EXAMPLES, database_state, hostile_form, hostile_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unlimited_forms")]

MARKUP = (b"<script>alert(1)</script>", b"<img src=x onerror=alert(1)>")
PARTY = ["outbound", "return", "return_date", "adults", "children", "infants", "seniors", "vehicle"]
PARTY += ["vehicle_length_cm", "vehicle_height_cm", "accommodation"]


def assert_escaped(response) -> None:
    assert not any(markup in response.content for markup in MARKUP)


@pytest.fixture
def sailing(tunis_marseille):
    return sailing_at(tunis_marseille)


@FORM_EXAMPLES
@given(values=hostile_form([*details(**CAR, **adult(1))]))
def test_any_values_in_the_details_form_are_held_or_refused_without_writing(client, sailing, values):
    before = database_state()

    response = client.post(details_url(sailing, adults=2, vehicle="car"), details(**CAR, **adult(1)) | values)

    assert response.status_code in (302, 400), values
    assert_escaped(response)
    if response.status_code == 302:  # everything sent was still a valid booking
        assert response.url.startswith("/bookings/")
    else:
        assert database_state() == before


@FORM_EXAMPLES
@given(party=hostile_form(PARTY, min_size=0))
def test_any_party_in_the_link_to_the_details_page_is_shown_or_refused_without_writing(client, sailing, party):
    before = database_state()

    response = client.get(f"{reverse('booking_new')}?{urlencode({'outbound': sailing.pk, 'adults': 1} | party)}")

    assert response.status_code in (200, 302, 400), party
    assert_escaped(response)
    assert database_state() == before


@FORM_EXAMPLES
@given(values=hostile_form(["reference", "email"]), reference=hostile_text)
def test_any_values_in_manage_my_booking_are_refused_without_writing(client, sailing, values, reference):
    held_booking(sailing)
    before = database_state()

    page = client.get(f"{reverse('manage_booking')}?{urlencode({'reference': reference})}")
    response = client.post(reverse("manage_booking"), values)

    assert page.status_code == 200
    assert response.status_code == 400, values
    assert_escaped(page)
    assert_escaped(response)
    assert database_state() == before
    assert client.session.get(BROWSER_SESSION_KEY, []) == []


BOOKING_PAGES = [
    ("get", "/bookings/{}"),
    ("get", "/bookings/{}/cancel"),
    ("post", "/bookings/{}/cancel"),
    ("get", "/bookings/{}/pay"),
    ("post", "/bookings/{}/pay"),
    ("get", "/bookings/{}/pay/done"),
    ("get", "/bookings/{}/e-tickets.pdf"),
]


@FORM_EXAMPLES
@given(reference=hostile_text.filter(lambda text: text.strip()))
def test_any_reference_in_a_booking_pages_address_is_not_found_and_writes_nothing(sailing, reference):
    # A signed-in traveller whose browser also has a booking: both ways of opening one are tried.
    booking = held_booking(sailing)
    Booking.objects.filter(pk=booking.pk).update(owner=User.objects.get_or_create(username="amira")[0])
    browser = Client()
    browser.force_login(User.objects.get(username="amira"))
    session = browser.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    before = database_state()

    for method, page in BOOKING_PAGES:
        response = getattr(browser, method)(page.format(quote(reference, safe="")))

        assert response.status_code == 404, (method, page, reference)
    assert database_state() == before


@FORM_EXAMPLES
@given(extra=hostile_form(["confirm", "reason", "csrfmiddlewaretoken", "reference"], min_size=0))
def test_cancelling_with_any_extra_fields_cancels_that_booking_only(client, sailing, extra):
    mine, other = held_booking(sailing), held_booking(sailing)
    session = client.session
    session[BROWSER_SESSION_KEY] = [mine.reference]
    session.save()

    response = client.post(reverse("booking_cancel", kwargs={"reference": mine.reference}), extra)

    assert response.status_code == 302
    assert Booking.objects.get(pk=mine.pk).status == Booking.Status.CANCELLED
    assert Booking.objects.get(pk=other.pk).status == Booking.Status.HELD


@pytest.mark.parametrize("reference", ["\x00", "ZZZ\x00ZZ", "A" * 13, "K7MP 4Q", "ÄÖÜ"])
def test_a_signed_in_traveller_is_answered_404_for_a_reference_that_cannot_be_one(client, sailing, reference):
    client.force_login(User.objects.create_user("amira"))

    for method, page in BOOKING_PAGES:
        assert getattr(client, method)(page.format(quote(reference, safe=""))).status_code == 404, page
