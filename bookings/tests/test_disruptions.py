"""Delays and cancellations: every traveller told at once; over 90 minutes late or cancelled, re-routing held on the
next sailing with room, or a refund of the disrupted leg only; the default at the deadline."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.disruptions import DisruptionRefused
from bookings.flows import disruption as flow
from bookings.flows import refunds
from bookings.flows.sailing_cancellation import booking_cancel_for_sailing
from bookings.models import Booking, BookingChange, Disruption
from bookings.tests.factories import ADULT, CHILD, confirmed_booking, held_booking
from ferries.choices import Resource
from ferries.models import Sailing, SailingInventory
from ferries.services import sailing_cancel
from ferries.tests.factories import VesselFactory, sailing_factory
from notifications.models import Email
from notifications.rendering import build_message
from payments.models import Refund

pytestmark = pytest.mark.django_db


def taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


def delay(sailing, minutes: int, arrival_minutes: int | None = None):
    arrival = minutes if arrival_minutes is None else arrival_minutes
    return flow.sailing_retimed(
        sailing_id=sailing.pk, departs_at=sailing.departs_at + dt.timedelta(minutes=minutes),
        arrives_at=sailing.arrives_at + dt.timedelta(minutes=arrival), reason="weather", actor="staff:1",
    )  # fmt: skip


def cancelled(sailing) -> Sailing:
    sailing_cancel(sailing_id=sailing.pk, reason="engine failure")
    return Sailing.objects.get(pk=sailing.pk)


# --- delays ---------------------------------------------------------------------------------------------------------


def test_a_delay_tells_every_traveller_at_once_with_the_new_and_the_old_times(
    trip, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = confirmed_booking(trip["out"]), confirmed_booking(trip["out"], trip["back"])
    unpaid = held_booking(trip["out"])
    departs = trip["out"].departs_at
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):  # the transaction commits: the e-mails go at once
        retiming, told = delay(trip["out"], 60)

    assert told == 2
    emails = Email.objects.filter(kind=Email.Kind.SAILING_RETIMED)
    assert sorted(e.booking_id for e in emails) == [first.pk, second.pk]
    assert set(emails.values_list("status", flat=True)) == {Email.Status.SENT}
    assert len(mailoutbox) == 2
    assert not emails.filter(booking=unpaid).exists()
    sailing = Sailing.objects.get(pk=trip["out"].pk)
    assert (sailing.departs_at, sailing.scheduled_departs_at) == (departs + dt.timedelta(hours=1), departs)
    _message, subject, text, _html = build_message(emails.get(booking=first))
    local = timezone.localtime(sailing.departs_at, sailing.route.origin.tz)
    was = timezone.localtime(departs, sailing.route.origin.tz)
    assert f"now leaves {local:%a} {local.day} {local:%b}, {local:%H:%M}" in subject
    assert f"It was to leave {was:%a} {was.day} {was:%b}, {was:%H:%M}" in text
    assert not Disruption.objects.exists(), "an hour late: no choice to offer"
    assert retiming.previous_departs_at == departs


def test_a_departure_over_90_minutes_late_offers_each_confirmed_booking_a_choice(
    trip, eager_tasks, django_capture_on_commit_callbacks
):
    booking = confirmed_booking(trip["out"])

    with django_capture_on_commit_callbacks(execute=True):
        delay(trip["out"], 120)

    disruption = Disruption.objects.get(booking=booking)
    assert (disruption.cause, disruption.status, disruption.direction) == ("delayed", "offered", "outbound")
    assert disruption.reroute.new_legs[0]["sailing_id"] == trip["later_out"].pk
    assert taken(trip["later_out"]) == 1, "the re-routing's places are held"
    assert Email.objects.filter(booking=booking, kind=Email.Kind.SAILING_DISRUPTED).exists()


def test_a_delayed_traveller_keeps_the_sailing_and_the_re_routing_places_go_back(trip):
    booking = confirmed_booking(trip["out"])
    delay(trip["out"], 120)
    disruption = flow.booking_disrupted(booking_id=booking.pk, sailing_id=trip["out"].pk)

    flow.disruption_choose(disruption_id=disruption.pk, choice="keep", actor="traveller")

    assert Disruption.objects.get(pk=disruption.pk).status == "kept"
    assert taken(trip["later_out"]) == 0
    assert Booking.objects.get(pk=booking.pk).legs.get().sailing_id == trip["out"].pk


# --- cancellations --------------------------------------------------------------------------------------------------


def test_a_cancelled_sailings_traveller_re_routed_keeps_the_price_and_gets_new_e_tickets(trip):
    booking = confirmed_booking(trip["out"], trip["back"], outbound_fare_family="basic")
    leg = booking.legs.get(direction="outbound")
    price, lines = leg.price_minor, leg.price_lines
    cancelled(trip["out"])

    booking_cancel_for_sailing(booking_id=booking.pk)
    disruption = Disruption.objects.get(booking=booking)
    flow.disruption_choose(disruption_id=disruption.pk, choice="reroute", actor="traveller")

    booking.refresh_from_db()
    leg = booking.legs.get(direction="outbound")
    assert leg.sailing_id == trip["later_out"].pk
    assert (leg.price_minor, leg.price_lines, leg.fare_family) == (price, lines, "basic")
    assert leg.changes_made == 0, "a re-routing is not one of the fare's changes"
    assert (booking.status, booking.tickets_version) == ("confirmed", 2)
    assert (taken(trip["out"]), taken(trip["later_out"])) == (0, 1)
    change = BookingChange.objects.get(pk=disruption.reroute_id)
    assert (change.kind, change.status, change.due_minor, change.fee_minor) == ("rerouted", "confirmed", 0, 0)
    assert Disruption.objects.get(pk=disruption.pk).status == "rerouted"
    assert Email.objects.filter(booking=booking, kind=Email.Kind.BOOKING_CHANGED).exists()


def test_refunding_a_cancelled_return_gives_back_that_leg_only_and_the_outbound_travels(trip):
    booking = confirmed_booking(trip["out"], trip["back"])
    cancelled(trip["back"])
    booking_cancel_for_sailing(booking_id=booking.pk)
    disruption = Disruption.objects.get(booking=booking)

    flow.disruption_choose(disruption_id=disruption.pk, choice="refund", actor="traveller")

    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert list(booking.legs.values_list("direction", flat=True)) == ["outbound"]
    assert list(Refund.objects.filter(payment__booking=booking).values_list("amount_minor", flat=True)) == [10000]
    assert taken(trip["later_back"]) == 0, "the re-routing's hold went back"


def test_a_cancelled_one_way_crossing_with_nowhere_to_go_is_refunded_in_full_at_once(tunis_marseille):
    only = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    booking = confirmed_booking(only, passengers=[ADULT, CHILD])
    cancelled(only)

    booking_cancel_for_sailing(booking_id=booking.pk)

    disruption = Disruption.objects.get(booking=booking)
    assert (disruption.status, disruption.reroute, disruption.decided_by) == ("refunded", None, "operator")
    assert "has room for the whole party" in disruption.note
    booking.refresh_from_db()
    assert booking.status in {"cancelled", "refunded"}
    refund = Refund.objects.get(payment__booking=booking)
    assert (refund.amount_minor, refund.cause) == (booking.total_minor, Refund.Cause.SAILING_CANCELLED)


def test_re_routing_holds_a_place_for_each_party_that_fits_and_says_which_did_not(tunis_marseille):
    cancelled_one = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    small = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11),
                            vessel=VesselFactory(operator=tunis_marseille.operator, passenger_capacity=3))  # fmt: skip
    family = confirmed_booking(cancelled_one, passengers=[ADULT, CHILD])
    couple = confirmed_booking(cancelled_one, passengers=[ADULT, {**ADULT, "first_name": "Sami"}])
    cancelled(cancelled_one)

    outcomes = {b.pk: booking_cancel_for_sailing(booking_id=b.pk) for b in (family, couple)}

    family_offer, couple_offer = (Disruption.objects.get(booking=b) for b in (family, couple))
    assert family_offer.reroute.new_legs[0]["sailing_id"] == small.pk
    assert couple_offer.reroute is None, "one place was left on the next sailing: not enough for two"
    assert outcomes == {family.pk: "offered", couple.pk: "refunded"}
    assert taken(small) == 2


def test_a_choice_is_made_once(trip):
    booking = confirmed_booking(trip["out"])
    cancelled(trip["out"])
    booking_cancel_for_sailing(booking_id=booking.pk)
    disruption = Disruption.objects.get(booking=booking)
    flow.disruption_choose(disruption_id=disruption.pk, choice="reroute", actor="traveller")

    with pytest.raises(DisruptionRefused) as refused:
        flow.disruption_choose(disruption_id=disruption.pk, choice="refund", actor="traveller")

    assert refused.value.code == "already_decided"
    assert not Refund.objects.exists()


def test_a_cancelled_sailing_cannot_be_kept(trip):
    booking = confirmed_booking(trip["out"])
    cancelled(trip["out"])
    booking_cancel_for_sailing(booking_id=booking.pk)

    with pytest.raises(DisruptionRefused) as refused:
        flow.disruption_choose(disruption_id=Disruption.objects.get().pk, choice="keep", actor="traveller")

    assert refused.value.code == "sailing_cancelled"
    assert Disruption.objects.get().status == "offered"


def test_without_a_choice_a_cancelled_leg_is_refunded_and_a_delayed_one_kept(trip, tunis_marseille):
    on_cancelled = confirmed_booking(trip["back"])
    on_delayed = confirmed_booking(trip["out"])
    cancelled(trip["back"])
    booking_cancel_for_sailing(booking_id=on_cancelled.pk)
    delay(trip["out"], 180)
    flow.booking_disrupted(booking_id=on_delayed.pk, sailing_id=trip["out"].pk)
    Disruption.objects.update(deadline=timezone.now() - dt.timedelta(minutes=1))

    assert flow.disruptions_expire() == 2

    assert dict(Disruption.objects.values_list("booking_id", "status")) == {
        on_cancelled.pk: "refunded", on_delayed.pk: "kept",
    }  # fmt: skip
    assert Booking.objects.get(pk=on_cancelled.pk).status in {"cancelled", "refunded"}
    assert (decided := set(Disruption.objects.values_list("decided_by", flat=True))) == {"system"}, decided


# --- the API and the website ----------------------------------------------------------------------------------------


def test_the_api_shows_the_disruption_and_accepts_the_choice(trip):
    booking = confirmed_booking(trip["out"])
    cancelled(trip["out"])
    booking_cancel_for_sailing(booking_id=booking.pk)
    api, auth = APIClient(), {"HTTP_X_BOOKING_TOKEN": access_token(booking)}

    shown = api.get(f"/api/v1/bookings/{booking.reference}", **auth).json()
    accepted = api.post(f"/api/v1/bookings/{booking.reference}/disruption/accept", {"choice": "reroute"},
                        format="json", **auth)  # fmt: skip
    again = api.post(f"/api/v1/bookings/{booking.reference}/disruption/accept", {"choice": "refund"},
                     format="json", **auth)  # fmt: skip

    [offer] = shown["disruptions"]
    assert (offer["cause"], offer["choices"], offer["reroute"]["sailing_id"]) == (
        "cancelled", ["reroute", "refund"], trip["later_out"].pk,
    )  # fmt: skip
    assert shown["legs"][0]["sailing_status"] == "cancelled"
    assert accepted.status_code == 200
    assert accepted.json()["legs"][0]["sailing_id"] == trip["later_out"].pk
    assert accepted.json()["disruptions"][0]["status"] == "rerouted"
    assert (again.status_code, again.json()["code"]) == (409, "no_disruption")


def test_the_api_shows_a_delayed_legs_timetabled_times(trip):
    booking = confirmed_booking(trip["out"])
    departs = trip["out"].departs_at
    delay(trip["out"], 45)

    leg = APIClient().get(f"/api/v1/bookings/{booking.reference}",
                          HTTP_X_BOOKING_TOKEN=access_token(booking)).json()["legs"][0]  # fmt: skip

    assert dt.datetime.fromisoformat(leg["scheduled_departs_at"]) == departs
    assert leg["departs_at"] != leg["scheduled_departs_at"]


def test_the_booking_page_offers_the_choice_and_carries_it_out(client, trip):
    booking = confirmed_booking(trip["out"], trip["back"])
    cancelled(trip["back"])
    booking_cancel_for_sailing(booking_id=booking.pk)
    session = client.session
    session["bookings"] = [booking.reference]
    session.save()
    disruption = Disruption.objects.get()

    page = client.get(f"/bookings/{booking.reference}").content.decode()
    done = client.post(f"/bookings/{booking.reference}/disruptions/{disruption.pk}", {"choice": "refund"}, follow=True)

    assert f"Sailing {trip['back'].ref} is cancelled" in page
    assert f"Travel on {trip['later_back'].ref}" in page
    assert "Done: the crossing is refunded to the card that paid." in done.content.decode()
    assert Disruption.objects.get().status == "refunded"


# --- staff ----------------------------------------------------------------------------------------------------------


def retime_action(client, *sailings, **form):
    data = {"action": "retime_sailings", "_selected_action": [sailing.pk for sailing in sailings]}
    if form:
        data |= {**form, "post": "yes"}
    return client.post(reverse("admin:ferries_sailing_changelist"), data, follow=True)


def test_staff_set_a_delay_on_sailings_and_their_travellers_are_told(admin_client, trip):
    booking = confirmed_booking(trip["out"])
    departs, arrives = trip["out"].departs_at, trip["out"].arrives_at

    asked = retime_action(admin_client, trip["out"])
    done = retime_action(admin_client, trip["out"], departure_minutes="150", arrival_minutes="", reason="storm")

    assert "Departure later by (minutes)" in asked.content.decode()
    sailing = Sailing.objects.get(pk=trip["out"].pk)
    assert (sailing.departs_at - departs, sailing.arrives_at - arrives) == (dt.timedelta(minutes=150),) * 2
    assert [m.message for m in done.context["messages"]] == [
        f"{sailing.ref} now leaves +150 minutes from the timetable; 1 booking is told."
    ]
    assert Email.objects.filter(booking=booking, kind=Email.Kind.SAILING_RETIMED).count() == 1
    assert sailing.retimings.get().reason == "storm"


def test_a_delay_without_minutes_or_reason_is_refused_by_field_and_changes_nothing(admin_client, trip):
    departs = trip["out"].departs_at

    response = retime_action(admin_client, trip["out"], departure_minutes="x", reason="")

    form = response.context["form"]
    assert set(form.errors) == {"departure_minutes", "reason"}
    assert Sailing.objects.get(pk=trip["out"].pk).departs_at == departs


def test_a_cancelled_sailing_is_not_retimed(admin_client, trip):
    cancelled(trip["out"])

    response = retime_action(admin_client, trip["out"], departure_minutes="60", reason="storm")

    [message] = [m.message for m in response.context["messages"]]
    assert "cannot be retimed" in message
    assert not Sailing.objects.get(pk=trip["out"].pk).retimings.exists()


def test_the_refund_the_page_and_the_e_mail_promise_is_the_refund_made(client, tunis_marseille):
    only = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    later = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11))
    booking = confirmed_booking(only)
    refunds.booking_refund(booking_id=booking.pk, amount_minor=3000, reason="goodwill", actor="staff:1", key="g" * 32)
    cancelled(only)
    booking_cancel_for_sailing(booking_id=booking.pk)
    disruption = Disruption.objects.get(booking=booking)
    session = client.session
    session["bookings"] = [booking.reference]
    session.save()

    page = client.get(f"/bookings/{booking.reference}").content.decode()
    _message, _subject, text, _html = build_message(Email.objects.get(kind=Email.Kind.SAILING_DISRUPTED))
    flow.disruption_choose(disruption_id=disruption.pk, choice="refund", actor="traveller")

    made = sum(Refund.objects.filter(payment__booking=booking).exclude(amount_minor=3000).values_list(
        "amount_minor", flat=True))  # fmt: skip
    assert made == 7000, "what is left after the goodwill refund"
    assert "Refund this crossing (€70.00)" in page
    assert "A refund of this crossing: €70.00." in text
    assert later.pk == disruption.reroute.new_legs[0]["sailing_id"]
