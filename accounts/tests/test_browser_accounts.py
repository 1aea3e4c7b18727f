"""A traveller's account in a real browser: signing up, proving the address with the e-mailed link, saving a
traveller, booking with the saved traveller filled in at one click, and finding the booking in "My trips"."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from accounts.models import SavedTraveller
from accounts.tests.conftest import PASSWORD, link_in, sent_to
from bookings.models import Booking
from bookings.tests.test_browser_booking import BACK, DAY, results_url
from conftest import wait_until
from maritime.tests.test_browser_accessibility import Audit
from notifications.models import Email

pytestmark = pytest.mark.browser

# Valid on the way out, expired by the way back.
PASSPORT_EXPIRES = DAY + dt.timedelta(days=3)
ADDRESS = "lina.haddad@example.com"


def test_a_new_account_books_with_its_saved_traveller_and_finds_the_trip_in_my_trips(page, network, eager_tasks):
    out, back = network
    audit = Audit(page, "en")

    # Sign up.
    page.goto("/accounts/signup/")
    audit.check("sign up")
    page.get_by_label("Email").fill(ADDRESS)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label(re.compile(r"^Password \(again\)")).fill(PASSWORD)
    page.locator("form.plain-form button[type=submit]").click()
    page.wait_for_url("**/accounts/confirm-email/")
    user = get_user_model().objects.get(email=ADDRESS)
    assert not EmailAddress.objects.get(user=user, email=ADDRESS).verified
    # Not signed in before the address is proven: the header still offers to sign in.
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").is_visible()

    # The e-mail, sent through the outbox; its link is in the message sent only.
    (message,) = wait_until(lambda: sent_to(ADDRESS), timeout=30, what="the verification e-mail is sent")
    row = Email.objects.get(kind=Email.Kind.ACCOUNT, recipient=ADDRESS)
    assert (row.status, row.body_text) == ("sent", "")
    link = link_in(message)
    assert urlsplit(link).path.startswith("/accounts/confirm-email/")

    # Open the link in the same browser and confirm.
    page.goto(link)
    assert ADDRESS in page.locator("main").inner_text()
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/trips")
    assert EmailAddress.objects.get(user=user, email=ADDRESS).verified
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="My trips").is_visible()
    assert nav.get_by_role("link", name="Sign in").count() == 0

    # A saved traveller whose passport expires between the way out and the way back.
    page.goto("/accounts/travellers/new")
    page.get_by_label("First name").fill("Lina")
    page.get_by_label("Last name").fill("Haddad")
    page.get_by_label("Date of birth").fill("1990-06-15")
    page.get_by_label("Nationality").select_option(label="Tunisia")
    page.get_by_label("Document", exact=True).select_option(label="Passport")
    page.get_by_label("Passport or ID number").fill("P7654321")
    page.get_by_label("Document valid until").fill(PASSPORT_EXPIRES.isoformat())
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/accounts/")
    assert "Traveller saved." in page.get_by_role("status").inner_text()
    saved = SavedTraveller.objects.get(owner=user)
    assert (saved.first_name, saved.last_name, saved.date_of_birth) == ("Lina", "Haddad", dt.date(1990, 6, 15))
    assert (saved.nationality, saved.document_number, saved.document_expires) == ("TN", "P7654321", PASSPORT_EXPIRES)
    travellers = page.get_by_role("region", name="Travellers").inner_text()
    assert "Lina Haddad" in travellers
    assert "P7654321" in travellers

    # A return trip, one sailing each way.
    page.goto(results_url(return_date=BACK.isoformat()))
    page.get_by_role("radio", name=re.compile("^Select Outbound 19:00 .* Standard$")).check()
    page.get_by_role("radio", name=re.compile("^Select Return 11:45 .* Standard$")).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/book?**")
    assert page.get_by_role("heading", level=1).inner_text() == "Who is travelling?"

    # One click fills the passenger in, and warns about the passport.
    adult = page.get_by_role("group", name="Adult 1")
    warning = adult.locator(".saved-warning")
    assert warning.is_hidden()
    chip = adult.get_by_role("button", name="Lina Haddad")
    chip.click()
    assert adult.get_by_label("First name").input_value() == "Lina"
    assert adult.get_by_label("Last name").input_value() == "Haddad"
    assert adult.get_by_label("Date of birth").input_value() == "1990-06-15"
    assert adult.get_by_label("Nationality").input_value() == "TN"
    assert adult.get_by_label("Passport or ID number").input_value() == "P7654321"
    assert chip.get_attribute("aria-pressed") == "true"
    assert warning.is_visible()
    assert re.match(r"^Lina's passport expires on .+, before the end of this trip", warning.inner_text())
    chip.hover()  # where the pointer is after the click: the chosen button stays readable
    audit.check("passenger details, filled in from a saved traveller")

    # Contact (another address than the account's: the booking is the account's because it made it), and hold.
    contact = page.get_by_role("group", name="Contact")
    contact.get_by_label("Full name").fill("Lina Haddad")
    contact.get_by_label("E-mail").fill("family.haddad@example.net")
    contact.get_by_label("Mobile phone").fill("+216 71 000 000")
    page.get_by_role("button", name="Hold my places").click()

    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.HELD
    assert booking.owner == user
    assert sorted(booking.legs.values_list("sailing_id", flat=True)) == sorted([out.pk, back.pk])
    passenger = booking.passengers.get()
    assert (passenger.first_name, passenger.last_name, passenger.nationality) == ("Lina", "Haddad", "TN")
    assert (passenger.date_of_birth, passenger.document_number) == (saved.date_of_birth, "P7654321")
    assert page.locator("[data-reference]").inner_text() == booking.reference

    # My trips, from the header.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My trips").click()
    page.wait_for_url("**/accounts/trips")
    assert page.get_by_role("heading", level=1).inner_text() == "My trips"
    upcoming = page.get_by_role("region", name="Upcoming")
    assert upcoming.locator("[data-reference]").all_inner_texts() == [booking.reference]
    assert page.get_by_role("region", name="Past and cancelled").locator("[data-reference]").count() == 0
    audit.check("my trips")

    upcoming.get_by_role("link", name=re.compile(booking.reference)).click()
    page.wait_for_url(f"**/bookings/{booking.reference}")
    assert page.locator("[data-reference]").inner_text() == booking.reference

    assert audit.problems == [], "\n\n".join(audit.problems)
