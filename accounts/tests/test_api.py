"""The mobile app's account: signing up, in and out through allauth's headless API and the session token it answers,
the account itself (`/api/v1/me`), its saved travellers and vehicles (nobody else's), its bookings, claiming a guest
booking by the code e-mailed to its address, the holder's export and the account deleted — on real PostgreSQL and
Redis."""

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.forms.models import model_to_dict
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import MAX_SAVED_TRAVELLERS, BookingClaim, SavedTraveller, SavedVehicle
from accounts.tests.conftest import PASSWORD, make_traveller
from bookings.access import access_token
from bookings.models import Booking
from bookings.tests.conftest import port_agent_group
from bookings.tests.factories import CONTACT, confirmed_booking, held_booking
from bookings.tests.test_api import assert_documented
from notifications.models import Email

pytestmark = pytest.mark.django_db

HEADLESS = "/_allauth/app/v1"
LOGIN = f"{HEADLESS}/auth/login"
ME = "/api/v1/me"
TRAVELLERS = f"{ME}/travellers"
VEHICLES = f"{ME}/vehicles"
CLAIM = f"{ME}/bookings/claim"
EXPORT = f"{ME}/export"
DELETE = f"{ME}/delete"
BOOKINGS = "/api/v1/bookings"

# `traveller` is amira@example.com, the address of the factories' CONTACT; `other_traveller` is karim@example.com.
KARIM = {**CONTACT, "name": "Karim Haddad", "email": "karim@example.com"}
# An address no account has.
SONIA = {**CONTACT, "name": "Sonia Trabelsi", "email": "sonia.t@example.net"}

LINA = {
    "first_name": "Lina",
    "last_name": "Ben Salah",
    "date_of_birth": "2019-03-02",
    "nationality": "TN",
    "document_type": "passport",
    "document_number": "X7654321",
    "document_expires": "2031-05-01",
}
CAR = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160}
NOT_FOUND = {"detail": "Not found."}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def with_session(token: str) -> dict:
    return {"HTTP_X_SESSION_TOKEN": token}


