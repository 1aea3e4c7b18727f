"""The holder's rights: everything we hold about them in one download, and their account deleted — its bookings
kept for the accounts, their people anonymised once the retention period after the last sailing is over."""

import datetime as dt
import json

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.flows import account_delete
from accounts.models import SavedTraveller, SavedVehicle
from accounts.tests.conftest import PASSWORD
from bookings.flows.forgetting import bookings_forget_due
from bookings.flows.stripe_events import payment_event_process
from bookings.models import Booking, BookingVehicle, Passenger
from bookings.privacy import ANONYMISED_NAME
from bookings.tests.factories import CONTACT, confirmed_booking, held_booking
from ferries.models import Sailing
from notifications.models import Email, TravelAlert
from notifications.services import email_enqueue
from payments.models import WebhookEvent
from payments.webhooks import webhook_events_forget

pytestmark = pytest.mark.django_db

CAR = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160}


def travelled_long_ago(booking: Booking, *, days: int) -> None:
    """The booking's sailings left `days` ago (and it was made before)."""
    past = timezone.now() - dt.timedelta(days=days)
    Sailing.objects.filter(booking_legs__booking=booking).update(
        departs_at=past, arrives_at=past + dt.timedelta(hours=20)
    )
    Booking.objects.filter(pk=booking.pk).update(created_at=past - dt.timedelta(days=30))


def test_the_export_holds_the_account_its_saved_details_and_its_bookings(signed_in, traveller, trip):
    SavedTraveller.objects.create(owner=traveller, first_name="Lina", last_name="Ben Salah", nationality="TN",
                                  date_of_birth=dt.date(2016, 5, 2), document_number="TN998877")  # fmt: skip
    SavedVehicle.objects.create(owner=traveller, **CAR)
    booking = confirmed_booking(trip["out"], vehicle=CAR)  # made with the account's address
    answer = signed_in.get("/accounts/privacy/export")
    assert answer["Content-Type"] == "application/json"
    assert answer["Content-Disposition"].startswith('attachment; filename="maritime-account-')
    data = json.loads(answer.content)
    assert data["account"]["email"] == "amira@example.com"
    assert data["account"]["addresses"] == [{"email": "amira@example.com", "verified": True, "primary": True}]
    assert data["saved_travellers"][0]["document_number"] == "TN998877"
    assert data["saved_vehicles"][0]["registration"] == "123 TU 4567"
    (exported,) = data["bookings"]
    assert exported["reference"] == booking.reference
    assert exported["passengers"][0]["document_number"] == "X1234567"
    assert [v["registration"] for v in exported["vehicles"]] == ["123 TU 4567"]
    assert exported["payments"][0]["amount_minor"] == booking.total_minor
    assert [e["kind"] for e in exported["emails"]]  # the booking's e-mails, by kind and date


def test_deleting_the_account_asks_for_the_password_and_a_tick(signed_in, traveller):
    answer = signed_in.post("/accounts/delete", {"password": "wrong"})
    assert answer.status_code == 400
    assert "This is not your password." in answer.content.decode()
    assert "Tick the box to confirm." in answer.content.decode()
    assert get_user_model().objects.filter(pk=traveller.pk).exists()


def test_deleting_the_account_keeps_its_bookings_and_anonymises_those_past_retention(
    signed_in, traveller, trip, settings
):
    settings.PERSONAL_DATA_RETENTION_DAYS = 730
    SavedTraveller.objects.create(owner=traveller, first_name="Lina", last_name="B", nationality="TN",
                                  date_of_birth=dt.date(2016, 5, 2))  # fmt: skip
    old = confirmed_booking(trip["out"], vehicle=CAR)
    travelled_long_ago(old, days=800)
    recent = confirmed_booking(trip["back"], contact={**CONTACT, "email": "amira.work@example.com"})
    Booking.objects.filter(pk=recent.pk).update(owner=traveller)
    travelled_long_ago(recent, days=100)
    upcoming = confirmed_booking(trip["later_out"])
    email_enqueue(booking=old, kind=Email.Kind.BOOKING_CONFIRMATION, key="again")

    answer = signed_in.post("/accounts/delete", {"password": PASSWORD, "confirm": "on"})
    assert answer.status_code == 302
    assert answer.url == "/"
    assert not get_user_model().objects.filter(pk=traveller.pk).exists()
    assert not EmailAddress.objects.exists()
    assert not SavedTraveller.objects.exists()
    assert "_auth_user_id" not in signed_in.session

    # Every booking is kept, as a guest booking.
    assert set(Booking.objects.values_list("pk", "owner")) == {(old.pk, None), (recent.pk, None), (upcoming.pk, None)}
    old.refresh_from_db()
    assert old.anonymised_at is not None
    assert (old.contact_name, old.contact_phone) == (ANONYMISED_NAME, "")
    assert old.contact_email == f"anonymised-{old.reference.lower()}@anonymised.invalid"
    passenger = Passenger.objects.get(booking=old)
    assert (passenger.first_name, passenger.last_name, passenger.document_number) == (ANONYMISED_NAME, "1", "")
    assert (passenger.date_of_birth.month, passenger.date_of_birth.day) == (1, 1)
    assert BookingVehicle.objects.get(booking=old).registration == ""
    assert not Email.objects.filter(booking=old).exclude(recipient=old.contact_email).exists()
    assert not Email.objects.filter(booking=old).exclude(body_text="").exists()
    assert old.total_minor > 0  # the accounts keep their figures
    assert old.payments.exists()

    # Within the retention period, and still to travel: kept as they are, reachable with reference and address.
    for booking in (recent, upcoming):
        booking.refresh_from_db()
        assert booking.anonymised_at is None
        assert Passenger.objects.get(booking=booking).first_name == "Amira"
    assert signed_in.post("/manage", {"reference": upcoming.reference, "email": "amira@example.com"}).status_code == 302


