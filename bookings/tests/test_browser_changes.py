"""Changing a booking in a real browser, as a traveller does: manage my booking → change the return day → pay the
difference with the demo card → the new e-ticket; the change pages checked by axe-core on a computer and a phone."""

import datetime as dt
import re

import pytest
from django.core.signing import BadSignature
from django.utils import timezone
from pypdf import PdfReader

from bookings.models import Booking, BookingChange
from bookings.tests.factories import held_booking, pay_with_demo_card
from bookings.tickets import ticket_verify
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, VesselFactory, sailing_factory
from maritime.tests.test_browser_accessibility import Audit
from notifications.etickets import leg_code
from notifications.models import Email

pytestmark = pytest.mark.browser

DAY = timezone.now().date() + dt.timedelta(days=10)
BACK, LATER = DAY + dt.timedelta(days=7), DAY + dt.timedelta(days=9)


@pytest.fixture
def booking(transactional_db, eager_tasks) -> Booking:
    """A confirmed return booking, Tunis ⇄ Marseille, and another sailing back two days later."""
    operator = OperatorFactory(code="CTN", name="Compagnie Tunisienne de Navigation")
    tunis, marseille = PortFactory(code="TNTUN"), PortFactory(code="FRMRS")
    routes = {
        "out": RouteFactory(operator=operator, origin=tunis, destination=marseille),
        "back": RouteFactory(operator=operator, origin=marseille, destination=tunis),
    }
    sailings = []
    for way, day, time in (("out", DAY, "19:00"), ("back", BACK, "11:45"), ("back", LATER, "20:30")):
        route = routes[way]
        origin = route.origin
        departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=origin.tz)
        vessel = VesselFactory(operator=operator, name="Tanit")
        sailings.append(sailing_factory(route=route, vessel=vessel, departs_in=departs - timezone.now(), hours=21))
    booking = pay_with_demo_card(held_booking(sailings[0], sailings[1]))
    assert booking.status == Booking.Status.CONFIRMED
    return booking


def test_a_traveller_changes_the_return_day_pays_the_difference_and_gets_a_new_e_ticket(page, booking):
    old_code = leg_code(booking.legs.get(direction="return"))
    audit = Audit(page, "en")
    page.goto("/manage")
    page.get_by_label("Booking reference").fill(booking.reference)
    page.get_by_label("E-mail used for the booking").fill("amira@example.com")
    page.get_by_role("button", name="Find my booking").click()
    page.wait_for_url(f"**/bookings/{booking.reference}")

    page.get_by_role("link", name="Change booking…").click()
    page.wait_for_url(f"**/bookings/{booking.reference}/change")
    audit.check("change form")
    page.get_by_label(re.compile("^Return: Marseille")).fill(LATER.isoformat())
    page.get_by_role("button", name="Show the sailings of these days").click()
    page.wait_for_url("**return_date=*")
    back = page.get_by_role("group", name=re.compile("^Return"))
    back.get_by_role("radio", name="Standard · €100.00").check()
    page.get_by_role("button", name="Get a quote").click()

    page.wait_for_url(f"**/bookings/{booking.reference}/changes/1")
    audit.check("change quote")
    assert "20:30" in page.locator(".leg-summary").inner_text()
    assert page.locator(".change-money").inner_text().split() == [
        "Price", "difference", "€0.00", "Change", "fee", "€15.00", "To", "pay", "€15.00",
    ]  # fmt: skip
    page.get_by_role("button", name="Confirm and pay €15.00").click()
    page.wait_for_url(f"**/bookings/{booking.reference}/changes/1/pay")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay €15.00").click()

    page.wait_for_url(f"**/bookings/{booking.reference}")
    assert "Your booking is changed" in page.locator(".messages").inner_text()
    assert LATER.strftime("%-d %B %Y") in page.get_by_role("region", name="Your journey").inner_text()
    assert BookingChange.objects.get().status == BookingChange.Status.CONFIRMED
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the e-tickets (PDF)").click()
    text = "".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert LATER.strftime("%-d %b %Y") in text
    mail = Email.objects.get(booking=booking, kind=Email.Kind.BOOKING_CHANGED)
    assert mail.status == Email.Status.SENT
    with pytest.raises(BadSignature):
        ticket_verify(old_code)
    assert audit.problems == []
