"""Every e-mail renders in English and in French, with nothing missing, and the confirmation carries e-tickets."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.utils import timezone, translation

from bookings.models import Booking, BookingChange, Compensation, Disruption
from bookings.tests.factories import ADULT, CHILD, held_booking
from ferries.models import Port, SailingRetiming
from kernel import l10n
from notifications.models import Email
from notifications.rendering import build_message
from notifications.services import ONE_TIME, email_enqueue

MISSING = "@@MISSING:%s@@"
TRAVEL_ALERT_KINDS = {Email.Kind.TRAVEL_ALERT, Email.Kind.TRAVEL_ALERT_CONFIRM}
CAR = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160}
ENGLISH_SUBJECTS = {
    Email.Kind.BOOKING_CONFIRMATION: "Your booking {ref} is confirmed — e-tickets inside",
    Email.Kind.BOOKING_CHANGED: "Your booking {ref} is changed — new e-tickets inside",
    Email.Kind.PAYMENT_SUCCESS: "Payment received for booking {ref}",
    Email.Kind.REFUND: "Refund for booking {ref}",
    Email.Kind.CANCELLATION: "Booking {ref} is cancelled",
    Email.Kind.HOLD_EXPIRED: "Your places for booking {ref} were released",
    Email.Kind.DEPARTURE_REMINDER: "Reminder: Tunis → Marseille on {when}, booking {ref}",
    Email.Kind.SAILING_RETIMED: "New time: Tunis → Marseille now leaves {when}, booking {ref}",
    Email.Kind.SAILING_DISRUPTED: "Your sailing is cancelled: choose another sailing or a refund, booking {ref}",
    Email.Kind.COMPENSATION: "Compensation for your late arrival, booking {ref}",
    Email.Kind.CHANGE_PAYMENT: "€50.00 to pay for a change of booking {ref}",
}
FRENCH_SUBJECTS = {
    Email.Kind.BOOKING_CONFIRMATION: "Votre réservation {ref} est confirmée — billets électroniques joints",
    Email.Kind.BOOKING_CHANGED: "Votre réservation {ref} est modifiée — nouveaux billets électroniques joints",
    Email.Kind.PAYMENT_SUCCESS: "Paiement reçu pour la réservation {ref}",
    Email.Kind.REFUND: "Remboursement de la réservation {ref}",
    Email.Kind.CANCELLATION: "La réservation {ref} est annulée",
    Email.Kind.HOLD_EXPIRED: "Les places de la réservation {ref} ont été libérées",
    Email.Kind.DEPARTURE_REMINDER: "Rappel : Tunis → Marseille le {when}, réservation {ref}",
    Email.Kind.SAILING_RETIMED: "Nouvel horaire : Tunis → Marseille part désormais le {when}, réservation {ref}",
    Email.Kind.SAILING_DISRUPTED: "Votre traversée est annulée : choisissez une autre traversée ou un remboursement, "
    "réservation {ref}",
    Email.Kind.COMPENSATION: "Indemnisation pour votre arrivée tardive, réservation {ref}",
    Email.Kind.CHANGE_PAYMENT: "50,00 € à payer pour une modification de la réservation {ref}",
}


def strict_templates():
    """Templates that write a marker wherever a variable is missing."""
    templates = [{**engine, "OPTIONS": {**engine["OPTIONS"], "string_if_invalid": MISSING}}
                 for engine in django_settings.TEMPLATES]  # fmt: skip
    return override_settings(TEMPLATES=templates)


def confirmed_booking(language: str) -> Booking:
    booking = held_booking(passengers=[ADULT, CHILD], vehicle=CAR)
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED, language=language)
    booking.legs.update(operator_booking_ref="CTNX42")
    booking.refresh_from_db()
    return booking


def details_of(kind: str, booking: Booking) -> dict:
    """What the flow that queues an e-mail of this kind gives it."""
    sailing = booking.legs.get().sailing
    if kind == Email.Kind.DEPARTURE_REMINDER:
        return {"leg": "outbound", "window": "24h"}
    if kind == Email.Kind.SAILING_RETIMED:
        earlier = dt.timedelta(hours=2)
        retiming = SailingRetiming.objects.create(
            sailing=sailing, departs_at=sailing.departs_at, arrives_at=sailing.arrives_at, reason="weather",
            previous_departs_at=sailing.departs_at - earlier, previous_arrives_at=sailing.arrives_at - earlier,
        )  # fmt: skip
        return {"sailing_id": sailing.pk, "retiming_id": retiming.pk}
    if kind == Email.Kind.SAILING_DISRUPTED:
        deadline = timezone.now() + dt.timedelta(days=1)
        disruption = Disruption.objects.create(
            booking=booking, direction="outbound", sailing=sailing, cause="cancelled", deadline=deadline
        )
        return {"disruption_id": disruption.pk, "refund_minor": 5000}
    if kind == Email.Kind.COMPENSATION:
        compensation = Compensation.objects.create(
            booking=booking,
            direction="outbound",
            sailing=sailing,
            late_minutes=200,
            percent=25,
            amount_minor=5000,
            currency="EUR",
        )
        return {"compensation_id": compensation.pk, "refund_minor": 5000}
    if kind == Email.Kind.CHANGE_PAYMENT:
        BookingChange.objects.create(
            booking=booking, number=1, kind="vehicle_remeasured", actor="staff:7", summary="Vehicle: 540 × 150 cm",
            wanted={}, party={}, difference_minor=5000, fee_minor=0, due_minor=5000, refund_minor=0, currency="EUR",
            expires_at=timezone.now() + dt.timedelta(hours=12), status="awaiting_payment",
        )  # fmt: skip
        return {"change_number": 1, "due_minor": 5000}
    return {"refund_minor": 5000}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
# Staff alerts: test_staff_alerts.py; e-mails written when asked for (a one-time link or code): accounts' tests;
# travel alerts, about no booking: test_travel_alerts.py.
@pytest.mark.parametrize(
    "kind", sorted(set(Email.Kind.values) - {Email.Kind.STAFF_ALERT, *TRAVEL_ALERT_KINDS} - ONE_TIME)
)
def test_each_e_mail_renders_in_each_language_with_nothing_missing(kind, language):
    booking = confirmed_booking(language)
    email = email_enqueue(booking=booking, kind=kind, key="re_1", details=details_of(kind, booking))

    with strict_templates():
        message, subject, text, html = build_message(email)

    sailing = booking.legs.get().sailing
    with translation.override(language):
        when = l10n.day_time(timezone.localtime(sailing.departs_at, sailing.route.origin.tz))
    expected = (FRENCH_SUBJECTS if language == "fr" else ENGLISH_SUBJECTS)[kind].format(
        ref=booking.reference, when=when
    )
    assert subject == expected
    for body in (text, html):
        assert "@@MISSING" not in body
        assert booking.reference in body
        assert "manage?reference=" + booking.reference in body
    assert "&#x27;" not in text, "plain text is not HTML-escaped"
    assert message.to == ["amira@example.com"]


@pytest.mark.django_db
def test_the_confirmation_shows_port_times_prices_and_the_operator_reference():
    booking = confirmed_booking("en")
    leg = booking.legs.get()
    email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)

    _message, _subject, text, html = build_message(email)

    local = leg.sailing.departs_at.astimezone(leg.sailing.route.origin.tz)
    assert f"{local:%H:%M}" in text
    assert "Operator reference CTNX42" in text
    assert "1 × Adult (12–64): €100.00" in text
    assert "1 × Car: €150.00" in text
    assert "Total paid: €300.00" in text
    assert "Youssef Ben Salah (Child (4–11))" in text
    assert 'src="cid:qr-outbound"' in html


@pytest.mark.django_db
def test_the_confirmation_names_each_legs_fare_and_its_rules_as_sold():
    booking = held_booking(outbound_fare_family="basic")
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)

    _message, _subject, text, html = build_message(email)

    assert "Fare: Basic — Not refundable. No changes." in text
    assert "<strong>Fare: Basic</strong> — Not refundable. No changes." in html


@pytest.mark.django_db
def test_the_confirmation_says_where_and_until_when_to_check_in_in_port_time():
    booking = confirmed_booking("en")
    sailing = booking.legs.get().sailing
    Port.objects.filter(pk=sailing.route.origin_id).update(
        terminal="Gare maritime de La Goulette", terminal_address="2060 La Goulette", check_in_closes_minutes=180
    )
    email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)

    _message, _subject, text, html = build_message(email)

    closes = (sailing.departs_at - dt.timedelta(minutes=180)).astimezone(sailing.route.origin.tz)
    when = f"{closes:%a} {closes.day} {closes:%b}, {closes:%H:%M}"
    assert f"Check-in closes {when} at Gare maritime de La Goulette, 2060 La Goulette" in text
    assert f"Check-in closes <strong>{when}</strong> at Gare maritime de La Goulette, 2060 La Goulette" in html


@pytest.mark.django_db
def test_the_confirmation_carries_a_qr_code_per_leg_inline_and_the_e_tickets_as_pdf():
    booking = confirmed_booking("fr")
    email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)

    message = build_message(email)[0].message()

    parts = {part.get("Content-ID"): part for part in message.walk() if part.get("Content-ID")}
    assert parts["<qr-outbound>"].get_content_type() == "image/png"
    assert parts["<qr-outbound>"].get_payload(decode=True).startswith(b"\x89PNG")
    pdfs = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in pdfs] == [f"e-ticket-{booking.reference}.pdf"]
    assert pdfs[0].get_payload(decode=True).startswith(b"%PDF")
