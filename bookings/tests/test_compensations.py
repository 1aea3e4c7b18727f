"""Compensation for arriving late (Regulation (EU) No 1177/2010, article 19): the regulation's thresholds, proposed to
staff at each retiming, paid as a refund and e-mailed once approved, never paid twice."""

import datetime as dt

import pytest
from django.urls import reverse

from bookings.compensations import CompensationRefused, compensation_percent
from bookings.flows import disruption as flow
from bookings.flows.quotes import booking_refund_quote
from bookings.models import Compensation
from bookings.tests.factories import confirmed_booking
from ferries.tests.factories import sailing_factory
from notifications.models import Email
from notifications.rendering import build_message
from payments.models import Refund

pytestmark = pytest.mark.django_db
H = 60


@pytest.mark.parametrize(
    ("scheduled", "late", "percent"),
    [
        (3 * H, 59, 0), (3 * H, 1 * H, 25), (3 * H, 2 * H - 1, 25), (3 * H, 2 * H, 50),
        (4 * H, 1 * H, 25),  # up to 4 hours: the first band
        (4 * H + 1, 1 * H, 0), (6 * H, 2 * H, 25), (6 * H, 4 * H, 50),
        (8 * H + 1, 2 * H, 0), (21 * H, 3 * H, 25), (21 * H, 6 * H - 1, 25), (21 * H, 6 * H, 50),
        (24 * H + 1, 3 * H, 0), (30 * H, 6 * H, 25), (30 * H, 12 * H, 50),
    ],
)  # fmt: skip
def test_the_share_follows_the_regulations_thresholds(scheduled, late, percent):
    assert compensation_percent(scheduled_minutes=scheduled, late_minutes=late) == percent


def retime(sailing, *, departure: int, arrival: int):
    return flow.sailing_retimed(
        sailing_id=sailing.pk, departs_at=sailing.departs_at + dt.timedelta(minutes=departure),
        arrives_at=sailing.arrives_at + dt.timedelta(minutes=arrival), reason="weather", actor="staff:1",
    )  # fmt: skip


def test_a_late_arrival_proposes_each_confirmed_bookings_compensation_to_staff(trip, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    booking = confirmed_booking(trip["out"], trip["back"])  # a 21-hour crossing; each leg 100.00

    retime(trip["out"], departure=30, arrival=3 * H)

    compensation = Compensation.objects.get()
    assert (compensation.booking, compensation.direction, compensation.late_minutes) == (booking, "outbound", 180)
    assert (compensation.percent, compensation.amount_minor, compensation.status) == (25, 2500, "proposed")
    assert not Refund.objects.exists(), "nothing is paid before staff approve"
    assert Email.objects.filter(kind=Email.Kind.STAFF_ALERT, recipient="ops@example.com").exists()


def test_a_later_retiming_updates_a_proposal_and_one_caught_up_withdraws_it(trip):
    confirmed_booking(trip["out"])

    retime(trip["out"], departure=0, arrival=3 * H)
    retime(trip["out"], departure=0, arrival=3 * H + 3 * H)  # 6 hours late in all
    assert (Compensation.objects.get().percent, Compensation.objects.get().amount_minor) == (50, 5000)

    sailing = trip["out"].__class__.objects.get(pk=trip["out"].pk)
    flow.sailing_retimed(sailing_id=sailing.pk, departs_at=sailing.departs_at,
                         arrives_at=sailing.timetabled_arrives_at + dt.timedelta(minutes=30), reason="caught up",
                         actor="staff:1")  # fmt: skip
    assert not Compensation.objects.exists()


def test_below_six_euros_nothing_is_owed(tunis_marseille):
    short = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10), hours=2)
    booking = confirmed_booking(short, outbound_fare_family="basic")  # 85.00: 25 % is 21.25, owed
    cheap = confirmed_booking(short)
    booking.legs.update(price_minor=2000)  # 25 % of 20.00 is 5.00: below the threshold

    retime(short, departure=0, arrival=1 * H)

    assert list(Compensation.objects.values_list("booking_id", flat=True)) == [cheap.pk]


def test_approving_pays_the_compensation_as_a_refund_and_e_mails_it_once(trip):
    booking = confirmed_booking(trip["out"], trip["back"])
    retime(trip["out"], departure=0, arrival=3 * H)
    compensation = Compensation.objects.get()

    flow.compensation_approve(compensation_id=compensation.pk, actor="staff:1")
    with pytest.raises(CompensationRefused):
        flow.compensation_approve(compensation_id=compensation.pk, actor="staff:1")
    flow.compensation_pay(compensation_id=compensation.pk)  # a sweep asking again pays nothing more

    compensation.refresh_from_db()
    assert (compensation.status, compensation.paid_minor, compensation.decided_by) == ("paid", 2500, "staff:1")
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.cause) == (2500, Refund.Cause.COMPENSATION)
    email = Email.objects.get(kind=Email.Kind.COMPENSATION)
    _message, subject, text, _html = build_message(email)
    assert subject == f"Compensation for your late arrival, booking {booking.reference}"
    assert "arrived 180 minutes later than its timetable" in text
    assert "25 % of its price: €25.00" in text
    # Cancelling now gives back what the fare's conditions give (all of it), less what is no longer there to refund.
    quote = booking_refund_quote(booking=booking)
    assert (quote.amount_minor, quote.reason) == (17500, "reduced_by_refunds")


def test_rejecting_records_why_and_pays_nothing(admin_client, trip):
    confirmed_booking(trip["out"])
    retime(trip["out"], departure=0, arrival=3 * H)
    compensation = Compensation.objects.get()
    url = reverse("admin:bookings_compensation_changelist")

    admin_client.post(url, {"action": "reject", "_selected_action": [compensation.pk], "reason": "storm force 10",
                            "post": "yes"})  # fmt: skip

    compensation.refresh_from_db()
    assert (compensation.status, compensation.note) == ("rejected", "storm force 10")
    assert not Refund.objects.exists()


def test_staff_approve_in_the_admin(admin_client, trip):
    confirmed_booking(trip["out"])
    retime(trip["out"], departure=0, arrival=3 * H)
    compensation = Compensation.objects.get()

    response = admin_client.post(reverse("admin:bookings_compensation_changelist"),
                                 {"action": "approve", "_selected_action": [compensation.pk]}, follow=True)  # fmt: skip

    assert [m.message for m in response.context["messages"]] == ["1 compensation approved and paid."]
    assert Compensation.objects.get().status == "paid"
