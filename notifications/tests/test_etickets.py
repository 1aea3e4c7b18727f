import pytest
from django.test import Client

from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking

pytestmark = pytest.mark.django_db


def browser_with(booking) -> Client:
    client = Client()
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return client


def confirmed():
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    return booking


def test_the_e_tickets_of_a_confirmed_booking_download_from_its_page():
    booking = confirmed()
    browser = browser_with(booking)

    page = browser.get(f"/bookings/{booking.reference}").content.decode()
    pdf = browser.get(f"/bookings/{booking.reference}/e-tickets.pdf")

    assert f"/bookings/{booking.reference}/e-tickets.pdf" in page
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="e-ticket-{booking.reference}.pdf"'
    assert pdf.content.startswith(b"%PDF")


def test_no_e_tickets_before_confirmation_nor_for_another_browser():
    held = held_booking()
    booking = confirmed()

    assert browser_with(held).get(f"/bookings/{held.reference}/e-tickets.pdf").status_code == 404
    assert Client().get(f"/bookings/{booking.reference}/e-tickets.pdf").status_code == 404
