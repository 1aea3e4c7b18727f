"""The traveller's e-mails, e-tickets and invoices in every language of the site, Arabic included.

Each is made as it is sent, its text taken back out (the e-mail's plain and HTML parts; each PDF page as a reader
copying it gets it) and compared with what the language must say: its words for the labels, the departure and the
amount written as the language writes them (the CLDR's patterns), and no English left (maritime.tests.languages).
Arabic is laid out right to left (the e-mail's dir, the PDF's text from the right edge); a PDF keeps right-to-left
runs in visual order, so Arabic lines are compared word by word rather than as strings.
"""

import io
import re
import unicodedata
from dataclasses import dataclass

import pytest
from pypdf import PdfReader

from bookings.models import Booking
from bookings.tests.factories import ADULT, CHILD, pay_with_demo_card
from maritime.tests.languages import LANGUAGES, english_left
from notifications.models import Email
from notifications.rendering import build_message
from notifications.services import email_enqueue
from notifications.tests.test_etickets import confirmed_return
from payments.models import Invoice

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Expected:
    subject: str  # the confirmation's, with {ref}
    reference: str  # the label of the booking reference
    departs: str  # the label of the departure on the e-ticket
    when: str  # Tunis, 1 July 2030 at 18:00, as the e-ticket writes it
    day: str  # the same day as the e-mail's heading of the leg writes it
    money: str  # an amount of {units} and {cents}
    invoice: str
    total_paid: str


EXPECTED = {
    "en": Expected(
        "Your booking {ref} is confirmed — e-tickets inside", "Booking reference", "Departs",
        "Mon, 1 Jul 2030, 18:00", "Monday, 1 July 2030", "€{units}.{cents}", "Invoice", "Total paid",
    ),
    "fr": Expected(
        "Votre réservation {ref} est confirmée — billets électroniques joints", "Référence de réservation", "Départ",
        "lun. 1 juil. 2030, 18:00", "lundi 1 juillet 2030", "{units},{cents}\u00a0€", "Facture", "Total payé",
    ),
    "it": Expected(
        "La Sua prenotazione {ref} è confermata: e-ticket all'interno", "Codice di prenotazione", "Partenza",
        "lun 1 lug 2030, 18:00", "lunedì 1 luglio 2030", "{units},{cents}\u00a0€", "Fattura", "Totale pagato",
    ),
    "es": Expected(
        "Su reserva {ref} está confirmada: billetes electrónicos adjuntos", "Localizador", "Salida",
        "lun, 1 jul 2030, 18:00", "lunes, 1 de julio de 2030", "{units},{cents}\u00a0€", "Factura", "Total pagado",
    ),
    "de": Expected(
        "Ihre Buchung {ref} ist bestätigt – E-Tickets anbei", "Buchungsnummer", "Abfahrt",
        "Mo., 1. Juli 2030, 18:00", "Montag, 1. Juli 2030", "{units},{cents}\u00a0€", "Rechnung", "Gesamt bezahlt",
    ),
    "ar": Expected(
        "تم تأكيد حجزكم {ref} — التذاكر الإلكترونية مرفقة", "مرجع الحجز", "المغادرة",
        "الاثنين، 1 يوليو 2030، 18:00", "الاثنين، 1 يوليو 2030", "\u200f{units}.{cents}\u00a0€", "فاتورة",
        "إجمالي المبلغ المدفوع",
    ),
}  # fmt: skip


def test_every_language_of_the_site_is_expected_here():
    assert sorted(EXPECTED) == sorted(LANGUAGES)


def written(expected: Expected, minor: int) -> str:
    assert 0 < minor < 100_000, "an amount without a thousands separator"
    return expected.money.format(units=minor // 100, cents=f"{minor % 100:02d}")


def pdf_lines(pdf: bytes) -> list[str]:
    """Every line of every page as a reader copying it gets it, Arabic letters in their plain forms."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return [" ".join(line.split()) for line in unicodedata.normalize("NFKC", text).splitlines() if line.strip()]


def words(text: str) -> list[str]:
    """The runs of Arabic letters, and of other letters or digits: a PDF drawn right to left comes back with spaces
    lost where the direction changes ("يوليو1"), so a word ends where its script does."""
    return re.findall(r"[\u0600-\u06ff]+|[^\W\u0600-\u06ff]+", text)


def pdf_says(lines: list[str], *parts: str) -> bool:
    """Whether one line holds every part: as written in a left-to-right language; word for word (in any order,
    since a PDF draws right-to-left runs in visual order) where a part holds Arabic."""
    for line in lines:
        if all(part in line for part in parts):
            return True
        found = words(line)
        if all(all(word in found for word in words(part)) for part in parts):
            return True
    return False


def booking_in(language: str):
    booking = confirmed_return(passengers=[ADULT, CHILD])
    booking.language = language
    booking.save(update_fields=["language"])
    return booking


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_confirmation_e_mail_is_written_in_the_bookings_language(language):
    expected = EXPECTED[language]
    booking = booking_in(language)
    email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION, key="re_1", details={})

    _message, subject, text, html = build_message(email)

    assert subject == expected.subject.format(ref=booking.reference)
    assert f"{expected.reference}: {booking.reference}" in text
    assert expected.day in text
    assert expected.day in html
    assert f"{expected.total_paid}: {written(expected, booking.total_minor)}" in text
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html
    if language != "en":
        assert english_left(language, [subject, *text.splitlines()]) == []
        assert english_left(language, re.split(r"<[^>]+>", html)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_e_ticket_pdf_is_written_in_the_bookings_language(language):
    expected = EXPECTED[language]
    booking = booking_in(language)
    email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION, key="re_1", details={})

    message, *_ = build_message(email)  # the PDF as attached to the e-mail, made in the e-mail's language
    pdf = attached(message, f"e-ticket-{booking.reference}.pdf")
    lines = pdf_lines(pdf)

    assert pdf_says(lines, expected.reference, booking.reference)
    assert pdf_says(lines, expected.departs, expected.when)
    if language != "en":
        assert english_left(language, lines) == []
    # Right to left in Arabic: the reference's label starts at the right edge of the page, as the page's text does.
    assert (x_of(pdf, booking.reference) > 105) == (language == "ar")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_invoice_pdf_is_written_in_the_bookings_language(language):
    expected = EXPECTED[language]
    booking = booking_in(language)
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.HELD)  # to be paid
    pay_with_demo_card(booking)
    invoice = Invoice.objects.get(booking=booking, kind=Invoice.Kind.INVOICE)

    receipt = email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS, key="re_2",
                            details={"invoice": invoice.number})  # fmt: skip
    message, *_ = build_message(receipt)
    pdf = attached(message, f"{invoice.number}.pdf")
    lines = pdf_lines(pdf)

    assert pdf_says(lines, expected.invoice, invoice.number)
    assert pdf_says(lines, expected.total_paid, written(expected, invoice.total_minor))
    if language != "en":
        assert english_left(language, lines) == []


def attached(message, filename: str) -> bytes:
    [content] = [item[1] for item in message.attachments if isinstance(item, tuple) and item[0] == filename]
    return content


def x_of(pdf: bytes, text: str) -> float:
    """Where on the first page (in millimetres from the left) the text run holding `text` begins."""
    found = []

    def visit(run, cm, tm, font, size):
        if text in run:
            found.append(tm[4] * 25.4 / 72)

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    assert found, f"{text} is not on the first page"
    return found[0]
