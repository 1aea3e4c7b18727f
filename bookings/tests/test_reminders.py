"""Departure reminders: the day before and on the day, once each, at the right moment in every port's time."""

import calendar
import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from bookings.flows import changing
from bookings.flows.cancelling import booking_cancel
from bookings.flows.reminding import reminders_send
from bookings.models import Booking, BookingLeg
from bookings.tests.factories import confirmed_booking
from ferries.models import Port, Sailing
from ferries.tests.factories import sailing_factory
from notifications.models import Email
from notifications.rendering import build_message

pytestmark = pytest.mark.django_db
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}


def reminders(booking) -> list[tuple[str, dict]]:
    emails = Email.objects.filter(booking=booking, kind=Email.Kind.DEPARTURE_REMINDER).order_by("pk")
    return [(email.key, email.details) for email in emails]


def test_the_day_before_reminder_goes_24_hours_before_departure_and_only_once(trip):
    booking = confirmed_booking(trip["out"])
    departs = trip["out"].departs_at

    assert reminders_send(now=departs - dt.timedelta(hours=24, seconds=1)) == 0
    assert reminders_send(now=departs - dt.timedelta(hours=24)) == 1
    assert reminders_send(now=departs - dt.timedelta(hours=23)) == 0

    assert reminders(booking) == [(f"24h:outbound:{trip['out'].pk}", {"leg": "outbound", "window": "24h"})]


def test_the_reminder_on_the_day_goes_2_hours_before_departure_after_the_one_the_day_before(trip):
    booking = confirmed_booking(trip["out"])
    departs = trip["out"].departs_at  # check-in closes an hour before (the operator's default)
    reminders_send(now=departs - dt.timedelta(hours=24))

    assert reminders_send(now=departs - dt.timedelta(hours=2, seconds=1)) == 0
    assert reminders_send(now=departs - dt.timedelta(hours=2)) == 1
    assert reminders_send(now=departs - dt.timedelta(minutes=90)) == 0

    assert [key for key, _details in reminders(booking)] == [
        f"24h:outbound:{trip['out'].pk}", f"2h:outbound:{trip['out'].pk}",
    ]  # fmt: skip


def test_where_check_in_closes_three_hours_ahead_the_reminder_on_the_day_goes_an_hour_before_that(trip):
    Port.objects.filter(code="TNTUN").update(check_in_closes_minutes=180)
    booking = confirmed_booking(trip["out"])
    departs = trip["out"].departs_at

    assert reminders_send(now=departs - dt.timedelta(hours=4, seconds=1)) == 1  # still the day-before one
    assert reminders_send(now=departs - dt.timedelta(hours=4)) == 1

    assert [details["window"] for _key, details in reminders(booking)] == ["24h", "2h"]


def test_a_late_beat_sends_only_the_latest_reminder_due_and_none_once_check_in_has_closed(trip):
    booking = confirmed_booking(trip["out"], trip["back"])
    out, back = trip["out"].departs_at, trip["back"].departs_at

    assert reminders_send(now=out - dt.timedelta(minutes=70)) == 1  # on the day, not the day before as well
    assert reminders_send(now=back - dt.timedelta(minutes=59)) == 0  # check-in for the return has closed

    assert reminders(booking) == [(f"2h:outbound:{trip['out'].pk}", {"leg": "outbound", "window": "2h"})]


def test_each_leg_of_a_return_is_reminded_of_its_own_sailing(trip):
    booking = confirmed_booking(trip["out"], trip["back"])

    reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=20))
    reminders_send(now=trip["back"].departs_at - dt.timedelta(hours=20))

    assert [details["leg"] for _key, details in reminders(booking)] == ["outbound", "return"]


def test_no_reminder_for_a_cancelled_booking_a_cancelled_sailing_or_one_not_confirmed(trip):
    cancelled = confirmed_booking(trip["out"])
    booking_cancel(booking_id=cancelled.pk, actor="traveller", reason="plans changed")
    unpaid = confirmed_booking(trip["out"])
    Booking.objects.filter(pk=unpaid.pk).update(status=Booking.Status.PAID)
    on_cancelled_sailing = confirmed_booking(trip["back"])
    Sailing.objects.filter(pk=trip["back"].pk).update(status=Sailing.Status.CANCELLED)

    assert reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=20)) == 0
    assert reminders_send(now=trip["back"].departs_at - dt.timedelta(hours=20)) == 0
    assert not Email.objects.filter(kind=Email.Kind.DEPARTURE_REMINDER).exists()
    assert Booking.objects.get(pk=on_cancelled_sailing.pk).status == Booking.Status.CONFIRMED


def test_a_booking_made_within_a_day_of_departure_gets_no_reminder_the_day_before(tunis_marseille):
    soon = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(hours=20))
    booking = confirmed_booking(soon)

    assert reminders_send(now=timezone.now()) == 0
    assert reminders_send(now=soon.departs_at - dt.timedelta(hours=2)) == 1
    assert [details["window"] for _key, details in reminders(booking)] == ["2h"]