def with_api_token(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def sign_in(api, email: str, password: str = PASSWORD) -> str:
    """Sign in as the app does (allauth's headless API) and answer the session token."""
    answer = api.post(LOGIN, {"email": email, "password": password}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["meta"]["is_authenticated"] is True
    return answer.json()["meta"]["session_token"]


def signed_in_with(credentials: str, api, user) -> dict:
    """The headers of `user` signed in to the app ("session token") or with an "API Token"."""
    return with_session(sign_in(api, user.email)) if credentials == "session token" else with_api_token(user)


@pytest.fixture
def as_traveller(api, traveller) -> dict:
    """The headers of `traveller` signed in to the app."""
    return with_session(sign_in(api, traveller.email))


@pytest.fixture
def as_other_traveller(api, other_traveller) -> dict:
    return with_session(sign_in(api, other_traveller.email))


def error_codes(answer) -> list[tuple[str, str | None]]:
    """allauth's errors as (code, param)."""
    return [(error["code"], error.get("param")) for error in answer.json()["errors"]]


def written_to(address: str) -> str:
    """The text of the latest account e-mail written to `address`, read from the outbox before it is sent (its text
    is not kept once sent)."""
    email = Email.objects.filter(kind=Email.Kind.ACCOUNT, recipient=address).latest("pk")
    assert email.status == Email.Status.QUEUED
    return email.body_text


def code_sent_for(booking: Booking) -> str:
    """The claim code in the latest e-mail about `booking`'s claim — written to the address it was made with."""
    email = Email.objects.filter(kind=Email.Kind.BOOKING_CLAIM, booking=booking).latest("pk")
    assert email.recipient == booking.contact_email
    return re.search(r"^\s*([0-9]{6})\s*$", email.body_text, re.MULTILINE).group(1)


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def references(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return sorted(booking["reference"] for booking in answer.json()["results"])


def owned_by(user, booking: Booking) -> Booking:
    Booking.objects.filter(pk=booking.pk).update(owner=user)
    booking.refresh_from_db()
    return booking


# --- signing up, in and out (allauth's headless API) ---------------------------------------------------------------


def test_an_app_sign_up_waits_for_the_address_to_be_verified_then_its_session_token_opens_the_api(
    api, openapi, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"{HEADLESS}/auth/signup", {"email": "lina@example.com", "password": PASSWORD}, format="json")

    assert answer.status_code == 401
    body = answer.json()
    assert {"id": "verify_email", "is_pending": True} in body["data"]["flows"]
    assert body["meta"]["is_authenticated"] is False
    pending = body["meta"]["session_token"]
    # Not signed in before the address is proven: the pending session's token opens nothing of ours.
    assert api.get(ME, **with_session(pending)).status_code == 401
    assert api.get(BOOKINGS, **with_session(pending)).status_code == 401
    user = get_user_model().objects.get(email="lina@example.com")
    assert EmailAddress.objects.get(user=user).verified is False
    # The link went out through the outbox to the address signed up with; its text is not kept once sent.
    [message] = mail.outbox
    assert message.to == ["lina@example.com"]
    row = Email.objects.get(kind=Email.Kind.ACCOUNT, recipient="lina@example.com")
    assert (row.status, row.details["template"], row.body_text, row.body_html) == (
        "sent", "email_confirmation_signup", "", ""
    )  # fmt: skip
    key = re.search(r"/confirm-email/([^/\s]+)/", message.body).group(1)

    wrong = api.post(
        f"{HEADLESS}/auth/email/verify", {"key": key[:-4] + "abcd"}, format="json", **with_session(pending)
    )
    assert wrong.status_code == 400
    assert [param for _code, param in error_codes(wrong)] == ["key"]
    assert EmailAddress.objects.get(user=user).verified is False

    answer = api.post(f"{HEADLESS}/auth/email/verify", {"key": key}, format="json", **with_session(pending))

    assert answer.status_code == 200
    assert answer.json()["meta"]["is_authenticated"] is True
    assert EmailAddress.objects.get(user=user).verified is True
    token = answer.json()["meta"]["session_token"]
    me = api.get(ME, **with_session(token))
    assert me.status_code == 200
    assert_documented(openapi, "get", ME, me)
    assert {**me.json(), "date_joined": None} == {
        "email": "lina@example.com", "email_verified": True, "first_name": "", "last_name": "",
        "date_joined": None, "travellers": 0, "vehicles": 0,
    }  # fmt: skip
    assert me.json()["date_joined"] == user.date_joined.isoformat().replace("+00:00", "Z")


def test_a_wrong_password_signs_nobody_in_and_an_unknown_address_is_answered_alike(api, traveller):
    wrong = api.post(LOGIN, {"email": traveller.email, "password": "not the passphrase"}, format="json")
    unknown = api.post(LOGIN, {"email": "nobody@example.com", "password": PASSWORD}, format="json")

    assert (wrong.status_code, unknown.status_code) == (400, 400)
    assert error_codes(wrong) == error_codes(unknown) == [("email_password_mismatch", "password")]
    assert wrong.json() == unknown.json()
    assert "session_token" not in wrong.json().get("meta", {})
    # The right one still signs in: nothing was locked by one mistake.
    assert api.get(ME, **with_session(sign_in(api, traveller.email))).status_code == 200


def test_signing_in_is_refused_after_five_wrong_passwords_for_the_account_even_the_right_one(
    api, traveller, other_traveller
):
    # allauth's "login_failed" limit: 5 failures per account (its address, in any case) in 5 minutes. Its headless
    # API answers the refusal as a 400 with the code `too_many_login_attempts` (it lists no 429 for signing in).
    addresses = [traveller.email, traveller.email.upper()]
    failures = [api.post(LOGIN, {"email": addresses[n % 2], "password": f"wrong {n}"}, format="json") for n in range(5)]
    assert [answer.status_code for answer in failures] == [400] * 5
    assert {code for answer in failures for code in error_codes(answer)} == {("email_password_mismatch", "password")}

    limited = api.post(LOGIN, {"email": traveller.email, "password": PASSWORD}, format="json")

    assert limited.status_code == 400
    assert error_codes(limited) == [("too_many_login_attempts", None)]
    assert "session_token" not in limited.json().get("meta", {})
    # The limit is the account's: another account signs in from the same client.
    assert api.get(ME, **with_session(sign_in(api, other_traveller.email))).status_code == 200


def test_signing_out_ends_the_session_and_its_token_is_refused(api, traveller):
    token = sign_in(api, traveller.email)
    other_device = sign_in(APIClient(), traveller.email)
    assert api.get(ME, **with_session(token)).status_code == 200

    answer = api.delete(f"{HEADLESS}/auth/session", **with_session(token))

    assert answer.status_code == 401  # allauth: nobody is signed in now
    assert answer.json()["meta"]["is_authenticated"] is False
    after = api.get(ME, **with_session(token))
    assert after.status_code == 401
    assert after.json() == {"detail": "Invalid token."}
    assert api.get(BOOKINGS, **with_session(token)).status_code == 401
    # Only that session: the app signed in on another device goes on.
    assert api.get(ME, **with_session(other_device)).status_code == 200


def test_a_session_token_that_was_never_given_is_refused(api, traveller):
    for token in ("0123456789abcdefghijklmnopqrstuv", "not a token!", "x" * 41):
        answer = api.get(ME, **with_session(token))
        assert (token, answer.status_code, list(answer.json())) == (token, 401, ["detail"])


def test_a_password_reset_is_asked_for_in_the_app_and_the_emailed_key_sets_a_new_password(api, traveller):
    answer = api.post(f"{HEADLESS}/auth/password/request", {"email": traveller.email.upper()}, format="json")

    assert answer.status_code == 200
    # Asked for an address no account has, the answer is the same.
    unknown = api.post(f"{HEADLESS}/auth/password/request", {"email": "nobody@example.com"}, format="json")
    assert (unknown.status_code, unknown.json()) == (200, answer.json())
    key = re.search(r"/password/reset/key/([^/\s]+)/", written_to(traveller.email)).group(1)
    assert "/password/reset/key/" not in written_to("nobody@example.com")

    # The app checks the key first, then sends the new password with it.
    assert api.get(f"{HEADLESS}/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY=key).status_code == 200
    reset = api.post(
        f"{HEADLESS}/auth/password/reset", {"key": key, "password": "a new harbour passphrase"}, format="json"
    )

    assert reset.status_code == 401, reset.content  # reset; not signed in by it: the app signs in with it next
    assert reset.json()["meta"]["is_authenticated"] is False
    traveller.refresh_from_db()
    assert traveller.check_password("a new harbour passphrase")
    assert api.post(LOGIN, {"email": traveller.email, "password": PASSWORD}, format="json").status_code == 400
    assert api.get(ME, **with_session(sign_in(api, traveller.email, "a new harbour passphrase"))).status_code == 200
    # The key is spent.
    again = api.post(
        f"{HEADLESS}/auth/password/reset", {"key": key, "password": "yet another passphrase"}, format="json"
    )
    assert again.status_code == 400
    traveller.refresh_from_db()
    assert traveller.check_password("a new harbour passphrase")


# --- which bookings an account sees --------------------------------------------------------------------------------


def test_an_unverified_account_sees_no_booking_not_even_one_made_with_its_address(api, trip):
    guest = held_booking(trip["out"], contact={**CONTACT, "email": "lina@example.com"})
    lina = make_traveller("lina@example.com", verified=False)

    # Signing in, it is asked to verify the address first: its token opens nothing.
    answer = api.post(LOGIN, {"email": "lina@example.com", "password": PASSWORD}, format="json")
    assert answer.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in answer.json()["data"]["flows"]
    pending = with_session(answer.json()["meta"]["session_token"])
    assert api.get(BOOKINGS, **pending).status_code == 401
    assert api.get(f"{BOOKINGS}/{guest.reference}", **pending).status_code == 401
    # With an API Token it is signed in, but no booking is its before its address is proven.
    token = with_api_token(lina)
    assert api.get(ME, **token).json()["email_verified"] is False
    assert references(api.get(BOOKINGS, **token)) == []
    assert api.get(f"{BOOKINGS}/{guest.reference}", **token).status_code == 404

    EmailAddress.objects.filter(user=lina).update(verified=True)

    assert references(api.get(BOOKINGS, **token)) == [guest.reference]
    assert api.get(f"{BOOKINGS}/{guest.reference}", **token).status_code == 200


def test_an_api_token_still_opens_the_account_and_its_bookings(api, traveller, other_traveller, trip):
    owned = owned_by(traveller, held_booking(trip["out"], contact=SONIA))
    by_address = held_booking(trip["later_out"])
    theirs = held_booking(trip["out"], contact=KARIM)
    headers = with_api_token(traveller)

    me = api.get(ME, **headers)

    assert me.status_code == 200
    assert (me.json()["email"], me.json()["email_verified"]) == (traveller.email, True)
    assert references(api.get(BOOKINGS, **headers)) == sorted([owned.reference, by_address.reference])
    assert api.get(f"{BOOKINGS}/{owned.reference}", **headers).status_code == 200
    assert api.get(f"{BOOKINGS}/{by_address.reference}", **headers).status_code == 200
    assert api.get(f"{BOOKINGS}/{theirs.reference}", **headers).status_code == 404


@pytest.mark.parametrize("credentials", ["session token", "API Token"])
def test_neither_the_list_nor_a_booking_shows_another_accounts_booking(
    api, credentials, traveller, other_traveller, trip
):
    mine = owned_by(traveller, held_booking(trip["out"], contact=SONIA))
    theirs = owned_by(other_traveller, held_booking(trip["out"], contact=SONIA))
    theirs_by_address = held_booking(trip["later_out"], contact=KARIM)
    # Made with this account's address, but another account has it.
    theirs_with_my_address = owned_by(other_traveller, held_booking(trip["back"]))
    nobodys = held_booking(trip["later_back"], contact=SONIA)
    headers = signed_in_with(credentials, api, traveller)

    listed = api.get(BOOKINGS, **headers)

    assert references(listed) == [mine.reference]
    assert listed.json()["count"] == 1
    assert api.get(BOOKINGS, {"offset": 1}, **headers).json()["results"] == []
    for booking in (theirs, theirs_by_address, theirs_with_my_address, nobodys):
        answer = api.get(f"{BOOKINGS}/{booking.reference}", **headers)
        assert (booking.reference, answer.status_code) == (booking.reference, 404)
        assert booking.contact_email not in answer.content.decode()
    assert api.get(f"{BOOKINGS}/{mine.reference}", **headers).status_code == 200


# --- saved travellers ---------------------------------------------------------------------------------------------


def test_a_traveller_is_saved_read_changed_and_forgotten(api, openapi, traveller, as_traveller):
    created = api.post(TRAVELLERS, LINA, format="json", **as_traveller)

    assert created.status_code == 201
    assert_documented(openapi, "post", TRAVELLERS, created)
    body = created.json()
    assert {key: value for key, value in body.items() if key not in ("id", "updated_at")} == LINA
    saved = SavedTraveller.objects.get()
    assert (saved.pk, saved.owner, saved.date_of_birth) == (body["id"], traveller, dt.date(2019, 3, 2))
    item = f"{TRAVELLERS}/{saved.pk}"
    listed = api.get(TRAVELLERS, **as_traveller)
    assert (listed.status_code, listed.json()["count"], listed.json()["results"]) == (200, 1, [body])
    read = api.get(item, **as_traveller)
    assert_documented(openapi, "get", f"{TRAVELLERS}/{{item_id}}", read)
    assert read.json() == body
    assert api.get(ME, **as_traveller).json()["travellers"] == 1

    changed = api.patch(
        item, {"document_number": "y1122334", "document_type": "ID_CARD"}, format="json", **as_traveller
    )

    assert changed.status_code == 200
    assert_documented(openapi, "patch", f"{TRAVELLERS}/{{item_id}}", changed)
    assert {**changed.json(), "updated_at": None} == {
        **body, "document_number": "Y1122334", "document_type": "id_card", "updated_at": None
    }  # fmt: skip
    saved.refresh_from_db()
    assert (saved.document_number, saved.document_type, saved.first_name) == ("Y1122334", "id_card", "Lina")

    deleted = api.delete(item, **as_traveller)

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert not SavedTraveller.objects.exists()
    assert (api.get(item, **as_traveller).status_code, api.get(ME, **as_traveller).json()["travellers"]) == (404, 0)


def test_a_traveller_refused_names_each_field_in_error_and_nothing_is_saved(api, openapi, as_traveller):
    answer = api.post(
        TRAVELLERS,
        {"first_name": "L1na", "date_of_birth": "2999-01-01", "nationality": "tn", "document_number": "12",
         "document_type": "visa"},
        format="json", **as_traveller,
    )  # fmt: skip

    assert answer.status_code == 400
    assert_documented(openapi, "post", TRAVELLERS, answer)
    assert set(answer.json()) == {
        "first_name", "last_name", "date_of_birth", "nationality", "document_number", "document_type"
    }  # fmt: skip
    assert answer.json()["date_of_birth"] == ["The date of birth is in the future."]
    # Rules across fields, and a body that is not a traveller at all.
    born_after = api.post(TRAVELLERS, {**LINA, "document_expires": "2010-01-01"}, format="json", **as_traveller)
    assert (born_after.status_code, list(born_after.json())) == (400, ["document_expires"])
    too_old = api.post(TRAVELLERS, {**LINA, "date_of_birth": "1850-01-01"}, format="json", **as_traveller)
    assert (too_old.status_code, list(too_old.json())) == (400, ["date_of_birth"])
    listed = api.post(TRAVELLERS, [LINA], format="json", **as_traveller)
    assert (listed.status_code, listed.json()) == (400, {"non_field_errors": ["A traveller is an object."]})
    assert not SavedTraveller.objects.exists()


def test_a_traveller_change_refused_names_the_field_and_changes_nothing(api, traveller, as_traveller):
    item = f"{TRAVELLERS}/{api.post(TRAVELLERS, LINA, format='json', **as_traveller).json()['id']}"
    before = api.get(item, **as_traveller).json()

    answers = [
        api.patch(item, {"nationality": "XX", "last_name": "Haddad"}, format="json", **as_traveller),
        api.patch(item, {"document_expires": "2018-12-31"}, format="json", **as_traveller),  # before she was born
        api.patch(item, {"first_name": ""}, format="json", **as_traveller),
        api.patch(item, "Lina", format="json", **as_traveller),
    ]

    assert [(answer.status_code, list(answer.json())) for answer in answers] == [
        (400, ["nationality"]), (400, ["document_expires"]), (400, ["first_name"]), (400, ["non_field_errors"])
    ]  # fmt: skip
    assert api.get(item, **as_traveller).json() == before


def test_an_account_keeps_a_bounded_number_of_travellers(api, traveller, as_traveller):
    for n in range(MAX_SAVED_TRAVELLERS):
        SavedTraveller.objects.create(owner=traveller, first_name="Lina", last_name=f"N{n}", date_of_birth="2019-03-02",
                                      nationality="TN")  # fmt: skip

    answer = api.post(TRAVELLERS, LINA, format="json", **as_traveller)

    assert answer.status_code == 400
    assert answer.json() == {"non_field_errors": [f"An account keeps up to {MAX_SAVED_TRAVELLERS} travellers."]}
    assert SavedTraveller.objects.count() == MAX_SAVED_TRAVELLERS


# --- saved vehicles -----------------------------------------------------------------------------------------------


def test_a_vehicle_is_saved_read_changed_and_forgotten(api, openapi, traveller, as_traveller):
    created = api.post(VEHICLES, {**CAR, "registration": "123 tu 4567"}, format="json", **as_traveller)

    assert created.status_code == 201
    assert_documented(openapi, "post", VEHICLES, created)
    body = created.json()
    assert {key: value for key, value in body.items() if key not in ("id", "updated_at")} == CAR
    saved = SavedVehicle.objects.get()
    assert (saved.pk, saved.owner, saved.registration) == (body["id"], traveller, "123 TU 4567")
    item = f"{VEHICLES}/{saved.pk}"
    assert api.get(VEHICLES, **as_traveller).json()["results"] == [body]
    assert api.get(item, **as_traveller).json() == body
    # Sizes left out are the category's typical ones.
    typical = api.post(VEHICLES, {"category": "motorcycle", "registration": "MC 1"}, format="json", **as_traveller)
    assert (typical.status_code, typical.json()["length_cm"], typical.json()["height_cm"]) == (201, 220, 140)
    assert api.get(ME, **as_traveller).json()["vehicles"] == 2

    changed = api.patch(item, {"height_cm": 185}, format="json", **as_traveller)

    assert changed.status_code == 200
    assert_documented(openapi, "patch", f"{VEHICLES}/{{item_id}}", changed)
    assert {**changed.json(), "updated_at": None} == {**body, "height_cm": 185, "updated_at": None}
    saved.refresh_from_db()
    assert (saved.height_cm, saved.length_cm) == (185, 450)

    deleted = api.delete(item, **as_traveller)

    assert deleted.status_code == 204
    assert not SavedVehicle.objects.filter(pk=saved.pk).exists()
    assert api.get(item, **as_traveller).status_code == 404
    assert [vehicle["registration"] for vehicle in api.get(VEHICLES, **as_traveller).json()["results"]] == ["MC 1"]


def test_a_vehicle_refused_names_each_field_in_error_and_nothing_is_saved(api, openapi, as_traveller):
    answers = [
        api.post(VEHICLES, {"category": "spaceship", "registration": "@@"}, format="json", **as_traveller),
        api.post(VEHICLES, {**CAR, "length_cm": 1700, "height_cm": 10}, format="json", **as_traveller),
        api.post(VEHICLES, {"registration": "AB 1"}, format="json", **as_traveller),
        api.post(VEHICLES, "null", content_type="application/json", **as_traveller),
    ]

    assert [(answer.status_code, sorted(answer.json())) for answer in answers] == [
        (400, ["category", "registration"]), (400, ["height_cm", "length_cm"]), (400, ["category"]),
        (400, ["non_field_errors"]),
    ]  # fmt: skip
    assert_documented(openapi, "post", VEHICLES, answers[0])
    assert not SavedVehicle.objects.exists()
    # A registration is saved once per account.
    assert api.post(VEHICLES, CAR, format="json", **as_traveller).status_code == 201
    again = api.post(VEHICLES, {**CAR, "registration": "123-tu-4567".replace("-", " ")}, format="json", **as_traveller)
    assert (again.status_code, list(again.json())) == (400, ["registration"])
    assert SavedVehicle.objects.count() == 1


def test_a_vehicle_change_refused_names_the_field_and_changes_nothing(api, as_traveller):
    api.post(VEHICLES, CAR, format="json", **as_traveller)
    van = api.post(VEHICLES, {"category": "van", "registration": "VAN 77"}, format="json", **as_traveller).json()
    item = f"{VEHICLES}/{van['id']}"

    answers = [
        api.patch(item, {"registration": CAR["registration"]}, format="json", **as_traveller),  # the car's
        api.patch(item, {"category": "bicycle"}, format="json", **as_traveller),  # a van's size is no bicycle's
        api.patch(item, {"length_cm": "long"}, format="json", **as_traveller),
    ]

    assert [(answer.status_code, sorted(answer.json())) for answer in answers] == [
        (400, ["registration"]), (400, ["height_cm", "length_cm"]), (400, ["length_cm"])
    ]  # fmt: skip
    assert api.get(item, **as_traveller).json() == van


# --- another account's items: answered as if they did not exist, left as they are --------------------------------


def their_item(kind: str, owner):
    if kind == "travellers":
        return SavedTraveller.objects.create(
            owner=owner, first_name="Karim", last_name="Haddad", date_of_birth="1980-06-01", nationality="TN",
            document_number="K1234567",
        )  # fmt: skip
    return SavedVehicle.objects.create(
        owner=owner, category="car", registration="KH 2024", length_cm=450, height_cm=160
    )


def as_stored(item) -> dict:
    item = type(item).objects.get(pk=item.pk)
    return model_to_dict(item) | {"updated_at": item.updated_at}


CHANGES = {"travellers": {"first_name": "Mallory"}, "vehicles": {"registration": "STOLEN 1"}}


@pytest.mark.parametrize("credentials", ["session token", "API Token"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("kind", ["travellers", "vehicles"])
def test_another_accounts_item_is_answered_as_one_that_does_not_exist_and_nothing_changes(
    api, openapi, kind, method, credentials, traveller, other_traveller
):
    theirs = their_item(kind, other_traveller)
    mine = their_item(kind, traveller)  # the same details in this account: its own answers 200
    before = as_stored(theirs)
    headers = signed_in_with(credentials, api, traveller)
    body = {"data": CHANGES[kind], "format": "json"} if method == "patch" else {}

    answer = getattr(api, method)(f"{ME}/{kind}/{theirs.pk}", **body, **headers)

    nowhere = getattr(api, method)(f"{ME}/{kind}/{theirs.pk + mine.pk + 1000}", **body, **headers)
    assert (answer.status_code, answer.json()) == (nowhere.status_code, nowhere.json()) == (404, NOT_FOUND)
    assert_documented(openapi, method, f"{ME}/{kind}/{{item_id}}", answer)
    assert as_stored(theirs) == before
    assert "Karim" not in answer.content.decode()
    assert "KH 2024" not in answer.content.decode()
    # Their owner still has it, and this account its own.
    owner = with_session(sign_in(APIClient(), other_traveller.email))
    assert api.get(f"{ME}/{kind}/{theirs.pk}", **owner).status_code == 200
    assert getattr(api, method)(f"{ME}/{kind}/{mine.pk}", **body, **headers).status_code in (200, 204)


@pytest.mark.parametrize("kind", ["travellers", "vehicles"])
def test_the_lists_hold_only_the_accounts_own_items(api, kind, traveller, other_traveller, as_traveller):
    their_item(kind, other_traveller)
    mine = their_item(kind, traveller)

    listed = api.get(f"{ME}/{kind}", **as_traveller).json()

    assert (listed["count"], [item["id"] for item in listed["results"]]) == (1, [mine.pk])


@pytest.mark.parametrize("item_id", ["abc", "-1", "1.0", "99999999999999999999999", "%00"])
def test_an_id_that_cannot_be_one_is_answered_404_too(api, item_id, as_traveller):
    for kind in ("travellers", "vehicles"):
        answer = api.get(f"{ME}/{kind}/{item_id}", **as_traveller)
        assert (kind, answer.status_code, answer.json()) == (kind, 404, NOT_FOUND)


def test_the_account_operations_need_a_signed_in_traveller(api, traveller):
    item = their_item("travellers", traveller)
    answers = [
        api.get(ME), api.get(TRAVELLERS), api.post(TRAVELLERS, LINA, format="json"),
        api.patch(f"{TRAVELLERS}/{item.pk}", {"first_name": "Mallory"}, format="json"),
        api.delete(f"{TRAVELLERS}/{item.pk}"), api.get(VEHICLES), api.get(EXPORT),
        api.post(CLAIM, {"reference": "ABC123"}, format="json"),
        api.post(DELETE, {"password": PASSWORD}, format="json"),
    ]  # fmt: skip

    assert [answer.status_code for answer in answers] == [401] * len(answers)
    assert SavedTraveller.objects.get().first_name == "Karim"
    assert get_user_model().objects.filter(pk=traveller.pk).exists()


# --- claiming a guest booking by code ------------------------------------------------------------------------------


def claim(api, headers: dict, reference: str, code: str | None = None):
    data = {"reference": reference} if code is None else {"reference": reference, "code": code}
    return api.post(CLAIM, data, format="json", **headers)


def test_a_guest_booking_made_with_another_address_is_claimed_with_the_code_emailed_there(
    api, openapi, traveller, as_traveller, trip
):
    booking = held_booking(trip["out"], contact=SONIA)

    started = claim(api, as_traveller, f" {booking.reference.lower()} ")

    assert started.status_code == 202
    assert_documented(openapi, "post", CLAIM, started)
    assert started.json()["expires_in"] == 30 * 60
    assert references(api.get(BOOKINGS, **as_traveller)) == []
    code = code_sent_for(booking)  # to sonia.t@example.net, the address the booking was made with

    done = claim(api, as_traveller, booking.reference, f"{code[:3]} {code[3:]}")

    assert done.status_code == 200
    assert_documented(openapi, "post", CLAIM, done)
    assert done.json()["reference"] == booking.reference
    booking.refresh_from_db()
    assert booking.owner == traveller
    assert BookingClaim.objects.get().claimed_at is not None
    assert references(api.get(BOOKINGS, **as_traveller)) == [booking.reference]
    assert api.get(f"{BOOKINGS}/{booking.reference}", **as_traveller).status_code == 200
    # Spent: the code does not work twice.
    again = claim(api, as_traveller, booking.reference, code)
    assert (again.status_code, list(again.json())) == (400, ["code"])


def test_asking_for_a_code_is_answered_alike_whether_or_not_the_booking_exists(
    api, as_traveller, other_traveller, trip
):
    theirs = owned_by(other_traveller, held_booking(trip["out"], contact=SONIA))

    unknown = claim(api, as_traveller, "ZZZZ9999")
    owned = claim(api, as_traveller, theirs.reference)

    assert (unknown.status_code, owned.status_code) == (202, 202)
    assert unknown.json() == owned.json()
    assert not BookingClaim.objects.exists()
    assert not Email.objects.filter(kind=Email.Kind.BOOKING_CLAIM).exists()
    # One already in the account's list (made with its verified address) needs no claim.
    by_address = held_booking(trip["out"])
    mine = claim(api, as_traveller, by_address.reference)
    assert (mine.status_code, list(mine.json())) == (400, ["reference"])


def test_a_wrong_code_is_refused_naming_the_code_and_counted(api, traveller, as_traveller, trip):
    booking = held_booking(trip["out"], contact=SONIA)
    claim(api, as_traveller, booking.reference)
    code = code_sent_for(booking)

    wrong = claim(api, as_traveller, booking.reference, another_code(code))

    assert wrong.status_code == 400
    assert wrong.json() == {"code": ["Wrong code. Tries left: 4."]}
    assert BookingClaim.objects.get().attempts == 1
    booking.refresh_from_db()
    assert booking.owner is None
    assert claim(api, as_traveller, booking.reference, code).status_code == 200


def test_after_five_wrong_codes_even_the_right_one_is_refused(api, traveller, as_traveller, trip):
    booking = held_booking(trip["out"], contact=SONIA)
    claim(api, as_traveller, booking.reference)
    code = code_sent_for(booking)

    wrong = [claim(api, as_traveller, booking.reference, another_code(code)).json() for _n in range(5)]

    assert wrong == [{"code": [f"Wrong code. Tries left: {left}."]} for left in (4, 3, 2, 1)] + [
        {"code": ["Wrong code, and no tries left: ask for a new code."]}
    ]
    assert BookingClaim.objects.get().attempts == 5
    right = claim(api, as_traveller, booking.reference, code)
    assert (right.status_code, list(right.json())) == (400, ["code"])
    booking.refresh_from_db()
    assert booking.owner is None
    assert references(api.get(BOOKINGS, **as_traveller)) == []


def test_a_code_sent_for_another_accounts_claim_does_not_work(
    api, traveller, other_traveller, as_traveller, as_other_traveller, trip
):
    booking = held_booking(trip["out"], contact=SONIA)
    claim(api, as_other_traveller, booking.reference)
    their_code = code_sent_for(booking)

    # No claim of this account waits for that booking.
    without_claim = claim(api, as_traveller, booking.reference, their_code)
    assert (without_claim.status_code, list(without_claim.json())) == (400, ["code"])
    # Nor is it the code of this account's own claim.
    my_code = their_code
    while my_code == their_code:  # codes are drawn at random: a new one replaces the last
        claim(api, as_traveller, booking.reference)
        my_code = code_sent_for(booking)
    with_claim = claim(api, as_traveller, booking.reference, their_code)
    assert (with_claim.status_code, with_claim.json()) == (400, {"code": ["Wrong code. Tries left: 4."]})
    booking.refresh_from_db()
    assert booking.owner is None
    # Their code is theirs: the booking becomes their account's, and this account's own code comes too late.
    assert claim(api, as_other_traveller, booking.reference, their_code).status_code == 200
    late = claim(api, as_traveller, booking.reference, my_code)
    assert (late.status_code, list(late.json())) == (400, ["reference"])
    booking.refresh_from_db()
    assert booking.owner == other_traveller
    assert references(api.get(BOOKINGS, **as_traveller)) == []


# --- the holder's data: export and deletion -----------------------------------------------------------------------


def test_the_export_holds_the_saved_travellers_vehicles_and_bookings_and_nobody_elses(
    api, openapi, traveller, other_traveller, as_traveller, trip
):
    api.post(TRAVELLERS, LINA, format="json", **as_traveller)
    api.post(VEHICLES, CAR, format="json", **as_traveller)
    paid = owned_by(traveller, confirmed_booking(trip["out"], trip["back"], contact=SONIA))
    by_address = held_booking(trip["later_out"])
    theirs = held_booking(trip["out"], contact=KARIM)
    their_item("travellers", other_traveller)

    answer = api.get(EXPORT, **as_traveller)

    assert answer.status_code == 200
    assert_documented(openapi, "get", EXPORT, answer)
    export = answer.json()
    assert export["account"]["email"] == traveller.email
    assert export["account"]["addresses"] == [{"email": traveller.email, "verified": True, "primary": True}]
    assert export["saved_travellers"] == [LINA]
    assert export["saved_vehicles"] == [CAR]
    bookings = {booking["reference"]: booking for booking in export["bookings"]}
    assert sorted(bookings) == sorted([paid.reference, by_address.reference])
    assert bookings[paid.reference]["contact"]["email"] == SONIA["email"]
    assert [leg["direction"] for leg in bookings[paid.reference]["legs"]] == ["outbound", "return"]
    assert [p["first_name"] for p in bookings[paid.reference]["passengers"]] == ["Amira"]
    assert bookings[paid.reference]["payments"][0]["status"] == "succeeded"
    assert bookings[by_address.reference]["contact"]["email"] == traveller.email
    assert theirs.reference not in answer.content.decode()
    assert "karim" not in answer.content.decode().lower()


def test_deleting_the_account_with_a_wrong_password_deletes_nothing(api, openapi, traveller, as_traveller, trip):
    booking = owned_by(traveller, held_booking(trip["out"], contact=SONIA))
    api.post(TRAVELLERS, LINA, format="json", **as_traveller)

    answers = [
        api.post(DELETE, {"password": "not my passphrase"}, format="json", **as_traveller),
        api.post(DELETE, {}, format="json", **as_traveller),
    ]

    assert [(answer.status_code, list(answer.json())) for answer in answers] == [(400, ["password"])] * 2
    assert answers[0].json() == {"password": ["This is not your password."]}
    assert_documented(openapi, "post", DELETE, answers[0])
    assert get_user_model().objects.filter(pk=traveller.pk).exists()
    assert SavedTraveller.objects.filter(owner=traveller).count() == 1
    booking.refresh_from_db()
    assert booking.owner == traveller
    assert api.get(ME, **as_traveller).status_code == 200


def test_deleting_the_account_keeps_its_bookings_as_guest_bookings(api, traveller, other_traveller, as_traveller, trip):
    owned = owned_by(traveller, held_booking(trip["out"], contact=SONIA))
    by_address = held_booking(trip["later_out"])
    theirs = owned_by(other_traveller, held_booking(trip["back"], contact=SONIA))
    api.post(TRAVELLERS, LINA, format="json", **as_traveller)
    api.post(VEHICLES, CAR, format="json", **as_traveller)
    api_token = with_api_token(traveller)

    answer = api.post(DELETE, {"password": PASSWORD}, format="json", **as_traveller)

    assert (answer.status_code, answer.content) == (204, b"")
    assert not get_user_model().objects.filter(pk=traveller.pk).exists()
    assert not EmailAddress.objects.filter(email=traveller.email).exists()
    assert (SavedTraveller.objects.count(), SavedVehicle.objects.count()) == (0, 0)
    assert not Token.objects.filter(user_id=traveller.pk).exists()
    for booking in (owned, by_address):
        booking.refresh_from_db()
        assert (booking.owner, booking.anonymised_at) == (None, None)  # kept; still to sail, not anonymised yet
    assert owned.contact_email == SONIA["email"]
    theirs.refresh_from_db()
    assert theirs.owner == other_traveller
    # Its session and its API Token open nothing now; a booking's access token still opens it.
    assert api.get(ME, **as_traveller).status_code == 401
    assert api.get(ME, **api_token).status_code == 401
    assert api.get(f"{BOOKINGS}/{owned.reference}", HTTP_X_BOOKING_TOKEN=access_token(owned)).status_code == 200
    # Nor does its password sign in any more.
    assert api.post(LOGIN, {"email": traveller.email, "password": PASSWORD}, format="json").status_code == 400


def test_deleting_the_account_takes_the_password_exactly_as_it_was_set(api):
    # The website's forms keep a password's spaces (allauth's PasswordField does not strip them).
    lina = make_traveller("lina@example.com", password="  a passphrase with spaces around  ")
    headers = with_api_token(lina)

    trimmed = api.post(DELETE, {"password": "a passphrase with spaces around"}, format="json", **headers)
    assert (trimmed.status_code, list(trimmed.json())) == (400, ["password"])
    answer = api.post(DELETE, {"password": "  a passphrase with spaces around  "}, format="json", **headers)

    assert answer.status_code == 204
    assert not get_user_model().objects.filter(pk=lina.pk).exists()


def test_an_account_without_an_address_is_answered_without_one(api, openapi):
    # Port agents (and staff) sign in with a user name, and have no address.
    agent = get_user_model().objects.create_user("quay", password="a quay pass phrase")
    agent.groups.add(port_agent_group())

    me = api.get(ME, **with_api_token(agent))

    assert me.status_code == 200
    assert_documented(openapi, "get", ME, me)
    assert (me.json()["email"], me.json()["email_verified"]) == (None, False)


def test_a_change_may_clear_a_travellers_document(api, as_traveller):
    item = f"{TRAVELLERS}/{api.post(TRAVELLERS, LINA, format='json', **as_traveller).json()['id']}"

    answer = api.patch(item, {"document_number": None, "document_expires": None}, format="json", **as_traveller)

    assert answer.status_code == 200
    assert (answer.json()["document_number"], answer.json()["document_expires"]) == ("", None)
    assert SavedTraveller.objects.get().document_number == ""
