"""A staff agent in a real browser: signs in to the admin, opens a confirmed booking and sends its confirmation
again."""

import re

import pytest
from django.core import mail

from bookings.models import Booking
from bookings.tests.conftest import PASSWORD
from bookings.tests.factories import held_booking
from notifications.models import Email
from notifications.services import email_enqueue

pytestmark = pytest.mark.browser


@pytest.fixture
def confirmed_booking(transactional_db, eager_tasks) -> Booking:
    """A confirmed booking whose confirmation went out once."""
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CONFIRMED)
    email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)
    assert Email.objects.get(booking=booking).status == Email.Status.SENT
    return booking


def e_mail_rows(page) -> list[str]:
    rows = page.locator("#emails-group tbody tr.has_original")
    rows.first.wait_for()
    return [" ".join(row.split()) for row in rows.all_inner_texts()]


def test_a_staff_agent_sends_a_booking_confirmation_again(page, staff_agent, confirmed_booking):
    reference = confirmed_booking.reference
    page.goto("/admin/")
    page.get_by_label("Username").fill(staff_agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.goto("/admin/bookings/booking/")
    page.get_by_role("textbox", name="Search").fill(reference)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/admin/bookings/booking/?q={reference}")
    page.get_by_role("link", name=reference).click()
    page.wait_for_url("**/change/**")
    assert page.get_by_role("heading", level=2).first.inner_text() == reference
    assert page.get_by_role("heading", name="E-mails").is_visible()
    assert re.match(
        rf"Booking confirmation with e-tickets — {reference} View Sent amira@example\.com 1 ", e_mail_rows(page)[0]
    )

    page.go_back()
    page.get_by_role("checkbox", name=re.compile(f"Select this object.*{reference}")).check()
    page.get_by_role("combobox", name=re.compile("^Action")).select_option(
        label="Send an e-mail again (booking confirmation…)…"
    )
    page.get_by_role("button", name="Go").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Send an e-mail again"
    assert page.get_by_label("E-mail").input_value() == "booking_confirmation"
    page.get_by_role("button", name="Send again").click()

    success = page.locator(".messagelist .success")
    assert success.inner_text() == f"{reference}: Booking confirmation with e-tickets queued for amira@example.com."
    page.get_by_role("link", name=reference).click()
    rows = e_mail_rows(page)
    assert len(rows) == 1
    assert re.match(rf"Booking confirmation with e-tickets — {reference} View Sent amira@example\.com 2 ", rows[0])
    assert [message.subject for message in mail.outbox].count(mail.outbox[0].subject) == 2