def test_a_leg_changed_to_another_sailing_is_reminded_of_the_new_one(trip):
    booking = confirmed_booking(trip["out"], outbound_fare_family="flex")  # Flex changes for free
    reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=30))
    assert BookingLeg.objects.get(booking=booking).reminded == ""
    reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=24))
    assert BookingLeg.objects.get(booking=booking).reminded == "24h"

    change = changing.change_request(booking=booking, data={"outbound_sailing_id": trip["later_out"].pk},
                                     actor="traveller")  # fmt: skip
    change, payment = changing.change_confirm(change=change)
    assert (change.status, payment) == ("confirmed", None)

    assert reminders_send(now=trip["later_out"].departs_at - dt.timedelta(hours=20)) == 1
    assert reminders(booking)[-1][0] == f"24h:outbound:{trip['later_out'].pk}"


def last_sunday(year: int, month: int) -> dt.date:
    day = max(week[calendar.SUNDAY] for week in calendar.monthcalendar(year, month))
    return dt.date(year, month, day)


def next_dst_change(month: int) -> dt.date:
    """The next last Sunday of March (clocks go forward in the EU) or October (back), at least a week away."""
    today = timezone.now().date()
    year = today.year if last_sunday(today.year, month) > today + dt.timedelta(days=7) else today.year + 1
    return last_sunday(year, month)


@pytest.mark.parametrize("month", [3, 10], ids=["clocks-forward", "clocks-back"])
def test_across_a_change_of_the_clocks_the_reminder_goes_24_real_hours_ahead_and_shows_port_time(
    month, marseille_tunis
):
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    departs = dt.datetime.combine(next_dst_change(month), dt.time(8), tzinfo=paris)  # the morning after the change
    sailing = sailing_factory(route=marseille_tunis, departs_at=departs.astimezone(dt.UTC))
    booking = confirmed_booking(sailing)
    day_before = departs.astimezone(dt.UTC) - dt.timedelta(hours=24)
    # 24 hours before is 07:00 on the Saturday when the clocks go forward that night, 09:00 when they go back.
    assert day_before.astimezone(paris).hour == {3: 7, 10: 9}[month]

    assert reminders_send(now=day_before - dt.timedelta(seconds=1)) == 0
    assert reminders_send(now=day_before) == 1

    _message, subject, text, _html = build_message(
        Email.objects.get(booking=booking, kind=Email.Kind.DEPARTURE_REMINDER)
    )
    assert f"{departs:%a} {departs.day} {departs:%b}, 08:00" in subject
    assert "Marseille 08:00 -> Tunis" in text


def test_tunis_departures_are_reminded_in_tunis_time(trip):
    departs = trip["out"].departs_at.astimezone(zoneinfo.ZoneInfo("Africa/Tunis"))
    booking = confirmed_booking(trip["out"])

    reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=20))

    _message, subject, text, _html = build_message(
        Email.objects.get(booking=booking, kind=Email.Kind.DEPARTURE_REMINDER)
    )
    assert f"{departs:%H:%M}" in subject
    assert f"Tunis {departs:%H:%M} -> Marseille" in text


def test_the_reminder_says_where_and_until_when_to_check_in_what_drivers_do_and_what_to_carry(trip):
    Port.objects.filter(code="TNTUN").update(
        terminal="Gare maritime de La Goulette", terminal_address="2060 La Goulette", check_in_closes_minutes=180,
        vehicle_lane_rules="Lanes open 4 hours before departure.",
    )  # fmt: skip
    trip["out"].route.__class__.objects.filter(pk=trip["out"].route_id).update(
        travel_documents="Passports; green card TN."
    )
    booking = confirmed_booking(trip["out"], vehicle=CAR)
    reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=4))
    closes = (trip["out"].departs_at - dt.timedelta(hours=3)).astimezone(zoneinfo.ZoneInfo("Africa/Tunis"))

    message, subject, text, html = build_message(Email.objects.get(booking=booking, kind=Email.Kind.DEPARTURE_REMINDER))

    assert subject == f"Check-in closes at {closes:%H:%M}: Tunis → Marseille, booking {booking.reference}"
    when = f"{closes:%a} {closes.day} {closes:%b}, {closes:%H:%M}"
    assert f"Check-in closes {when} at Gare maritime de La Goulette, 2060 La Goulette" in text
    assert "For drivers: Lanes open 4 hours before departure." in text
    assert "Documents to carry: Passports; green card TN." in text
    assert "cid:qr-outbound" in html
    assert [
        part.get_filename() for part in message.message().walk() if part.get_content_type() == "application/pdf"
    ] == [f"e-ticket-{booking.reference}.pdf"]


def test_the_reminder_speaks_the_bookings_language(trip):
    booking = confirmed_booking(trip["out"])
    Booking.objects.filter(pk=booking.pk).update(language="fr")
    Email.objects.filter(booking=booking).delete()
    reminders_send(now=trip["out"].departs_at - dt.timedelta(hours=20))

    _message, subject, text, _html = build_message(
        Email.objects.get(booking=booking, kind=Email.Kind.DEPARTURE_REMINDER)
    )

    assert subject.startswith("Rappel : Tunis → Marseille le ")
    assert "Documents à emporter" in text
