"""E-tickets and invoices are made once for what they show and kept: served from storage afterwards, made again when
what they show changes."""

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.utils import translation
from prometheus_client import REGISTRY
from pypdf import PdfReader

from bookings.flows import forgetting
from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import confirmed_booking
from notifications import documents, typefaces
from notifications.etickets import eticket_facts, eticket_pdf, eticket_render
from notifications.invoices import invoice_pdf, invoice_render
from notifications.models import Email
from notifications.rendering import build_message
from notifications.services import email_resend, email_send

pytestmark = pytest.mark.django_db


def renders(document: str) -> float:
    return REGISTRY.get_sample_value("maritime_pdf_renders_total", {"document": document}) or 0


def kept(folder: str) -> list[str]:
    storage = storages["documents"]
    return sorted(storage.listdir(folder)[1]) if storage.exists(folder) else []


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def browser_with(booking: Booking) -> Client:
    client = Client()
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return client


def attachment(email: Email, name: str) -> bytes:
    message, *_rest = build_message(Email.objects.get(pk=email.pk))
    files = [item for item in message.attachments if isinstance(item, tuple)]  # the QR images are MIME parts
    return next(content for filename, content, _type in files if filename == name)


def test_the_e_tickets_of_one_version_are_made_once_for_the_e_mail_its_resend_and_the_downloads():
    booking = confirmed_booking()
    confirmation = Email.objects.get(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)
    before = renders("eticket")

    sent = attachment(confirmation, f"e-ticket-{booking.reference}.pdf")
    email_send(email_id=confirmation.pk)
    email_resend(email_id=confirmation.pk)
    email_send(email_id=confirmation.pk)
    downloads = [browser_with(booking).get(f"/bookings/{booking.reference}/e-tickets.pdf").content for _ in range(2)]

    assert renders("eticket") - before == 1
    assert downloads == [sent, sent]
    assert len(kept(f"etickets/{booking.reference}")) == 1


def test_a_change_of_the_passengers_makes_new_e_tickets_that_show_it_and_drops_the_old_ones():
    booking = confirmed_booking()
    first = eticket_pdf(booking)
    before = renders("eticket")

    booking.passengers.update(first_name="Leila", last_name="Trabelsi")
    second = eticket_pdf(Booking.objects.get(pk=booking.pk))

    assert renders("eticket") - before == 1
    assert "Amira Ben Salah" in text_of(first)
    assert "Leila Trabelsi" in text_of(second)
    assert "Amira Ben Salah" not in text_of(second)
    assert len(kept(f"etickets/{booking.reference}")) == 1


def test_a_sailing_retimed_makes_new_e_tickets_with_the_new_time():
    booking = confirmed_booking()
    leg = booking.legs.select_related("sailing").get()
    eticket_pdf(booking)
    before = renders("eticket")

    sailing = leg.sailing
    sailing.departs_at += dt.timedelta(hours=2)
    sailing.arrives_at += dt.timedelta(hours=2)
    sailing.save(update_fields=["departs_at", "arrives_at"])
    text = text_of(eticket_pdf(Booking.objects.get(pk=booking.pk)))

    assert renders("eticket") - before == 1
    departs = sailing.departs_at.astimezone(sailing.route.origin.tz)
    assert departs.strftime("%H:%M") in text


def test_e_tickets_are_kept_for_each_language_they_are_asked_in():
    booking = confirmed_booking()
    before = renders("eticket")

    english = eticket_pdf(booking)
    with translation.override("fr"):
        french = eticket_pdf(booking)
    again = eticket_pdf(booking)

    assert renders("eticket") - before == 2
    assert "Booking reference" in text_of(english)
    assert "Référence de réservation" in text_of(french)
    assert again == english
    assert len(kept(f"etickets/{booking.reference}")) == 2


