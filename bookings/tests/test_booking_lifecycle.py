"""A booking's life: the transition table, expiry, cancellation with the refund policy, operator confirmation."""

import datetime as dt

import pytest
from django.utils import timezone

from bookings.flows import cancelling, checkout, sweeps
from bookings.models import Booking, BookingEvent
from bookings.policy import refund_due
from bookings.requests import parse_booking_request
from bookings.services import TransitionNotAllowed, booking_transition
from bookings.tasks import confirm_booking_with_operator_task, expire_holds_task
from bookings.tests.factories import held_booking, pay_with_demo_card, request_data
from ferries.choices import Resource
from ferries.models import CapacityHold, PassengerFare, SailingInventory
from ferries.services import capacity_holds_expire
from ferries.tests.factories import OperatorFactory, RouteFactory, sailing_factory
from notifications.models import Email
from payments.models import Payment

S = Booking.Status
ALLOWED = [(a, b) for a, targets in Booking.TRANSITIONS.items() for b in targets]
FORBIDDEN = [(a, b) for a in S.values for b in S.values if a != b and b not in Booking.TRANSITIONS[a]]


def booking_in(status: str) -> Booking:
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=status)
    return booking


def passengers_taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "end"), ALLOWED)
def test_an_allowed_transition_changes_the_status_and_writes_an_event(start, end):
    booking = booking_in(start)

    booking = booking_transition(booking_id=booking.pk, to=end, actor="staff:1", reason="test")

    assert booking.status == end
    event = BookingEvent.objects.filter(booking=booking).last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (start, end, "staff:1", "test")


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "end"), FORBIDDEN)
def test_a_forbidden_transition_raises_and_changes_nothing(start, end):
    booking = booking_in(start)

    with pytest.raises(TransitionNotAllowed):
        booking_transition(booking_id=booking.pk, to=end, actor="system", reason="test")

    assert Booking.objects.get(pk=booking.pk).status == start
    assert BookingEvent.objects.filter(booking=booking).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", S.values)
def test_setting_the_current_status_again_is_a_no_op(status):
    booking = booking_in(status)

    booking_transition(booking_id=booking.pk, to=status, actor="system", reason="again")

    assert BookingEvent.objects.filter(booking=booking).count() == 1


@pytest.mark.django_db
def test_expiry_releases_the_places_of_overdue_holds_only():
    overdue, fresh = held_booking(), held_booking()
    Booking.objects.filter(pk=overdue.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    sailing = overdue.legs.get().sailing

    assert expire_holds_task.apply().get() == 1

    assert Booking.objects.get(pk=overdue.pk).status == S.EXPIRED
    assert Booking.objects.get(pk=fresh.pk).status == S.HELD
    assert passengers_taken(sailing) == 0
    assert CapacityHold.objects.get(ref=overdue.legs.get().operator_hold_ref).status == CapacityHold.Status.RELEASED
    assert expire_holds_task.apply().get() == 0


@pytest.fixture
def paid_booking():
    sailing = sailing_factory(departs_in=dt.timedelta(days=30))
    return pay_with_demo_card(held_booking(sailing))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before_departure", "refund"),
    [
        (dt.timedelta(days=7, seconds=1), 10000),
        (dt.timedelta(days=7), 10000),
        (dt.timedelta(days=7) - dt.timedelta(seconds=1), 5000),
        (dt.timedelta(hours=24), 5000),
        (dt.timedelta(hours=24) - dt.timedelta(seconds=1), 0),
        (dt.timedelta(minutes=5), 0),
    ],
)
def test_the_refund_follows_the_fare_policy_at_each_boundary(paid_booking, before_departure, refund):
    departs = paid_booking.legs.get().sailing.departs_at

    assert refund_due(booking=paid_booking, at=departs - before_departure) == refund


@pytest.mark.django_db
def test_an_unpaid_booking_is_owed_nothing():
    booking = held_booking()

    assert refund_due(booking=booking, at=timezone.now()) == 0


@pytest.mark.django_db
def test_cancelling_releases_the_places_and_answers_the_refund_once(paid_booking):
    sailing = paid_booking.legs.get().sailing

    first = cancelling.booking_cancel(booking_id=paid_booking.pk, actor="traveller", reason="change of plans")
    again = cancelling.booking_cancel(booking_id=paid_booking.pk, actor="traveller", reason="change of plans")

    assert (first.booking.status, first.refund_minor, first.changed) == (S.CANCELLED, 10000, True)
    assert (again.refund_minor, again.changed) == (0, False)
    assert passengers_taken(sailing) == 0


@pytest.mark.django_db
def test_an_expired_booking_cannot_be_cancelled():
    booking = booking_in(S.EXPIRED)

    with pytest.raises(TransitionNotAllowed):
        cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="too late")


