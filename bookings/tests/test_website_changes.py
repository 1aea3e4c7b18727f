"""Changing a booking on the website: the form shows the booking as it stands and the sailings of the chosen days;
the quote holds the places and says what it costs; confirming pays the difference on the checkout page."""

import re

import pytest
from django.contrib.auth.models import Permission, User

from bookings.models import Booking, BookingChange
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking, pay_with_demo_card
from notifications.models import Email

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def booking(trip, eager_tasks) -> Booking:
    booking = pay_with_demo_card(held_booking(trip["out"], trip["back"]))
    assert booking.status == Booking.Status.CONFIRMED
    return booking


@pytest.fixture
def browser(client, booking):
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return client


def local_day(sailing) -> str:
    return sailing.departs_at.astimezone(sailing.route.origin.tz).date().isoformat()


def form_values(html: str) -> dict:
    """What the browser sends as the form stands: every input's value, checked boxes and radios, chosen options."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken" or name.group(1).endswith("_date"):
            continue
        if kind and kind.group(1) in {"radio", "checkbox"}:
            if "checked" in tag:
                values[name.group(1)] = value.group(1) if value else "on"
            continue
        values[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        values[name] = chosen.group(1) if chosen else ""
    return values


def test_changing_the_return_day_pays_the_difference_and_mails_new_e_tickets(browser, booking, trip):
    url = f"/bookings/{booking.reference}/change?return_date={local_day(trip['later_back'])}"
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    choice = f"{trip['later_back'].pk}:standard"
    assert f'value="{choice}"' in html

    quoted = browser.post(url, {**form_values(html), "return_choice": choice})
    assert quoted.status_code == 302, quoted.content.decode()[:3000]
    change = BookingChange.objects.get()
    assert quoted["Location"] == f"/bookings/{booking.reference}/changes/1"
    quote_page = browser.get(quoted["Location"]).content.decode()
    assert "€15.00" in quote_page  # the Standard fee: 10 % of the leg, at least 15.00
    confirmed = browser.post(quoted["Location"])
    assert confirmed["Location"] == f"/bookings/{booking.reference}/changes/1/pay"
    paid = browser.post(confirmed["Location"], {"card_number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"})

    assert paid["Location"] == f"/bookings/{booking.reference}"
    change.refresh_from_db()
    assert change.status == BookingChange.Status.CONFIRMED
    assert booking.legs.get(direction="return").sailing == trip["later_back"]
    assert Email.objects.get(booking=booking, kind=Email.Kind.BOOKING_CHANGED).status == Email.Status.SENT
    detail = browser.get(paid["Location"]).content.decode()
    assert "Your booking is changed" in detail
    assert "Change 1" in detail


def test_a_bad_name_comes_back_next_to_its_input_and_nothing_is_held(browser, booking):
    url = f"/bookings/{booking.reference}/change"
    values = form_values(browser.get(url).content.decode())

    refused = browser.post(url, {**values, "passengers-0-last_name": "R2-D2!"})

    assert refused.status_code == 400
    html = refused.content.decode()
    assert re.search(r'name="passengers-0-last_name".*?errorlist', html, re.S)
    assert not BookingChange.objects.exists()


def test_a_forbidden_change_says_which_rule(client, trip, eager_tasks):
    booking = pay_with_demo_card(held_booking(trip["out"], trip["back"], return_fare_family="basic"))
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    url = f"/bookings/{booking.reference}/change?return_date={local_day(trip['later_back'])}"
    values = form_values(client.get(url).content.decode())

    refused = client.post(url, {**values, "return_choice": f"{trip['later_back'].pk}:basic"})

    assert refused.status_code == 400
    assert "The Basic fare of the return sailing cannot be changed." in refused.content.decode()


def test_nobody_else_opens_the_change_pages_but_staff_who_may_change_bookings(client, booking):
    url = f"/bookings/{booking.reference}/change"
    assert client.get(url).status_code == 404
    clerk = User.objects.create_user("clerk", password="a clerk pass phrase", is_staff=True)
    client.force_login(clerk)
    assert client.get(url).status_code == 404
    clerk.user_permissions.add(Permission.objects.get(codename="change_booking"))
    client.force_login(User.objects.get(pk=clerk.pk))

    assert client.get(url).status_code == 200


def test_a_traveller_cancels_one_passenger_after_seeing_the_refund(client, trip, eager_tasks):
    from bookings.tests.factories import ADULT

    booking = pay_with_demo_card(
        held_booking(trip["out"], trip["back"], passengers=[ADULT, {**ADULT, "first_name": "Sami"}])
    )
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    sami = booking.passengers.get(first_name="Sami")
    page = client.get(f"/bookings/{booking.reference}").content.decode()
    url = f"/bookings/{booking.reference}/cancel-part?passenger={sami.pk}"
    assert url.replace("&", "&amp;") in page

    quote = client.get(url).content.decode()
    cancelled = client.post(url)

    assert "Refunded to your card: €200.00" in quote  # his fare on both legs
    assert cancelled["Location"] == f"/bookings/{booking.reference}"
    assert list(booking.passengers.values_list("first_name", flat=True)) == ["Amira"]
    assert "€200.00 will be refunded" in client.get(cancelled["Location"]).content.decode()


def test_the_only_leg_offers_no_part_to_cancel(client, trip, eager_tasks):
    booking = pay_with_demo_card(held_booking(trip["out"]))
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()

    assert "cancel-part" not in client.get(f"/bookings/{booking.reference}").content.decode()
    refused = client.post(f"/bookings/{booking.reference}/cancel-part?leg=outbound", follow=True)
    assert "cancel the booking instead" in refused.content.decode()
    assert booking.legs.count() == 1


def test_staff_cancel_a_leg_from_the_admin_and_come_back_to_it(client, booking):
    from django.contrib.auth.models import Permission, User

    clerk = User.objects.create_user("clerk", password="a clerk pass phrase", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["change_booking", "view_booking"]))
    client.force_login(clerk)
    admin_page = client.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()
    url = f"/bookings/{booking.reference}/cancel-part?leg=return"
    assert url.replace("&", "&amp;") in admin_page

    done = client.post(url)

    assert done["Location"] == f"/admin/bookings/booking/{booking.pk}/change/"
    change = BookingChange.objects.get()
    assert (change.kind, change.actor) == ("leg_cancelled", f"staff:{clerk.pk}")


def test_a_change_staff_confirm_with_something_due_waits_for_the_traveller_to_pay(client, booking, trip):
    from django.contrib.auth.models import Permission, User

    clerk = User.objects.create_user("clerk", password="a clerk pass phrase", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["change_booking", "view_booking"]))
    client.force_login(clerk)
    url = f"/bookings/{booking.reference}/change?return_date={local_day(trip['later_back'])}"
    values = form_values(client.get(url).content.decode())
    quoted = client.post(url, {**values, "return_choice": f"{trip['later_back'].pk}:standard"})

    confirmed = client.post(quoted["Location"])

    assert confirmed["Location"] == f"/admin/bookings/booking/{booking.pk}/change/"
    change = BookingChange.objects.get()
    assert (change.status, change.actor) == ("awaiting_payment", f"staff:{clerk.pk}")
    assert "awaits the traveller" in client.get(confirmed["Location"]).content.decode()
