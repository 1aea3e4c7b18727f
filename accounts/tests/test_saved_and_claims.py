"""Saved travellers and vehicles on the account pages (an account's own, nobody else's), their one-click fill on
the booking form, and a guest booking claimed with the code sent to its address."""

import datetime as dt
import json
import re

import pytest
from django.core import mail

from accounts.models import BookingClaim, SavedTraveller, SavedVehicle
from bookings.models import Booking
from bookings.tests.factories import CONTACT, held_booking
from bookings.tests.test_website import details_url

pytestmark = pytest.mark.django_db

LINA = {
    "first_name": "Lina", "last_name": "Ben Salah", "date_of_birth": "2016-05-02", "nationality": "TN",
    "document_type": "passport", "document_number": "tn998877", "document_expires": "2031-01-31",
}  # fmt: skip
CAR = {"category": "car", "registration": "123 tu 4567", "length_cm": "", "height_cm": "190"}
KARIM = {**CONTACT, "name": "Karim Haddad", "email": "karim.h@example.net"}


def field_errors(answer) -> dict[str, str]:
    html = answer.content.decode()
    found = re.findall(r'<ul class="errorlist" id="id_(\w+)_error">(.*?)</ul>', html, re.S)
    return {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in found}


def test_a_traveller_is_saved_as_a_booking_would_read_them(signed_in, traveller):
    answer = signed_in.post("/accounts/travellers/new", LINA)
    assert answer.status_code == 302
    saved = SavedTraveller.objects.get(owner=traveller)
    assert (saved.first_name, saved.document_number, saved.document_expires) == (
        "Lina",
        "TN998877",
        dt.date(2031, 1, 31),
    )
    assert "Lina Ben Salah" in signed_in.get("/accounts/").content.decode()

    answer = signed_in.post(f"/accounts/travellers/{saved.pk}", {**LINA, "last_name": "Haddad"})
    assert answer.status_code == 302
    saved.refresh_from_db()
    assert saved.last_name == "Haddad"


def test_a_traveller_with_bad_details_is_refused_field_by_field_and_nothing_is_saved(signed_in):
    answer = signed_in.post("/accounts/travellers/new", {
        **LINA, "first_name": "L1na", "date_of_birth": "2999-01-01", "nationality": "ZZ", "document_number": "!!",
    })  # fmt: skip
    assert answer.status_code == 400
    errors = field_errors(answer)
    assert set(errors) == {"first_name", "date_of_birth", "nationality", "document_number"}
    assert errors["date_of_birth"] == "The date of birth is in the future."
    assert not SavedTraveller.objects.exists()


def test_a_vehicle_takes_the_typical_size_where_left_out_and_a_plate_once(signed_in, traveller):
    assert signed_in.post("/accounts/vehicles/new", CAR).status_code == 302
    vehicle = SavedVehicle.objects.get(owner=traveller)
    assert (vehicle.registration, vehicle.length_cm, vehicle.height_cm) == ("123 TU 4567", 450, 190)
    again = signed_in.post("/accounts/vehicles/new", CAR)
    assert field_errors(again) == {"registration": "A vehicle with this registration is saved already."}
    too_tall = signed_in.post("/accounts/vehicles/new", {**CAR, "registration": "AB-123-CD", "height_cm": "900"})
    assert "height_cm" in field_errors(too_tall)
    assert SavedVehicle.objects.count() == 1


@pytest.mark.parametrize("path", ["/accounts/travellers/{t}", "/accounts/vehicles/{v}"])
def test_another_accounts_traveller_or_vehicle_cannot_be_seen_or_changed(signed_in, other_traveller, path):
    lina = {**LINA, "document_number": "TN998877", "date_of_birth": dt.date(2016, 5, 2), "document_expires": None}
    theirs_t = SavedTraveller.objects.create(owner=other_traveller, **lina)
    theirs_v = SavedVehicle.objects.create(owner=other_traveller, category="car", registration="X1", length_cm=450,
                                           height_cm=160)  # fmt: skip
    url = path.format(t=theirs_t.pk, v=theirs_v.pk)
    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url, LINA if "travellers" in url else CAR).status_code == 404
    assert signed_in.post(f"{url}/delete").status_code == 404
    assert SavedTraveller.objects.filter(pk=theirs_t.pk, first_name="Lina", last_name="Ben Salah").exists()
    assert SavedVehicle.objects.filter(pk=theirs_v.pk, registration="X1").exists()
    assert "Lina" not in signed_in.get("/accounts/").content.decode()
    # Ids the database could not even hold answer the same.
    assert signed_in.get("/accounts/travellers/99999999999999999999").status_code == 404


def test_removing_a_saved_traveller(signed_in, traveller):
    saved = SavedTraveller.objects.create(owner=traveller, first_name="Lina", last_name="B", nationality="TN",
                                          date_of_birth=dt.date(2016, 5, 2))  # fmt: skip
    assert signed_in.post(f"/accounts/travellers/{saved.pk}/delete").status_code == 302
    assert not SavedTraveller.objects.exists()