def test_the_daily_sweep_anonymises_guest_bookings_past_retention_but_not_an_accounts(traveller, trip, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 365
    guest = held_booking(trip["out"], contact={**CONTACT, "email": "guest@example.org"})
    Booking.objects.filter(pk=guest.pk).update(status=Booking.Status.EXPIRED)
    travelled_long_ago(guest, days=400)
    kept_by_address = confirmed_booking(trip["back"])  # amira@example.com: the account's verified address
    travelled_long_ago(kept_by_address, days=400)
    recent_guest = confirmed_booking(trip["later_out"], contact={**CONTACT, "email": "other@example.org"})
    travelled_long_ago(recent_guest, days=300)

    assert bookings_forget_due() == 1
    assert set(Booking.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)) == {guest.pk}
    assert bookings_forget_due() == 0  # once
    # The account's address no longer verified (or the account gone): its booking's turn comes.
    EmailAddress.objects.filter(user=traveller).update(verified=False)
    assert bookings_forget_due() == 1


def test_anonymising_a_booking_leaves_stripe_s_events_about_its_payments_without_the_payer(trip, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 365
    booking = confirmed_booking(trip["out"], contact={**CONTACT, "email": "guest@example.org"})
    travelled_long_ago(booking, days=400)
    intent = booking.payments.get().intent_id
    payer = {"name": "Amira Ben Salah", "email": "guest@example.org", "address": {"line1": "12 rue de Marseille"}}
    charge = {"id": "ch_1", "object": "charge", "amount": booking.total_minor, "currency": "eur", "status": "succeeded",
              "payment_intent": intent, "billing_details": payer, "receipt_email": "guest@example.org",
              "metadata": {"booking_reference": booking.reference}}  # fmt: skip
    event = {"id": "evt_1", "type": "charge.succeeded", "data": {"object": charge}}
    about_it = WebhookEvent.objects.create(event_id="evt_1", type=event["type"], processed_at=timezone.now(),
                                           payload=event)  # fmt: skip
    other = {"id": "pi_other", "object": "payment_intent", "receipt_email": "someone@example.org"}
    not_about_it = WebhookEvent.objects.create(event_id="evt_2", type="payment_intent.succeeded",
                                               payload={"id": "evt_2", "data": {"object": other}})  # fmt: skip

    assert bookings_forget_due() == 1

    about_it.refresh_from_db()
    assert about_it.payload == {"id": "evt_1", "type": "charge.succeeded", "data": {"object": {
        "id": "ch_1", "object": "charge", "amount": booking.total_minor, "currency": "eur", "status": "succeeded",
        "payment_intent": intent, "metadata": {"booking_reference": booking.reference}}}}  # fmt: skip
    assert "guest@example.org" not in json.dumps(about_it.payload)
    not_about_it.refresh_from_db()
    assert not_about_it.payload["data"]["object"]["receipt_email"] == "someone@example.org"


def test_an_event_scrubbed_before_it_was_processed_is_still_processed_from_what_is_kept(trip):
    booking = confirmed_booking(trip["out"])
    payment = booking.payments.get()
    payer = {"name": "Amira Ben Salah", "email": "amira@example.com", "address": {"line1": "12 rue de Marseille"}}
    charge = {"id": "ch_late", "object": "charge", "amount": booking.total_minor, "currency": "eur",
              "status": "succeeded", "payment_intent": payment.intent_id, "billing_details": payer}  # fmt: skip
    event = {"id": "evt_late", "type": "charge.succeeded", "data": {"object": charge}}
    WebhookEvent.objects.create(event_id="evt_late", type="charge.succeeded", payload=event)

    assert webhook_events_forget(intent_ids=[payment.intent_id]) == 1
    payment_event_process(event_id="evt_late")  # a retry, after the booking was anonymised

    event = WebhookEvent.objects.get(event_id="evt_late")
    assert "billing_details" not in event.payload["data"]["object"]
    assert event.processed_at is not None
    assert event.outcome == "handled"
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED
    assert not payment.refunds.exists()


def test_deleting_the_account_deletes_the_travel_alerts_of_its_addresses_and_no_one_elses(traveller, trip):
    def alert(email: str, owner=None) -> TravelAlert:
        return TravelAlert.objects.create(
            kind="price", email=email, owner=owner, query={"from": "TNTUN", "to": "FRMRS", "date": "2027-01-01",
            "party": {}}, below_minor=5000, ends_at=timezone.now() + dt.timedelta(days=30),
        )  # fmt: skip

    alert("amira@example.com", owner=traveller)
    alert("AMIRA@example.com")  # set as a guest, with the same address
    kept = alert("karim@example.com")

    account_delete(user=traveller, password=PASSWORD)

    assert list(TravelAlert.objects.all()) == [kept]
