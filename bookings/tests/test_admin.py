"""Bookings in the admin: staff find bookings, read them whole, and cancel them through the workflow,
with nothing that would change a status behind the services' back."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingEvent, BookingVehicle
from bookings.tests.factories import ADULT, held_booking, pay
from ferries.choices import Resource
from ferries.models import Sailing, SailingInventory
from ferries.tests.factories import PortFactory, RouteFactory, sailing_factory

pytestmark = pytest.mark.django_db

S = Booking.Status
TUNIS = zoneinfo.ZoneInfo("Africa/Tunis")
CANCEL = "cancel_bookings"
REFUND = "refund_amount"
RESEND = "resend_email"
RETRY = "retry_confirmation"


def admin_url(view: str, *args) -> str:
    return reverse(f"admin:bookings_booking_{view}", args=args)


def booking_in(status: str, **kwargs) -> Booking:
    booking = held_booking(**kwargs)
    Booking.objects.filter(pk=booking.pk).update(status=status)
    booking.refresh_from_db()
    return booking


def sail_at(sailing: Sailing, departs: dt.datetime) -> None:
    """Move a sailing once booked: bookings are only taken ahead of departure, the admin lists them at any time."""
    Sailing.objects.filter(pk=sailing.pk).update(departs_at=departs, arrives_at=departs + dt.timedelta(hours=21))


def listed(response) -> set[str]:
    assert response.status_code == 200
    return {booking.reference for booking in response.context["cl"].result_list}


def action_messages(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def cancel_action(client, *bookings: Booking):
    data = {"action": CANCEL, "_selected_action": [booking.pk for booking in bookings]}
    return client.post(admin_url("changelist"), data, follow=True)


def return_booking() -> Booking:
    """Tunis → Marseille and back, each way with an operator of its own."""
    outbound = sailing_factory(departs_in=dt.timedelta(days=10))
    back = RouteFactory(origin=PortFactory(code="FRMRS"), destination=PortFactory(code="TNTUN"))
    return held_booking(outbound, sailing_factory(route=back, departs_in=dt.timedelta(days=14)))


# --- the list -------------------------------------------------------------------------------------


@pytest.fixture
def two_bookings() -> dict[str, Booking]:
    amira = held_booking()
    rossi = held_booking(
        passengers=[{**ADULT, "first_name": "Marco", "last_name": "Rossi", "nationality": "IT"}],
        contact={"name": "Giulia Bianchi", "email": "giulia@example.com", "phone": "+39 06 000 000"},
    )
    return {"amira": amira, "rossi": rossi}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"amira", "rossi"}),
        ("{amira.reference}", {"amira"}),
        ("{rossi.reference}", {"rossi"}),
        ("giulia@example", {"rossi"}),
        ("Bianchi", {"rossi"}),
        ("Rossi", {"rossi"}),
        ("Ben Salah", {"amira"}),
        ("nobody", set()),
    ],
)
def test_the_list_finds_bookings_by_reference_contact_or_passenger_name(admin_client, two_bookings, query, expected):
    response = admin_client.get(admin_url("changelist"), {"q": query.format(**two_bookings)})

    assert listed(response) == {two_bookings[name].reference for name in expected}


def test_the_list_filters_by_status(admin_client, two_bookings):
    Booking.objects.filter(pk=two_bookings["rossi"].pk).update(status=S.PAID)

    response = admin_client.get(admin_url("changelist"), {"status__exact": "paid"})

    assert listed(response) == {two_bookings["rossi"].reference}


def test_the_list_filters_by_operator_of_either_leg(admin_client, two_bookings):
    both_ways = return_booking()
    return_operator = both_ways.legs.get(direction="return").sailing.route.operator

    response = admin_client.get(
        admin_url("changelist"), {"legs__sailing__route__operator__id__exact": return_operator.pk}
    )

    assert listed(response) == {both_ways.reference}


def tunis_day(days_from_today: int, at: dt.time) -> dt.datetime:
    today = timezone.now().astimezone(TUNIS).date()
    return dt.datetime.combine(today + dt.timedelta(days=days_from_today), at, tzinfo=TUNIS)


@pytest.fixture
def departures() -> dict[str, Booking]:
    """Bookings from Tunis leaving on days counted in Tunis time."""
    moments = {
        "noon_today": tunis_day(0, dt.time(12)),
        # 23:30 UTC the day before: a UTC calendar would count it as today.
        "after_midnight": tunis_day(1, dt.time(0, 30)),
        "in_5_days": tunis_day(5, dt.time(19)),
        "in_20_days": tunis_day(20, dt.time(19)),
        "in_45_days": tunis_day(45, dt.time(19)),
        "3_days_ago": tunis_day(-3, dt.time(19)),
    }
    bookings = {}
    for name, moment in moments.items():
        bookings[name] = held_booking()
        sail_at(bookings[name].legs.get().sailing, moment)
    return bookings


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("today", {"noon_today"}),
        ("next7", {"noon_today", "after_midnight", "in_5_days"}),
        ("next30", {"noon_today", "after_midnight", "in_5_days", "in_20_days"}),
    ],
)
def test_the_departure_filter_counts_days_in_the_port_of_departure(admin_client, departures, window, expected):
    response = admin_client.get(admin_url("changelist"), {"departure": window})

    assert listed(response) == {departures[name].reference for name in expected}


def test_the_past_filter_lists_bookings_whose_every_sailing_has_left(admin_client):
    gone = held_booking()
    sail_at(gone.legs.get().sailing, timezone.now() - dt.timedelta(days=3))
    half_way = return_booking()
    sail_at(half_way.legs.get(direction="outbound").sailing, timezone.now() - dt.timedelta(days=3))
    held_booking()

    response = admin_client.get(admin_url("changelist"), {"departure": "past"})

    assert listed(response) == {gone.reference}


def test_a_booking_whose_return_sails_today_is_listed_under_today(admin_client):
    booking = return_booking()
    sail_at(booking.legs.get(direction="outbound").sailing, tunis_day(-6, dt.time(19)))
    sail_at(booking.legs.get(direction="return").sailing, tunis_day(0, dt.time(12)))

    assert listed(admin_client.get(admin_url("changelist"), {"departure": "today"})) == {booking.reference}


def test_the_list_filters_by_creation_date(admin_client, two_bookings):
    Booking.objects.filter(pk=two_bookings["amira"].pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    changelist = admin_client.get(admin_url("changelist")).context["cl"]
    created = next(spec for spec in changelist.filter_specs if getattr(spec, "field_path", None) == "created_at")
    past_7_days = next(choice for choice in created.choices(changelist) if choice["display"] == "Past 7 days")

    response = admin_client.get(admin_url("changelist") + past_7_days["query_string"])

    assert listed(response) == {two_bookings["rossi"].reference}


def test_the_list_shows_departure_in_port_time_route_operators_total_and_hold(admin_client):
    booking = return_booking()
    legs = {leg.direction: leg for leg in booking.legs.select_related("sailing__route__operator")}
    sail_at(legs["outbound"].sailing, dt.datetime(2030, 7, 1, 18, 0, tzinfo=dt.UTC))
    sail_at(legs["return"].sailing, dt.datetime(2030, 7, 10, 18, 0, tzinfo=dt.UTC))
    operators = f"{legs['outbound'].sailing.route.operator.code}, {legs['return'].sailing.route.operator.code}"

    response = admin_client.get(admin_url("changelist"))

    assert '<span title="2030-07-01 18:00 UTC">2030-07-01 19:00 CET</span>' in response.text
    assert "TNTUN → FRMRS ⇄" in response.text
    assert operators in response.text
    assert "€200.00" in response.text
    assert "Held, awaiting payment" in response.text
    assert response.context["cl"].model_admin.hold_expires(booking) == booking.hold_expires_at


def test_the_list_shows_no_hold_deadline_once_a_booking_is_paid(admin_client):
    booking = booking_in(S.PAID)

    response = admin_client.get(admin_url("changelist"))

    assert response.context["cl"].model_admin.hold_expires(booking) is None


def test_the_list_queries_do_not_grow_with_the_number_of_bookings(admin_client):
    def changelist_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(admin_url("changelist"), {"departure": "next30"}).status_code == 200
        return len(queries)

    held_booking()
    admin_client.get(admin_url("changelist"))  # the session and content types are cached from here on
    with_one = changelist_queries()
    # Each on a sailing, route and operator of its own, so a lookup per row would show.
    for _ in range(9):
        held_booking()
    for _ in range(10):
        return_booking()
    with_twenty = changelist_queries()

    assert Booking.objects.count() == 20
    assert with_twenty == with_one


# --- one booking ----------------------------------------------------------------------------------


def test_the_booking_page_shows_legs_party_vehicle_and_history(admin_client):
    booking = held_booking(
        vehicle={"category": "car", "registration": "TU 123 4567", "length_cm": 450, "height_cm": 160}
    )
    leg = booking.legs.select_related("sailing").get()

    response = admin_client.get(admin_url("change", booking.pk))

    assert response.status_code == 200
    inlines = {
        formset.formset.prefix: len(formset.formset.forms) for formset in response.context["inline_admin_formsets"]
    }
    assert inlines == {
        "legs": 1, "passengers": 1, "vehicles": 1, "events": 1, "changes": 0, "invoices": 0, "emails": 0,
    }  # fmt: skip
    assert leg.sailing.ref in response.text
    assert leg.operator_hold_ref in response.text
    assert "Ben Salah" in response.text
    assert "X1234567" in response.text, "the passenger's document"
    assert "TU 123 4567" in response.text
    assert "— → held" in response.text
    assert "places held" in response.text


def test_the_booking_page_shows_each_legs_fare_with_its_rules_and_its_extras(admin_client):
    booking = held_booking(outbound_fare_family="basic", outbound_extras={"dinners": 1, "priority_boarding": True})

    response = admin_client.get(admin_url("change", booking.pk))

    assert '<span title="Not refundable. No changes.">Basic</span>' in response.text
    assert "1 × Dinner, 1 × Priority boarding" in response.text


def test_staff_allowed_only_to_view_bookings_see_them_whole_but_cannot_cancel(client, django_user_model):
    booking = held_booking()
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(content_type__app_label="bookings", codename="view_booking"))
    client.force_login(clerk)

    page = client.get(admin_url("change", booking.pk))
    listing = client.get(admin_url("changelist"))

    assert page.status_code == 200
    assert [formset.formset.prefix for formset in page.context["inline_admin_formsets"]] == [
        "legs", "passengers", "vehicles", "events", "changes", "invoices", "emails"
    ]  # fmt: skip
    assert listing.context["action_form"] is None, "no action is offered"
    client.post(admin_url("changelist"), {"action": CANCEL, "_selected_action": [booking.pk]})
    assert Booking.objects.get(pk=booking.pk).status == S.HELD


def test_the_history_reads_oldest_first(admin_client):
    booking = held_booking()
    admin_client.post(admin_url("changelist"), {"action": CANCEL, "_selected_action": [booking.pk]})

    response = admin_client.get(admin_url("change", booking.pk))

    text = response.text
    assert text.index("— → held") < text.index("held → cancelled")


def test_the_booking_page_shows_the_refund_the_policy_gives_if_cancelled_now(admin_client, fake_stripe):
    # Three days ahead the fare gives half back (full refund from 7 days, half from 24 hours).
    booking = held_booking(outbound=sailing_factory(departs_in=dt.timedelta(days=3)))
    pay(fake_stripe, booking)

    response = admin_client.get(admin_url("change", booking.pk))

    assert "refund if cancelled now" in response.text.lower()
    assert "€50.00" in response.text
    assert "€100.00" in response.text, "the price paid"


def test_the_booking_page_says_when_a_booking_cannot_be_cancelled(admin_client):
    booking = booking_in(S.EXPIRED)

    response = admin_client.get(admin_url("change", booking.pk))

    assert "Not cancellable (expired unpaid)." in response.text


def change_form(booking: Booking, **changes) -> dict:
    """The change form as the browser posts it, the read-only rows of each part included."""
    data = {"contact_name": booking.contact_name, "contact_email": booking.contact_email}
    data["contact_phone"] = booking.contact_phone
    parts = {
        "legs": booking.legs.all(),
        "passengers": booking.passengers.all(),
        "vehicles": BookingVehicle.objects.filter(booking=booking),
        "events": booking.events.all(),
        "changes": booking.changes.all(),
        "invoices": booking.invoices.all(),
        "emails": booking.emails.all(),
    }
    for prefix, rows in parts.items():
        rows = list(rows)
        data |= {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows)}
        data |= {f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}
        for i, row in enumerate(rows):
            data |= {f"{prefix}-{i}-id": row.pk, f"{prefix}-{i}-booking": booking.pk}
    return data | changes


def test_staff_correct_the_contact_e_mail_but_cannot_change_the_status_or_total(admin_client):
    booking = held_booking()

    response = admin_client.post(
        admin_url("change", booking.pk),
        change_form(booking, contact_email="amira.bs@example.com", status="cancelled", total_minor=0),
    )

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.contact_email == "amira.bs@example.com"
    assert (booking.status, booking.total_minor) == (S.HELD, 10000)
    assert booking.events.count() == 1


def test_a_mistyped_contact_e_mail_is_refused_on_the_form(admin_client):
    booking = held_booking()

    response = admin_client.post(admin_url("change", booking.pk), change_form(booking, contact_email="amira@"))

    assert response.status_code == 200
    assert "contact_email" in response.context["adminform"].form.errors
    assert Booking.objects.get(pk=booking.pk).contact_email == "amira@example.com"


def test_bookings_cannot_be_added_or_deleted_in_the_admin(admin_client):
    booking = held_booking()

    assert admin_client.get(admin_url("add")).status_code == 403
    assert admin_client.post(admin_url("delete", booking.pk), {"post": "yes"}).status_code == 403
    actions = admin_client.get(admin_url("changelist")).context["action_form"].fields["action"].choices
    assert [name for name, _label in actions if name] == [CANCEL, REFUND, RESEND, RETRY]
    admin_client.post(admin_url("changelist"), {"action": "delete_selected", "_selected_action": [booking.pk]})
    assert Booking.objects.filter(pk=booking.pk).exists()


# --- cancelling -----------------------------------------------------------------------------------


def passengers_taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


def test_cancelling_a_held_booking_gives_its_places_back_and_nothing_to_refund(admin_client, admin_user):
    booking = held_booking()
    sailing = booking.legs.get().sailing
    assert passengers_taken(sailing) == 1

    response = cancel_action(admin_client, booking)

    assert action_messages(response) == [("success", f"{booking.reference} cancelled; refund: €0.00.")]
    booking.refresh_from_db()
    assert booking.status == S.CANCELLED
    assert passengers_taken(sailing) == 0
    assert booking.legs.get().released_at is not None
    event = booking.events.last()
    assert (event.actor, event.reason) == (f"staff:{admin_user.pk}", "cancelled by staff")


def test_cancelling_a_paid_booking_reports_the_refund_the_policy_gives(admin_client, fake_stripe):
    booking = held_booking(outbound=sailing_factory(departs_in=dt.timedelta(days=3)))
    pay(fake_stripe, booking)

    response = cancel_action(admin_client, booking)

    assert action_messages(response) == [("success", f"{booking.reference} cancelled; refund: €50.00.")]
    assert Booking.objects.get(pk=booking.pk).status == S.CANCELLED


def test_cancelling_skips_with_a_warning_what_cannot_be_cancelled_and_cancels_the_rest(admin_client):
    expired, cancelled, held = booking_in(S.EXPIRED), booking_in(S.CANCELLED), held_booking()

    response = cancel_action(admin_client, expired, cancelled, held)

    assert sorted(action_messages(response)) == sorted(
        [
            ("warning", f"{expired.reference}: A booking that is expired unpaid cannot be cancelled."),
            ("warning", f"{cancelled.reference} was already cancelled."),
            ("success", f"{held.reference} cancelled; refund: €0.00."),
        ]
    )
    statuses = dict(Booking.objects.values_list("reference", "status"))
    assert statuses == {expired.reference: S.EXPIRED, cancelled.reference: S.CANCELLED, held.reference: S.CANCELLED}
    assert BookingEvent.objects.filter(booking=expired).count() == 1
