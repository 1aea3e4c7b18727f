"""Traveller accounts on the website: signing up with a verified address, signing in (limited), my trips, saved
travellers and vehicles (nobody else's), claiming a guest booking by code, and the booking form's one-click fill."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from accounts.tests.conftest import PASSWORD, link_in, make_traveller, sent_to
from bookings.models import Booking
from bookings.tests.factories import CONTACT, confirmed_booking, held_booking
from bookings.tests.test_website import details, details_url
from notifications.models import Email

pytestmark = pytest.mark.django_db

KARIM = {**CONTACT, "name": "Karim Haddad", "email": "karim.h@example.net"}


@pytest.fixture
def mailed(django_capture_on_commit_callbacks, eager_tasks):
    """`with mailed():` — the e-mails queued inside are sent (tasks run here) once the request's work commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- signing up and in ---------------------------------------------------------------------------------------------


def test_signing_up_sends_a_link_that_proves_the_address_before_any_trip_is_seen(client, mailed):
    with mailed():
        answer = client.post("/accounts/signup/", {"email": "lina@example.com", "password1": PASSWORD,
                                                   "password2": PASSWORD})  # fmt: skip
    assert answer.status_code == 302
    user = get_user_model().objects.get(email="lina@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    # Not signed in until the address is proven: my trips sends to the sign-in page.
    assert client.get("/accounts/trips").status_code == 302
    assert client.post("/accounts/login/", {"login": "lina@example.com", "password": PASSWORD}).url == (
        "/accounts/confirm-email/"
    )
    assert len(sent_to("lina@example.com")) == 1  # asked once: a second sign-in sends no second link at once
    # The e-mail went through the outbox, and its one-time link is not kept once sent.
    (message,) = sent_to("lina@example.com")[:1]
    row = Email.objects.get(
        kind=Email.Kind.ACCOUNT, recipient="lina@example.com", details__template="email_confirmation_signup"
    )
    assert (row.status, row.body_text, row.subject) == ("sent", "", message.subject)

    link = link_in(message)
    assert client.get(link).status_code == 200
    answer = client.post(link)
    assert answer.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/accounts/trips").status_code == 200


def test_signing_in_is_limited_after_repeated_wrong_passwords(client, traveller):
    def sign_in(password: str) -> str:
        answer = client.post("/accounts/login/", {"login": traveller.email, "password": password})
        return answer.content.decode() if answer.status_code == 200 else f"redirected to {answer.url}"

    for _attempt in range(5):
        assert "The email address and/or password you specified are not correct." in sign_in("wrong")
    assert "Too many failed login attempts. Try again later." in sign_in("wrong")
    # Even the right password waits now.
    assert "Too many failed login attempts. Try again later." in sign_in(PASSWORD)
    assert "_auth_user_id" not in client.session


def test_a_password_reset_link_sets_a_new_password(client, traveller, mailed):
    with mailed():
        assert client.post("/accounts/password/reset/", {"email": traveller.email}).status_code == 302
    (message,) = sent_to(traveller.email)
    answer = client.get(link_in(message))
    form_url = answer.url if answer.status_code == 302 else link_in(message)
    answer = client.post(form_url, {"password1": "another long passphrase", "password2": "another long passphrase"})
    assert answer.status_code == 302
    traveller.refresh_from_db()
    assert traveller.check_password("another long passphrase")


def test_a_new_address_replaces_the_old_one_only_once_verified(signed_in, traveller, mailed):
    with mailed():
        answer = signed_in.post("/accounts/email/", {"action_add": "", "email": "amira.new@example.com"})
    assert answer.status_code == 302
    traveller.refresh_from_db()
    assert traveller.email == "amira@example.com"  # until the new one is proven
    (message,) = sent_to("amira.new@example.com")
    signed_in.post(link_in(message))
    traveller.refresh_from_db()
    assert traveller.email == "amira.new@example.com"
    assert list(EmailAddress.objects.filter(user=traveller).values_list("email", flat=True)) == [
        "amira.new@example.com"
    ]


# --- my trips ------------------------------------------------------------------------------------------------------


def test_my_trips_lists_upcoming_trips_next_first_then_past_ones(signed_in, traveller, trip):
    later = held_booking(trip["later_out"], contact=KARIM)
    sooner = confirmed_booking(trip["out"], trip["back"], contact=KARIM)
    cancelled = held_booking(trip["out"], contact=KARIM)
    Booking.objects.filter(pk__in=[later.pk, sooner.pk, cancelled.pk]).update(owner=traveller)
    Booking.objects.filter(pk=cancelled.pk).update(status=Booking.Status.CANCELLED)

    page = signed_in.get("/accounts/trips").content.decode()
    upcoming, past = page.split('id="past-heading"')
    assert re.findall(r"data-reference>(\w+)<", upcoming) == [sooner.reference, later.reference]
    assert re.findall(r"data-reference>(\w+)<", past) == [cancelled.reference]
    assert f'href="/bookings/{sooner.reference}"' in upcoming
    # Each opens its booking page, with its actions, for its owner.
    assert signed_in.get(f"/bookings/{sooner.reference}").status_code == 200


def test_guest_bookings_made_with_a_verified_address_are_the_accounts_without_asking(client, trip):
    guest = held_booking(trip["out"], contact={**CONTACT, "email": "Amira@Example.com"})
    unverified = make_traveller("amira@example.com", verified=False)
    client.force_login(unverified)
    # Not proven: no trips at all (allauth asks to verify first), and not the booking.
    assert (
        client.get("/accounts/trips").status_code != 200
        or guest.reference not in client.get("/accounts/trips").content.decode()
    )
    EmailAddress.objects.filter(user=unverified).update(verified=True)
    assert guest.reference in client.get("/accounts/trips").content.decode()
    assert client.get(f"/bookings/{guest.reference}").status_code == 200


def test_nobody_sees_another_accounts_trips_or_bookings(client, traveller, other_traveller, trip):
    theirs = held_booking(trip["out"], contact=KARIM)
    Booking.objects.filter(pk=theirs.pk).update(owner=other_traveller)
    client.force_login(traveller)
    assert theirs.reference not in client.get("/accounts/trips").content.decode()
    assert client.get(f"/bookings/{theirs.reference}").status_code == 404
    # Even made with this account's address: another account's booking stays theirs.
    mine_by_address = held_booking(trip["out"])
    Booking.objects.filter(pk=mine_by_address.pk).update(owner=other_traveller)
    assert client.get(f"/bookings/{mine_by_address.reference}").status_code == 404


def test_a_booking_made_while_signed_in_belongs_to_the_account(signed_in, traveller, trip):
    answer = signed_in.post(details_url(trip["out"]), details(**{"contact-email": "someone.else@example.org"}))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    booking = Booking.objects.get()
    assert booking.owner == traveller
    assert booking.reference in signed_in.get("/accounts/trips").content.decode()


def test_guests_book_as_before_without_an_account(client, trip):
    answer = client.post(details_url(trip["out"]), details())
    assert answer.status_code == 302
    assert Booking.objects.get().owner is None
