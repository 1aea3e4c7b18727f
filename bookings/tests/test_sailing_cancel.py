"""Staff cancel a sailing: every booking still travelling on it is cancelled on the bookings queue, one task each,
refunded in full whatever its fare's conditions, and its traveller e-mailed. Other sailings are untouched."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from bookings.flows import refunds, sailing_cancellation, sweeps
from bookings.models import Booking
from bookings.tasks import cancel_booking_for_sailing_task
from bookings.tests.factories import held_booking, pay
from ferries.choices import Resource
from ferries.models import Sailing, SailingInventory
from ferries.tests.factories import sailing_factory
from notifications.models import Email
from payments.models import Refund

pytestmark = pytest.mark.django_db

S = Booking.Status
CHANGELIST = reverse("admin:ferries_sailing_changelist")


def cancel_action(client, *sailings: Sailing, reason: str | None = None):
    """Choose the action for the sailings; with a reason, apply it."""
    data = {"action": "cancel_sailings", "_selected_action": [sailing.pk for sailing in sailings]}
    if reason is not None:
        data |= {"reason": reason, "post": "yes"}
    return client.post(CHANGELIST, data, follow=True)


def said(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def booking_in(status: str, sailing: Sailing) -> Booking:
    booking = held_booking(sailing)
    Booking.objects.filter(pk=booking.pk).update(status=status)
    return Booking.objects.get(pk=booking.pk)


def statuses(*bookings: Booking) -> list[str]:
    return [Booking.objects.get(pk=booking.pk).status for booking in bookings]


@pytest.fixture
def sailing(tunis_marseille) -> Sailing:
    """Three days ahead: a traveller cancelling now would be given half back."""
    return sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=3))


def test_the_action_asks_for_a_reason_first(admin_client, sailing):
    response = cancel_action(admin_client, sailing)

    assert response.status_code == 200
    assert response.context["title"] == "Cancel sailings"
    assert sailing.ref in response.text
    assert "refunded in full" in response.text
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.SCHEDULED


def test_a_reason_is_required(admin_client, sailing):
    response = cancel_action(admin_client, sailing, reason="")

    assert response.context["form"].errors["reason"] == ["This field is required."]
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.SCHEDULED


def test_cancelling_keeps_the_reason_in_the_sailing_history(admin_client, admin_user, sailing):
    response = cancel_action(admin_client, sailing, reason="engine failure")

    assert said(response) == [
        ("success", f"{sailing.ref} cancelled; 0 bookings are being cancelled with a full refund.")
    ]
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.CANCELLED
    entry = LogEntry.objects.get(object_id=str(sailing.pk))
    assert (entry.user, entry.get_change_message()) == (admin_user, "Cancelled: engine failure")


def test_a_departed_sailing_is_refused_and_the_others_cancelled(admin_client, sailing, tunis_marseille):
    departed = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=4))
    Sailing.objects.filter(pk=departed.pk).update(status=Sailing.Status.DEPARTED)
    booking = held_booking(sailing)

    response = cancel_action(admin_client, sailing, departed, reason="strike")

    assert sorted(said(response)) == sorted(
        [
            ("success", f"{sailing.ref} cancelled; 1 booking is being cancelled with a full refund."),
            ("warning", f"Sailing {departed.ref} has departed and cannot be cancelled."),
        ]
    )
    assert Sailing.objects.get(pk=departed.pk).status == Sailing.Status.DEPARTED
    assert statuses(booking) == [S.HELD], "its task was not run here"


@pytest.mark.django_db(transaction=True)
def test_each_booking_still_travelling_is_queued_for_cancellation_on_the_bookings_queue(admin_client, broker, sailing):
    travelling = [held_booking(sailing), booking_in(S.PAID, sailing), booking_in(S.CONFIRMED, sailing)]
    over = [booking_in(S.EXPIRED, sailing), booking_in(S.CANCELLED, sailing)]
    broker.purge()

    response = cancel_action(admin_client, sailing, reason="engine failure")

    assert said(response) == [
        ("success", f"{sailing.ref} cancelled; 3 bookings are being cancelled with a full refund.")
    ]
    assert broker.queue_length("bookings") == 3
    assert statuses(*travelling, *over) == [S.HELD, S.PAID, S.CONFIRMED, S.EXPIRED, S.CANCELLED]
    assert not Email.objects.exists(), "the e-mails go with each booking's cancellation, on the queue"


@pytest.mark.django_db(transaction=True)
def test_cancelling_again_queues_again_what_is_still_travelling(admin_client, broker, sailing):
    booking = held_booking(sailing)
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.CANCELLED)  # its message was lost
    broker.purge()

    response = cancel_action(admin_client, sailing, reason="engine failure")

    assert said(response) == [
        ("warning", f"{sailing.ref} was already cancelled; its 1 booking still travelling is queued again.")
    ]
    assert broker.queue_length("bookings") == 1
    assert statuses(booking) == [S.HELD]


@pytest.mark.django_db(transaction=True)
def test_bookings_are_cancelled_refunded_in_full_and_e_mailed_and_other_sailings_untouched(
    admin_client, fake_stripe, eager_tasks, sailing, tunis_marseille, mailoutbox
):
    paid = held_booking(sailing)
    payment = pay(fake_stripe, paid)
    held = held_booking(sailing)
    expired = booking_in(S.EXPIRED, sailing)
    other_sailing = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=8))  # too late to re-route
    elsewhere = held_booking(other_sailing)
    pay(fake_stripe, elsewhere)
    assert statuses(paid, elsewhere) == [S.CONFIRMED, S.CONFIRMED]
    mailoutbox.clear()

    cancel_action(admin_client, sailing, reason="engine failure")

    assert statuses(paid, held, expired, elsewhere) == [S.REFUNDED, S.CANCELLED, S.EXPIRED, S.CONFIRMED]
    refund = Refund.objects.get()
    assert (refund.payment, refund.amount_minor, refund.status) == (payment, 10000, Refund.Status.SUCCEEDED)
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [10000], "in full: the policy would give half"
    notices = Email.objects.filter(kind=Email.Kind.CANCELLATION).order_by("booking_id")
    assert [(e.booking_id, e.details, e.status) for e in notices] == [
        (paid.pk, {"refund_minor": 10000, "refunded_before_minor": 0, "paid": True}, Email.Status.SENT),
        (held.pk, {"refund_minor": 0, "refunded_before_minor": 0, "paid": False}, Email.Status.SENT),
    ]
    assert Email.objects.filter(booking=paid, kind=Email.Kind.REFUND).exists()
    assert sorted(m.to[0] for m in mailoutbox) == ["amira@example.com"] * 3
    event = Booking.objects.get(pk=held.pk).events.last()
    assert (event.actor, event.reason) == ("operator", f"sailing {sailing.ref} cancelled")
    taken = SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken
    assert taken == 1, "only the expired booking's place, which the test set aside without giving back"
    assert Sailing.objects.get(pk=other_sailing.pk).status == Sailing.Status.SCHEDULED


def test_a_booking_given_part_back_before_the_sailing_was_cancelled_is_given_the_rest(fake_stripe, sailing):
    booking = held_booking(sailing)
    payment = pay(fake_stripe, booking)
    refunds.booking_refund(booking_id=booking.pk, amount_minor=3000, reason="goodwill", actor="staff:1", key="a" * 32)
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.CANCELLED)

    sailing_cancellation.booking_cancel_for_sailing(booking_id=booking.pk)

    assert sorted(payment.refunds.values_list("amount_minor", flat=True)) == [3000, 7000]
    notice = Email.objects.get(booking=booking, kind=Email.Kind.CANCELLATION)
    assert notice.details == {"refund_minor": 7000, "refunded_before_minor": 3000, "paid": True}


def test_the_task_leaves_a_booking_whose_sailings_run(sailing):
    booking = held_booking(sailing)

    assert cancel_booking_for_sailing_task.apply(kwargs={"booking_id": booking.pk}).get() is None

    assert statuses(booking) == [S.HELD]


def test_the_task_leaves_a_booking_that_expired_meanwhile(sailing):
    booking = booking_in(S.EXPIRED, sailing)
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.CANCELLED)

    assert cancel_booking_for_sailing_task.apply(kwargs={"booking_id": booking.pk}).get() is None

    assert statuses(booking) == [S.EXPIRED]


def test_the_task_cancelling_twice_cancels_once(sailing):
    booking = held_booking(sailing)
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.CANCELLED)

    first = cancel_booking_for_sailing_task.apply(kwargs={"booking_id": booking.pk}).get()
    second = cancel_booking_for_sailing_task.apply(kwargs={"booking_id": booking.pk}).get()

    assert (first, second) == (S.CANCELLED, S.CANCELLED)
    assert Booking.objects.get(pk=booking.pk).events.filter(to_status=S.CANCELLED).count() == 1
    assert Email.objects.filter(booking=booking, kind=Email.Kind.CANCELLATION).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_cancels_bookings_left_on_a_cancelled_sailing(eager_tasks, sailing):
    booking = held_booking(sailing)
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.CANCELLED)  # its tasks were lost

    assert sweeps.bookings_retry_stalled() == 1

    assert statuses(booking) == [S.CANCELLED]
    assert sweeps.bookings_retry_stalled() == 0


@pytest.mark.django_db(transaction=True)
def test_cancelling_on_the_sailing_page_cancels_its_bookings_too(admin_client, eager_tasks, sailing):
    booking = held_booking(sailing)
    data = {
        "status": "cancelled",
        "departs_at_0": f"{sailing.departs_at:%Y-%m-%d}",
        "departs_at_1": f"{sailing.departs_at:%H:%M:%S}",
        "arrives_at_0": f"{sailing.arrives_at:%Y-%m-%d}",
        "arrives_at_1": f"{sailing.arrives_at:%H:%M:%S}",
    }
    rows = list(sailing.inventory.all())
    data |= {"inventory-TOTAL_FORMS": len(rows), "inventory-INITIAL_FORMS": len(rows)}
    data |= {"inventory-MIN_NUM_FORMS": 0, "inventory-MAX_NUM_FORMS": 1000}
    for i, row in enumerate(rows):
        data |= {f"inventory-{i}-id": row.pk, f"inventory-{i}-sailing": sailing.pk}

    response = admin_client.post(reverse("admin:ferries_sailing_change", args=[sailing.pk]), data)

    assert response.status_code == 302
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.CANCELLED
    assert statuses(booking) == [S.CANCELLED]