@pytest.mark.django_db
def test_a_paid_booking_is_confirmed_with_its_operator(paid_booking):
    result = confirm_booking_with_operator_task.apply(kwargs={"booking_id": paid_booking.pk}).get()

    leg = paid_booking.legs.get()
    assert result == S.CONFIRMED
    assert leg.operator_booking_ref.startswith("C")
    assert CapacityHold.objects.get(ref=leg.operator_hold_ref).status == CapacityHold.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_an_operator_that_never_answers_fails_the_booking_and_alerts_staff(
    operator_simulator, settings, mailoutbox, eager_tasks
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    booking = held_booking(sailing_factory(route=route))
    Booking.objects.filter(pk=booking.pk).update(status=S.PAID)
    simulator.error_rate = 1.0

    confirm_booking_with_operator_task.apply(kwargs={"booking_id": booking.pk})

    assert Booking.objects.get(pk=booking.pk).status == S.FAILED
    assert simulator.calls["confirm"] == 4 * 3, "the task's 4 attempts, each with 2 immediate HTTP retries"
    assert [m.subject for m in mailoutbox] == [f"[Maritime] Booking {booking.reference} failed at the operator"]
    assert booking.legs.get().released_at is None, "the operator could not be told either"

    simulator.error_rate = 0.0
    Booking.objects.filter(pk=booking.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=10))
    assert sweeps.bookings_retry_stalled() == 1
    assert CapacityHold.objects.get(ref=booking.legs.get().operator_hold_ref).status == CapacityHold.Status.RELEASED
    assert sweeps.bookings_retry_stalled() == 0


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_remote_booking_gives_the_operator_its_places_back(operator_simulator, settings, eager_tasks):
    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    sailing = sailing_factory(route=route)
    booking = held_booking(sailing)

    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="test")

    assert simulator.calls["cancel"] == 1
    assert passengers_taken(sailing) == 0
    assert booking.legs.get().released_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_paid_booking_whose_confirmation_was_lost_is_confirmed_by_the_sweeper(paid_booking, eager_tasks):
    Booking.objects.filter(pk=paid_booking.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=10))

    assert sweeps.bookings_retry_stalled() == 1

    assert Booking.objects.get(pk=paid_booking.pk).status == S.CONFIRMED


@pytest.mark.django_db
def test_our_inventory_frees_holds_nobody_confirmed_after_a_grace_period():
    booking = held_booking()
    ref = booking.legs.get().operator_hold_ref
    CapacityHold.objects.filter(ref=ref).update(expires_at=timezone.now() - dt.timedelta(minutes=31))

    assert capacity_holds_expire(grace=dt.timedelta(minutes=30)) == 1
    assert passengers_taken(booking.legs.get().sailing) == 0


def free_sailing(route):
    """A sailing whose fare costs nothing for an adult on deck (a promotion staff set)."""
    sailing = sailing_factory(route=route)
    PassengerFare.objects.filter(fare__route=route).update(amount_minor=0)
    return sailing


def test_a_booking_with_nothing_to_pay_is_paid_at_once_and_confirmed_without_a_payment(
    tunis_marseille, eager_tasks, django_capture_on_commit_callbacks
):
    sailing = free_sailing(tunis_marseille)

    with django_capture_on_commit_callbacks(execute=True):
        booking = checkout.booking_book(request=parse_booking_request(request_data(sailing)))

    booking.refresh_from_db()
    assert (booking.total_minor, booking.status) == (0, Booking.Status.CONFIRMED)
    assert list(booking.events.values_list("to_status", "reason")) == [
        ("held", "places held"),
        ("paid", "nothing to pay"),
        ("confirmed", "confirmed by the operator"),
    ]
    assert not Payment.objects.exists()
    assert list(Email.objects.values_list("kind", flat=True)) == [Email.Kind.BOOKING_CONFIRMATION]
    assert CapacityHold.objects.get().status == CapacityHold.Status.CONFIRMED


def test_a_booking_with_something_to_pay_waits_for_its_payment(tunis_marseille, eager_tasks):
    booking = checkout.booking_book(request=parse_booking_request(request_data(sailing_factory(route=tunis_marseille))))

    assert (booking.total_minor, booking.status) == (10000, Booking.Status.HELD)


def test_a_free_booking_sent_again_with_its_key_is_the_same_booking_paid_once(tunis_marseille, eager_tasks):
    sailing = free_sailing(tunis_marseille)
    request = parse_booking_request(request_data(sailing))

    first = checkout.booking_book(request=request, idempotency_key="k-1")
    again = checkout.booking_book(request=request, idempotency_key="k-1")

    assert first.pk == again.pk
    assert BookingEvent.objects.filter(booking=first, to_status="paid").count() == 1
