"""The "Staff agent" group: staff who look after bookings and travellers act on bookings and e-mails, read the
network and the money, and change none of the network."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from bookings.models import Booking
from bookings.tests.conftest import STAFF_AGENT
from bookings.tests.factories import held_booking, pay
from ferries.models import Fare, Operator, Sailing
from ferries.tests.factories import FareFactory, sailing_factory
from notifications.models import Email
from notifications.services import email_enqueue
from payments.models import Refund

pytestmark = pytest.mark.django_db

S = Booking.Status


@pytest.fixture
def agent_client(client, staff_agent):
    client.force_login(staff_agent)
    return client


def test_the_migration_gives_the_group_its_permissions_and_no_others():
    group = Group.objects.get(name=STAFF_AGENT)

    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    assert granted == {
        "bookings.view_booking", "bookings.change_booking",
        "ferries.view_operator", "ferries.view_port", "ferries.view_vessel", "ferries.view_route",
        "ferries.view_sailing", "ferries.view_sailinginventory", "ferries.view_fare", "ferries.view_passengerfare",
        "ferries.view_vehiclefare", "ferries.view_accommodationfare",
        "notifications.view_email", "notifications.change_email",
        "payments.view_payment", "payments.view_refund", "payments.view_webhookevent",
    }  # fmt: skip


def action_names(response) -> list[str]:
    return [name for name, _label in response.context["action_form"].fields["action"].choices if name]


def test_an_agent_is_offered_every_booking_action(agent_client):
    held_booking()

    response = agent_client.get(reverse("admin:bookings_booking_changelist"))

    assert action_names(response) == ["cancel_bookings", "refund_amount", "resend_email", "retry_confirmation"]


def test_an_agent_refunds_part_of_a_booking(agent_client, staff_agent, fake_stripe):
    booking = held_booking()
    pay(fake_stripe, booking)
    changelist = reverse("admin:bookings_booking_changelist")
    chosen = {"action": "refund_amount", "_selected_action": [booking.pk]}

    page = agent_client.post(changelist, chosen)
    agent_client.post(
        changelist,
        {**chosen, "post": "yes", "amount": "25", "reason": "goodwill", "key": page.context["form"]["key"].value()},
    )

    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.reason) == (2500, f"staff:{staff_agent.pk}: goodwill")


def test_an_agent_resends_an_e_mail_from_the_booking_and_from_the_outbox(agent_client):
    booking = held_booking()
    email = email_enqueue(booking=booking, kind=Email.Kind.HOLD_EXPIRED)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.FAILED)

    agent_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "resend_email", "_selected_action": [booking.pk], "post": "yes", "kind": "hold_expired"},
    )
    assert Email.objects.get(pk=email.pk).status == Email.Status.QUEUED
    Email.objects.filter(pk=email.pk).update(status=Email.Status.FAILED)
    agent_client.post(
        reverse("admin:notifications_email_changelist"), {"action": "resend", "_selected_action": [email.pk]}
    )

    assert Email.objects.get(pk=email.pk).status == Email.Status.QUEUED


def test_an_agent_cancels_a_booking_and_asks_the_operator_again(agent_client):
    held, paid = held_booking(), held_booking()
    Booking.objects.filter(pk=paid.pk).update(status=S.PAID)
    changelist = reverse("admin:bookings_booking_changelist")

    agent_client.post(changelist, {"action": "cancel_bookings", "_selected_action": [held.pk]})
    response = agent_client.post(
        changelist, {"action": "retry_confirmation", "_selected_action": [paid.pk]}, follow=True
    )

    assert Booking.objects.get(pk=held.pk).status == S.CANCELLED
    assert f"{paid.reference}: confirmation asked of the operator again." in [
        m.message for m in response.context["messages"]
    ]


def test_an_agent_reads_the_network_and_the_money(agent_client):
    fare = FareFactory()
    sailing = sailing_factory(route=fare.route)

    pages = [
        reverse("admin:ferries_fare_change", args=[fare.pk]),
        reverse("admin:ferries_operator_change", args=[fare.route.operator.pk]),
        reverse("admin:ferries_sailing_change", args=[sailing.pk]),
        reverse("admin:ferries_route_changelist"),
        reverse("admin:ferries_port_changelist"),
        reverse("admin:payments_payment_changelist"),
        reverse("admin:payments_refund_changelist"),
        reverse("admin:payments_webhookevent_changelist"),
        reverse("admin:notifications_email_changelist"),
    ]

    assert [agent_client.get(page).status_code for page in pages] == [200] * len(pages)


def test_an_agent_cannot_change_a_fare(agent_client):
    fare = FareFactory()

    response = agent_client.post(
        reverse("admin:ferries_fare_change", args=[fare.pk]), {"name": "Cheaper", "currency": "EUR"}
    )

    assert response.status_code == 403
    assert Fare.objects.get(pk=fare.pk).name == "All year"
    assert agent_client.get(reverse("admin:ferries_fare_add")).status_code == 403
    assert agent_client.post(reverse("admin:ferries_fare_delete", args=[fare.pk]), {"post": "yes"}).status_code == 403


def test_an_agent_cannot_change_an_operator(agent_client):
    operator = FareFactory().route.operator

    response = agent_client.post(
        reverse("admin:ferries_operator_change", args=[operator.pk]),
        {"code": operator.code, "name": "Renamed", "integration": "local", "active": ""},
    )

    assert response.status_code == 403
    assert Operator.objects.get(pk=operator.pk).name == operator.name
    assert agent_client.get(reverse("admin:ferries_operator_add")).status_code == 403


@pytest.mark.parametrize("model", ["route", "vessel", "sailing", "port"])
def test_an_agent_cannot_add_to_the_network(agent_client, model):
    assert agent_client.get(reverse(f"admin:ferries_{model}_add")).status_code == 403


def test_an_agent_cannot_cancel_a_sailing(agent_client):
    sailing = sailing_factory()
    changelist = reverse("admin:ferries_sailing_changelist")

    listing = agent_client.get(changelist)
    agent_client.post(
        changelist, {"action": "cancel_sailings", "_selected_action": [sailing.pk], "post": "yes", "reason": "x"}
    )

    assert listing.context["action_form"] is None, "no action is offered"
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.SCHEDULED
