"""A sailing's manifest equals its confirmed bookings: on the admin page, in the CSV and in the PDF."""

import csv
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from bookings import boarding
from bookings.flows.cancelling import booking_cancel
from bookings.flows.remeasuring import vehicle_remeasure
from bookings.manifests import sailing_manifest
from bookings.tests.factories import ADULT, CHILD, INFANT, confirmed_booking, held_booking
from ferries.choices import Accommodation

pytestmark = pytest.mark.django_db
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}
KARIM = {**ADULT, "first_name": "Karim", "last_name": "Haddad", "nationality": "FR", "document_number": "FR998877",
         "date_of_birth": "1979-02-03"}  # fmt: skip


@pytest.fixture
def on_board(trip):
    """Two confirmed bookings on the outbound sailing (one checked in and partly boarded), one held, one cancelled."""
    family = confirmed_booking(trip["out"], passengers=[ADULT, CHILD, INFANT], vehicle=CAR,
                               accommodation=Accommodation.INSIDE_2, pets=1)  # fmt: skip
    karim = confirmed_booking(trip["out"], trip["back"], passengers=[KARIM])
    held_booking(trip["out"], passengers=[{**KARIM, "first_name": "Held"}])
    gone = confirmed_booking(trip["out"], passengers=[{**KARIM, "first_name": "Gone"}])
    booking_cancel(booking_id=gone.pk, actor="traveller", reason="plans changed")
    leg = family.legs.get()
    everyone = list(family.passengers.values_list("pk", flat=True))
    boarding.travellers_check_in(leg_id=leg.pk, passenger_ids=everyone, vehicle=True, agent="staff:1")
    boarding.travellers_board(leg_id=leg.pk, passenger_ids=everyone[:1], vehicle=True, agent="staff:1")
    return {"family": family, "karim": karim, "sailing": trip["out"]}


def test_the_manifest_lists_every_confirmed_traveller_vehicle_cabin_and_pet_and_no_one_else(on_board):
    manifest = sailing_manifest(sailing_id=on_board["sailing"].pk)

    names = sorted(f"{p.first_name} {p.last_name}" for p in manifest.passengers)
    assert names == ["Amira Ben Salah", "Karim Haddad", "Lina Ben Salah", "Youssef Ben Salah"]
    assert [(v.registration, v.length_cm, v.height_cm) for v in manifest.vehicles] == [("AB-123-CD", 450, 150)]
    assert manifest.cabins == {"Inside cabin, 2 berths": 1}  # two occupants: the infant travels on a lap
    assert manifest.pets == 1
    progress = manifest.progress
    assert (progress.passengers, progress.checked_in, progress.boarded) == (4, 3, 1)
    assert (progress.vehicles, progress.vehicles_checked_in, progress.vehicles_boarded) == (1, 1, 1)
    karim = next(p for p in manifest.passengers if p.first_name == "Karim")
    assert (karim.nationality, karim.document_number, karim.date_of_birth.isoformat()) == (
        "FR",
        "FR998877",
        "1979-02-03",
    )
    assert karim.checked_in_at is None


def test_the_manifest_csv_has_a_row_per_passenger_and_vehicle_as_the_bookings_have_them(admin_client, on_board):
    url = reverse("admin:bookings_sailing_manifest_csv", args=[on_board["sailing"].pk])

    response = admin_client.get(url)

    assert response["Content-Disposition"] == f'attachment; filename="manifest-{on_board["sailing"].ref}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    passengers = [r for r in rows if r["kind"] == "passenger"]
    vehicles = [r for r in rows if r["kind"] == "vehicle"]
    expected = {(p.booking.reference, p.last_name, p.first_name, p.date_of_birth.isoformat(), p.document_number)
                for b in (on_board["family"], on_board["karim"]) for p in b.passengers.all()}  # fmt: skip
    assert {(r["booking"], r["last_name"], r["first_name"], r["date_of_birth"], r["document_number"])
            for r in passengers} == expected  # fmt: skip
    assert [(v["registration"], v["length_cm"], v["height_cm"]) for v in vehicles] == [("AB-123-CD", "450", "150")]
    assert vehicles[0]["boarded_at"]
    assert sum(bool(r["checked_in_at"]) for r in passengers) == 3


def test_the_manifest_pdf_names_every_passenger_and_vehicle(admin_client, on_board):
    response = admin_client.get(reverse("admin:bookings_sailing_manifest_pdf", args=[on_board["sailing"].pk]))

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for name in ("Amira", "Youssef", "Lina", "Karim", "Haddad", "AB-123-CD", "FR998877", on_board["sailing"].ref):
        assert name in text
    assert "Held" not in text
    assert "Gone" not in text


def test_the_manifest_page_shows_load_factor_and_check_in_progress(admin_client, on_board):
    sailing = on_board["sailing"]

    page = admin_client.get(reverse("admin:bookings_sailing_manifest", args=[sailing.pk])).content.decode()

    assert "Load factor" in page
    assert "Vehicle deck (lane metres)" in page
    assert "Karim" in page
    assert reverse("admin:bookings_sailing_manifest_pdf", args=[sailing.pk]) in page
    sailing_page = admin_client.get(reverse("admin:ferries_sailing_change", args=[sailing.pk])).content.decode()
    assert reverse("admin:bookings_sailing_manifest", args=[sailing.pk]) in sailing_page


def test_staff_who_may_not_read_bookings_get_no_manifest(client, django_user_model, on_board):
    clerk = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)

    assert client.get(reverse("admin:bookings_sailing_manifest_csv", args=[on_board["sailing"].pk])).status_code == 403


def test_the_sailings_list_leads_from_each_sailings_passengers_to_its_manifest(admin_client, on_board):
    page = admin_client.get(reverse("admin:ferries_sailing_changelist")).content.decode()

    assert reverse("admin:bookings_sailing_manifest", args=[on_board["sailing"].pk]) in page


def test_a_vehicle_measured_at_the_quay_shows_its_measured_size(admin_client, on_board):
    vehicle_remeasure(booking_id=on_board["family"].pk, length_cm=450, height_cm=150, actor="staff:1")

    [vehicle] = sailing_manifest(sailing_id=on_board["sailing"].pk).vehicles
    assert vehicle.measured_at is not None
    response = admin_client.get(reverse("admin:bookings_sailing_manifest_csv", args=[on_board["sailing"].pk]))
    [row] = [r for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))) if r["kind"] == "vehicle"]
    assert row["measured_at"]