def test_an_invoice_served_from_storage_is_the_first_render_byte_for_byte():
    booking = confirmed_booking()
    invoice = booking.invoices.get()
    receipt = Email.objects.get(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)
    before = renders("invoice")

    first = attachment(receipt, f"{invoice.number}.pdf")
    downloaded = browser_with(booking).get(f"/bookings/{booking.reference}/invoices/{invoice.number}.pdf").content
    again = invoice_pdf(invoice)

    assert renders("invoice") - before == 1
    assert downloaded == first
    assert again == first
    assert invoice.number in text_of(first)


def test_forgetting_a_booking_drops_its_kept_e_tickets():
    booking = confirmed_booking()
    eticket_pdf(booking)

    forgetting.booking_forget(booking_id=booking.pk)

    assert kept(f"etickets/{booking.reference}") == []


def test_a_kept_document_cut_short_is_made_again_and_kept_whole():
    booking = confirmed_booking()
    whole = eticket_pdf(booking)
    [name] = kept(f"etickets/{booking.reference}")
    path = Path(storages["documents"].path(f"etickets/{booking.reference}/{name}"))
    path.write_bytes(whole[: len(whole) // 2])  # a disk that filled up while it was written
    before = renders("eticket")

    served = eticket_pdf(booking)

    assert renders("eticket") - before == 1
    assert served == whole
    assert path.read_bytes() == whole
    assert kept(f"etickets/{booking.reference}") == [name], "written under a name of its own, then renamed"


def test_e_tickets_are_made_again_when_the_key_their_codes_are_signed_with_changes(settings):
    booking = confirmed_booking()
    before_rotation = eticket_pdf(booking)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-key-" + "x" * 50
    before = renders("eticket")

    after_rotation = eticket_pdf(booking)

    assert renders("eticket") - before == 1
    assert after_rotation != before_rotation
    assert len(kept(f"etickets/{booking.reference}")) == 1


def test_e_tickets_are_made_again_when_a_font_they_are_drawn_with_changes(monkeypatch, tmp_path):
    booking = confirmed_booking()
    eticket_pdf(booking)
    cut_again = tmp_path / "DejaVuSans-plain.ttf"  # the same font but for a byte, as `cut_fonts` might write it
    cut_again.write_bytes(typefaces.PLAIN[""].read_bytes() + b"\0")
    monkeypatch.setitem(typefaces.PLAIN, "", cut_again)
    monkeypatch.setattr(documents, "LAYOUT", documents.layout())  # as a process started with that font has it
    before = renders("eticket")

    eticket_pdf(booking)

    assert renders("eticket") - before == 1
    assert len(kept(f"etickets/{booking.reference}")) == 1


def test_documents_that_cannot_be_deleted_are_told_and_the_days_other_bookings_are_still_forgotten(monkeypatch, caplog):
    first, second = confirmed_booking(), confirmed_booking()
    for booking in (first, second):
        eticket_pdf(booking)
    storage = storages["documents"]
    real_delete = storage.delete

    def delete(name):
        if first.reference in name:
            raise PermissionError(13, "Permission denied", name)
        real_delete(name)

    monkeypatch.setattr(storage, "delete", delete)

    forgotten = [forgetting.booking_forget(booking_id=booking.pk) for booking in (first, second)]

    assert forgotten == [True, True]
    assert f"documents of etickets/{first.reference} not deleted" in caplog.text
    assert kept(f"etickets/{second.reference}") == []


def test_the_same_facts_make_the_same_bytes_whenever_they_are_made():
    booking = confirmed_booking()
    booked = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)  # not now: the clock does not date the documents
    Booking.objects.filter(pk=booking.pk).update(created_at=booked)
    booking.refresh_from_db()
    invoice = booking.invoices.get()

    tickets = eticket_render(eticket_facts(booking))

    assert b"CreationDate (D:20300102030405Z)" in tickets
    assert eticket_render(eticket_facts(booking)) == tickets
    issued = f"CreationDate (D:{invoice.issued_at.astimezone(dt.UTC):%Y%m%d%H%M%S}Z)".encode()
    assert issued in invoice_render(invoice)
