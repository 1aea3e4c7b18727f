"""Changing a booking: the quote holds the new places and states the money; confirming pays or refunds the difference
and swaps the legs; each rule of the fare family forbids what it says, and names itself."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.signing import BadSignature
from django.utils import timezone

from bookings.change_requests import ChangeRefused
from bookings.flows import cancelling, changing, checkout, confirmation
from bookings.models import Booking, BookingChange
from bookings.tests.factories import ADULT, CHILD, held_booking, pay
from bookings.tickets import ticket_verify
from ferries.choices import Resource
from ferries.models import CapacityHold, SailingInventory
from ferries.tests.factories import sailing_factory
from notifications.etickets import leg_code
from notifications.models import Email
from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


def confirmed(fake_stripe, *sailings, **kwargs) -> Booking:
    """A booking held, paid through Stripe (answered locally) and confirmed by its operator."""
    booking = held_booking(*sailings, **kwargs)
    pay(fake_stripe, booking)
    confirmation.booking_confirm(booking_id=booking.pk)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    return booking


def taken(sailing, resource=Resource.PASSENGERS) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=resource).taken


def quote(booking, data, actor="traveller") -> BookingChange:
    return changing.change_request(booking=booking, data=data, actor=actor)


def paid_through_stripe(fake_stripe, payment: Payment) -> None:
    fake_stripe.set_status(payment.intent_id, "succeeded")
    checkout.payment_reconcile(payment_id=payment.pk)


def test_a_quote_holds_the_new_places_and_states_the_difference_and_the_fee(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])

    change = quote(booking, {"return_sailing_id": trip["later_back"].pk, "return_fare_family": "flex"})

    # Standard 100.00 → Flex 125.00; the Standard fee: 10 % of the leg's price, at least 15.00.
    assert (change.status, change.difference_minor, change.fee_minor) == ("quoted", 2500, 1500)
    assert (change.due_minor, change.refund_minor, change.currency) == (4000, 0, "EUR")
    assert taken(trip["later_back"]) == 1
    assert taken(trip["back"]) == 1
    assert change.expires_at > timezone.now()
    assert change.summary.startswith("Return: ")


def test_paying_the_difference_swaps_the_leg_and_mails_new_e_tickets(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    old_code = leg_code(booking.legs.get(direction="return"))
    change = quote(booking, {"return_sailing_id": trip["later_back"].pk, "return_fare_family": "flex"})

    change, payment = changing.change_confirm(change=change)
    assert change.status == "awaiting_payment"
    assert (payment.amount_minor, payment.change) == (4000, change)
    paid_through_stripe(fake_stripe, payment)
    change = changing.change_make(change_id=change.pk)

    booking.refresh_from_db()
    leg = booking.legs.get(direction="return")
    assert change.status == "confirmed"
    assert (leg.sailing, leg.fare_family, leg.price_minor, leg.changes_made) == (trip["later_back"], "flex", 12500, 1)
    assert booking.total_minor == 22500
    assert taken(trip["back"]) == 0
    assert taken(trip["later_back"]) == 1
    assert Email.objects.filter(booking=booking, kind=Email.Kind.BOOKING_CHANGED, key="1").exists()
    with pytest.raises(BadSignature):
        ticket_verify(old_code)
    assert ticket_verify(leg_code(leg))["v"] == 2


def test_a_cheaper_change_refunds_the_saving_less_the_fee(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], passengers=[ADULT, ADULT])

    change = quote(booking, {"passengers": [ADULT]})  # one of two adults stays home: 100.00 less on each leg
    change, payment = changing.change_confirm(change=change)

    assert payment is None
    assert change.status == "confirmed"
    # Each leg sold at 200.00: the Standard fee is 10 % of it, 20.00 a leg.
    assert (change.difference_minor, change.fee_minor, change.refund_minor) == (-20000, 4000, 16000)
    refund = Refund.objects.get(cause=Refund.Cause.CHANGE)
    assert refund.amount_minor == 16000
    booking.refresh_from_db()
    assert booking.total_minor == 20000
    assert booking.passengers.count() == 1
    assert taken(trip["out"]) == 1
    assert taken(trip["back"]) == 1


def test_a_change_of_equal_price_with_no_fee_is_made_at_once(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], return_fare_family="flex")

    change = quote(booking, {"return_sailing_id": trip["later_back"].pk})  # Flex: no fee
    change, payment = changing.change_confirm(change=change)

    assert (change.due_minor, change.refund_minor, change.status, payment) == (0, 0, "confirmed", None)
    assert not Refund.objects.exists()


def test_a_fee_larger_than_the_saving_is_paid_not_refunded(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], return_extras={"breakfasts": 1})

    change = quote(booking, {"return_extras": None})  # 12.00 cheaper, fee 15.00

    assert (change.difference_minor, change.fee_minor, change.due_minor, change.refund_minor) == (-1200, 1500, 300, 0)


def test_correcting_a_name_is_free_and_counts_no_change(fake_stripe, trip):
    booking = confirmed(
        fake_stripe, trip["out"], trip["back"], outbound_fare_family="basic", return_fare_family="basic"
    )

    change = quote(booking, {"passengers": [{**ADULT, "last_name": "Ben Salem"}]})
    change, _payment = changing.change_confirm(change=change)

    assert (change.status, change.due_minor, change.fee_minor, change.new_legs) == ("confirmed", 0, 0, [])
    assert booking.passengers.get().last_name == "Ben Salem"
    assert set(booking.legs.values_list("changes_made", flat=True)) == {0}


@pytest.mark.parametrize(
    ("setup", "data", "code"),
    [
        ({"return_fare_family": "basic"}, {"return_sailing_id": "later_back"}, "fare_forbids_changes"),
        ({}, {"return_sailing_id": "later_back"}, "max_changes_reached"),
        ({}, {"passengers": [ADULT] * 3}, "sold_out"),
    ],
    ids=["fare forbids", "max changes", "party does not fit"],
)
def test_each_rule_refuses_by_name(fake_stripe, trip, setup, data, code):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], **setup)
    if code == "max_changes_reached":
        booking.legs.filter(direction="return").update(changes_made=2)
    if code == "sold_out":
        SailingInventory.objects.filter(sailing=trip["back"], resource=Resource.PASSENGERS).update(
            capacity=taken(trip["back"]) + 1
        )
    data = {key: trip[value].pk if isinstance(value, str) else value for key, value in data.items()}

    with pytest.raises(ChangeRefused) as refused:
        quote(booking, data)

    assert refused.value.code == code
    assert not BookingChange.objects.exists()


def test_no_change_after_the_fare_s_cut_off(fake_stripe, tunis_marseille):
    soon = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(hours=20))  # Standard: until 24 h before
    later = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=3))
    booking = confirmed(fake_stripe, soon)

    with pytest.raises(ChangeRefused) as refused:
        quote(booking, {"outbound_sailing_id": later.pk})

    assert refused.value.code == "change_cutoff_passed"
    assert "24 hours" in refused.value.message


def test_bad_input_names_the_field_and_writes_nothing(fake_stripe, trip, tunis_marseille):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])

    with pytest.raises(ValidationError) as invalid:
        quote(booking, {"return_sailing_id": trip["later_out"].pk, "contact": {}, "pets": -1})

    assert set(invalid.value.message_dict) == {"return_sailing_id", "contact", "pets"}
    assert not BookingChange.objects.exists()


def test_an_expired_quote_gives_its_places_back_and_cannot_be_confirmed(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    change = quote(booking, {"return_sailing_id": trip["later_back"].pk})
    BookingChange.objects.filter(pk=change.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert changing.changes_expire() == 1
    with pytest.raises(ChangeRefused) as refused:
        changing.change_confirm(change=change)

    assert refused.value.code == "change_expired"
    assert taken(trip["later_back"]) == 0
    assert taken(trip["back"]) == 1


def test_a_new_quote_replaces_the_pending_one(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    first = quote(booking, {"return_sailing_id": trip["later_back"].pk})

    second = quote(booking, {"outbound_sailing_id": trip["later_out"].pk})

    first.refresh_from_db()
    assert (first.status, second.status, second.number) == ("superseded", "quoted", 2)
    assert taken(trip["later_back"]) == 0
    assert taken(trip["later_out"]) == 1
    with pytest.raises(ChangeRefused) as refused:
        changing.change_confirm(change=first)
    assert refused.value.code == "change_superseded"


def test_money_for_an_expired_change_goes_back_as_a_late_payment(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    change = quote(booking, {"return_sailing_id": trip["later_back"].pk})
    change, payment = changing.change_confirm(change=change)
    BookingChange.objects.filter(pk=change.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    changing.changes_expire()

    paid_through_stripe(fake_stripe, payment)

    refund = Refund.objects.get(payment=payment)
    assert (refund.cause, refund.amount_minor) == (Refund.Cause.NOT_HONOURED, payment.amount_minor)
    assert booking.legs.get(direction="return").sailing == trip["back"]


def test_cancelling_after_a_change_refunds_across_both_payments(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    change = quote(booking, {"return_sailing_id": trip["later_back"].pk, "return_fare_family": "flex"})
    change, payment = changing.change_confirm(change=change)
    paid_through_stripe(fake_stripe, payment)
    changing.change_make(change_id=change.pk)

    cancellation = cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    # Ten days out: Standard outbound in full (100.00), Flex return in full (125.00); the fee is kept.
    assert cancellation.refund_minor == 22500
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [4000, 18500]


def test_only_a_confirmed_booking_changes(fake_stripe, trip):
    booking = held_booking(trip["out"], trip["back"])

    with pytest.raises(ChangeRefused) as refused:
        quote(booking, {"return_sailing_id": trip["later_back"].pk})

    assert refused.value.code == "booking_not_changeable"


def test_adding_a_child_prices_both_legs(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    child = {**CHILD, "date_of_birth": (trip["out"].departs_at.date() - dt.timedelta(days=8 * 366)).isoformat()}

    change = quote(booking, {"passengers": [ADULT, child]})

    assert (change.difference_minor, change.fee_minor, len(change.new_legs)) == (10000, 3000, 2)


# --- remote operators: asked through their API (the operator simulator) --------------------------------------------


@pytest.fixture
def remote_trip(operator_simulator, settings):
    from ferries.tests.factories import OperatorFactory, RouteFactory

    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    first = sailing_factory(route=route, departs_in=dt.timedelta(days=10))
    later = sailing_factory(route=route, departs_in=dt.timedelta(days=12))
    return simulator, first, later


def hold_status(ref: str) -> str:
    from ferries.models import CapacityHold

    return CapacityHold.objects.get(ref=ref).status


@pytest.mark.django_db(transaction=True)
def test_a_remote_operator_holds_the_new_sailing_confirms_it_then_releases_the_old(fake_stripe, remote_trip):
    simulator, first, later = remote_trip
    booking = confirmed(fake_stripe, first, outbound_fare_family="flex")
    old_hold = booking.legs.get().operator_hold_ref
    calls = dict(simulator.calls)

    change = quote(booking, {"outbound_sailing_id": later.pk})
    change, _payment = changing.change_confirm(change=change)
    changing.change_release_remote(change_id=change.pk)  # the bookings queue's work, after commit

    leg = booking.legs.get()
    assert change.status == "confirmed"
    assert (leg.sailing, leg.operator_booking_ref.startswith("C")) == (later, True)
    assert [simulator.calls[a] - calls.get(a, 0) for a in ("hold", "confirm", "cancel")] == [1, 1, 1]
    assert hold_status(leg.operator_hold_ref) == "confirmed"
    assert hold_status(old_hold) == "released"
    assert not BookingChange.objects.get().remote_pending


@pytest.mark.django_db(transaction=True)
def test_a_remote_operator_refusing_the_change_leaves_the_booking_exactly_as_it_was(
    fake_stripe, remote_trip, settings, mailoutbox, eager_tasks
):
    from ferries.services import capacity_release

    settings.ADMINS = [("Ops", "ops@example.com")]
    _simulator, first, later = remote_trip
    booking = confirmed(fake_stripe, first, outbound_fare_family="flex")
    before = list(booking.legs.values())
    change = quote(booking, {"outbound_sailing_id": later.pk})
    capacity_release(hold_ref=change.new_legs[0]["hold_ref"])  # the operator let the new hold go

    change, _payment = changing.change_confirm(change=change)

    assert change.status == "failed"
    assert "refused" in change.note
    assert list(booking.legs.values()) == before
    assert hold_status(before[0]["operator_hold_ref"]) == "confirmed"
    assert taken(later) == 0
    assert any("Change of" in message.subject for message in mailoutbox)


def test_a_remote_operator_s_refusal_of_the_quote_names_its_rule(fake_stripe, remote_trip):
    _simulator, first, later = remote_trip
    booking = confirmed(fake_stripe, first)
    SailingInventory.objects.filter(sailing=later, resource=Resource.PASSENGERS).update(capacity=0)

    with pytest.raises(ChangeRefused) as refused:
        quote(booking, {"outbound_sailing_id": later.pk})

    assert (refused.value.code, refused.value.leg) == ("sold_out", "outbound")
    assert not BookingChange.objects.exists()


# --- changes on the sailing the leg holds already ------------------------------------------------------------------


def fill(sailing, *, leave: int = 0) -> None:
    SailingInventory.objects.filter(sailing=sailing, resource=Resource.PASSENGERS).update(
        capacity=taken(sailing) + leave
    )


def test_a_full_sailing_still_takes_a_change_of_fare_for_the_same_party(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], passengers=[ADULT, ADULT])
    fill(trip["back"])

    change = quote(booking, {"return_fare_family": "flex"})
    change, payment = changing.change_confirm(change=change)
    paid_through_stripe(fake_stripe, payment)
    change = changing.change_make(change_id=change.pk)

    assert change.status == "confirmed"
    assert booking.legs.get(direction="return").fare_family == "flex"
    assert taken(trip["back"]) == 2


def test_the_last_place_of_a_sailing_is_enough_to_add_a_passenger(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], outbound_fare_family="flex", return_fare_family="flex")
    fill(trip["out"], leave=1)
    fill(trip["back"], leave=1)

    change = quote(booking, {"passengers": [ADULT, {**ADULT, "first_name": "Sami"}]})
    assert (taken(trip["out"]), taken(trip["back"])) == (2, 2)  # the quote holds the one place more on each
    change, payment = changing.change_confirm(change=change)
    paid_through_stripe(fake_stripe, payment)
    changing.change_make(change_id=change.pk)

    assert booking.passengers.count() == 2
    for sailing in (trip["out"], trip["back"]):
        row = SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS)
        assert row.taken == row.capacity == 2
        holds = CapacityHold.objects.filter(sailing=sailing).exclude(status="released")
        assert [h.quantities["passengers"] for h in holds] == [2]


def test_an_expired_top_up_gives_back_only_what_it_held(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    change = quote(booking, {"passengers": [ADULT, {**ADULT, "first_name": "Sami"}]})
    BookingChange.objects.filter(pk=change.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    changing.changes_expire()

    assert (taken(trip["out"]), taken(trip["back"])) == (1, 1)
    assert set(booking.legs.values_list("changes_made", flat=True)) == {0}


def test_a_sailing_the_operator_cancels_refunds_the_fees_its_changes_cost_too(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    change = quote(booking, {"return_sailing_id": trip["later_back"].pk})  # same price, fee 15.00
    change, payment = changing.change_confirm(change=change)
    paid_through_stripe(fake_stripe, payment)
    changing.change_make(change_id=change.pk)

    cancellation = cancelling.booking_cancel(
        booking_id=booking.pk, actor="operator", reason="sailing cancelled", full_refund=True,
        cause=Refund.Cause.SAILING_CANCELLED,
    )  # fmt: skip

    assert cancellation.refund_minor == 20000 + 1500


def test_money_for_a_change_in_another_amount_makes_no_change_and_goes_back(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"])
    change = quote(booking, {"return_sailing_id": trip["later_back"].pk, "return_fare_family": "flex"})
    change, payment = changing.change_confirm(change=change)
    intent = fake_stripe.set_status(payment.intent_id, "succeeded")
    intent["amount_received"] = payment.amount_minor - 1  # the provider took another amount

    checkout.payment_reconcile(payment_id=payment.pk)

    payment.refresh_from_db()
    change.refresh_from_db()
    assert payment.status == Payment.Status.MISMATCHED
    assert change.status == "awaiting_payment"
    assert booking.legs.get(direction="return").sailing == trip["back"]
    refund = Refund.objects.get(payment=payment)
    assert (refund.cause, refund.amount_minor) == (Refund.Cause.MISMATCH, payment.amount_minor - 1)


@pytest.mark.django_db(transaction=True)
def test_a_paid_change_the_operator_refuses_is_refunded_in_full_and_staff_are_told(
    fake_stripe, remote_trip, settings, mailoutbox, eager_tasks
):
    from ferries.services import capacity_release

    settings.ADMINS = [("Ops", "ops@example.com")]
    _simulator, first, later = remote_trip
    booking = confirmed(fake_stripe, first)
    before = list(booking.legs.values())
    change = quote(booking, {"outbound_sailing_id": later.pk})
    change, payment = changing.change_confirm(change=change)
    capacity_release(hold_ref=change.new_legs[0]["hold_ref"])  # the operator let the new hold go

    paid_through_stripe(fake_stripe, payment)  # the change is made on the bookings queue: the operator refuses

    change.refresh_from_db()
    refund = Refund.objects.get(payment=payment)
    assert change.status == "failed"
    assert (refund.cause, refund.amount_minor) == (Refund.Cause.OPERATOR_REFUSED, payment.amount_minor)
    assert list(booking.legs.values()) == before
    assert any("Change of" in message.subject for message in mailoutbox)