def test_the_booking_form_offers_saved_travellers_who_fit_each_passenger_and_warns_of_expiring_documents(
    signed_in, traveller, trip
):
    outbound, back = trip["out"], trip["back"]
    adult = SavedTraveller.objects.create(
        owner=traveller, first_name="Amira", last_name="Ben Salah", nationality="TN",
        date_of_birth=dt.date(1985, 4, 12), document_number="X1234567",
        document_expires=back.departs_at.date() - dt.timedelta(days=1),
    )  # fmt: skip
    eight = outbound.departs_at.date().replace(year=outbound.departs_at.year - 8)
    child = SavedTraveller.objects.create(
        owner=traveller, first_name="Lina", last_name="Ben Salah", nationality="TN", date_of_birth=eight
    )
    SavedVehicle.objects.create(
        owner=traveller, category="car", registration="123 TU 4567", length_cm=470, height_cm=190
    )
    SavedVehicle.objects.create(
        owner=traveller, category="motorcycle", registration="M 1", length_cm=220, height_cm=140
    )

    html = signed_in.get(details_url(outbound, back, children=1, vehicle="car")).content.decode()
    data = json.loads(re.search(r'<script id="saved-details" type="application/json">(.*?)</script>', html, re.S)[1])
    adult_block, child_block = re.findall(r'data-saved-for="(passengers-\d-)">(.*?)</div>', html, re.S)
    assert re.findall(r'data-saved="([\w-]+)"', adult_block[1]) == [f"traveller-{adult.pk}"]
    assert re.findall(r'data-saved="([\w-]+)"', child_block[1]) == [f"traveller-{child.pk}"]
    assert data[f"traveller-{adult.pk}"]["document_number"] == "X1234567"
    assert "expires on" in data[f"traveller-{adult.pk}"]["warning"]
    assert data[f"traveller-{child.pk}"]["warning"] == ""
    # Only vehicles of the kind searched for.
    vehicle_block = re.search(r'data-saved-for="vehicles-0-">(.*?)</div>', html, re.S)[1]
    assert re.findall(r'data-saved="([\w-]+)"', vehicle_block) == [k for k in data if k.startswith("vehicle-")]
    assert len(re.findall(r'data-saved="vehicle', vehicle_block)) == 1


def test_a_guest_sees_no_saved_details_on_the_booking_form(client, trip):
    assert 'id="saved-details"' not in client.get(details_url(trip["out"])).content.decode()


# --- claiming a guest booking by code -----------------------------------------------------------------------------


def claim_code(address: str) -> str:
    (message,) = [m for m in mail.outbox if address in m.to]
    return re.search(r"^\s+(\d{6})\s*$", message.body, re.M)[1]


def test_a_guest_booking_made_with_another_address_is_claimed_with_the_code_sent_there(
    signed_in, traveller, trip, django_capture_on_commit_callbacks, eager_tasks
):
    booking = held_booking(trip["out"], contact=KARIM)
    assert booking.reference not in signed_in.get("/accounts/trips").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = signed_in.post("/accounts/claim", {"reference": booking.reference.lower()})
    assert answer.status_code == 200
    assert "Enter the code" in answer.content.decode()
    code = claim_code(KARIM["email"])

    wrong = signed_in.post(
        "/accounts/claim", {"reference": booking.reference, "code": "000000" if code != "000000" else "111111"}
    )
    assert wrong.status_code == 400
    assert "Wrong code. Tries left: 4." in wrong.content.decode()
    assert Booking.objects.get(pk=booking.pk).owner is None

    answer = signed_in.post("/accounts/claim", {"reference": booking.reference, "code": code})
    assert answer.status_code == 302
    assert answer.url == f"/bookings/{booking.reference}"
    assert Booking.objects.get(pk=booking.pk).owner == traveller
    assert booking.reference in signed_in.get("/accounts/trips").content.decode()
    assert BookingClaim.objects.get().claimed_at is not None


def test_a_claim_says_the_same_whether_or_not_the_booking_exists_and_sends_nothing_for_another_accounts(
    signed_in, other_traveller, trip, django_capture_on_commit_callbacks, eager_tasks
):
    owned = held_booking(trip["out"], contact=KARIM)
    Booking.objects.filter(pk=owned.pk).update(owner=other_traveller)
    with django_capture_on_commit_callbacks(execute=True):
        unknown = signed_in.post("/accounts/claim", {"reference": "ZZZZZZ"})
        taken = signed_in.post("/accounts/claim", {"reference": owned.reference})
    words = re.compile(r'<p class="lead">(.*?)</p>', re.S)
    assert words.search(unknown.content.decode())[1].replace("ZZZZZZ", "REF") == words.search(taken.content.decode())[
        1
    ].replace(owned.reference, "REF")
    assert mail.outbox == []
    assert not BookingClaim.objects.exists()


def test_five_wrong_codes_spend_the_claim(signed_in, trip, django_capture_on_commit_callbacks, eager_tasks):
    booking = held_booking(trip["out"], contact=KARIM)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/accounts/claim", {"reference": booking.reference})
    code = claim_code(KARIM["email"])
    wrong = "111111" if code != "111111" else "222222"
    for _attempt in range(5):
        signed_in.post("/accounts/claim", {"reference": booking.reference, "code": wrong})
    answer = signed_in.post("/accounts/claim", {"reference": booking.reference, "code": code})
    assert answer.status_code == 400
    assert "No code is waiting for this booking" in answer.content.decode()
    assert Booking.objects.get(pk=booking.pk).owner is None


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Your code to add booking {ref} to an account"),
        ("fr", "Votre code pour ajouter la réservation {ref} à un compte"),
    ],
)
def test_the_claim_code_is_e_mailed_in_the_bookings_language_and_not_kept_once_sent(
    signed_in, trip, language, subject, django_capture_on_commit_callbacks, eager_tasks
):
    from notifications.models import Email

    booking = held_booking(trip["out"], contact=KARIM)
    Booking.objects.filter(pk=booking.pk).update(language=language)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/accounts/claim", {"reference": booking.reference})
    (message,) = mail.outbox
    assert message.subject == subject.format(ref=booking.reference)
    assert re.search(r"^\s+\d{6}\s*$", message.body, re.M)
    row = Email.objects.get(kind=Email.Kind.BOOKING_CLAIM, booking=booking)
    assert (row.status, row.recipient, row.body_text) == ("sent", KARIM["email"], "")
