"""The money rules, whatever the order of events and whichever the provider:

- money taken for a booking that cannot be honoured goes back in full by itself; the traveller is told, staff too;
- the provider's amount and currency are compared with ours before anything is confirmed;
- refunds and disputes made at Stripe, outside Maritime, are recorded and acted on;
- the refund promised (page, API, e-mail) is the refund made.
"""

import datetime as dt

import pytest
import stripe
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.flows import cancelling, expiry, quotes, refunds, stripe_events, sweeps
from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.services import booking_transition
from bookings.tests.factories import held_booking, pay
from ferries.models import SailingInventory
from ferries.tests.factories import VesselFactory, sailing_factory
from notifications.models import Email
from notifications.rendering import build_message
from payments.models import DemoIntent, Payment, Refund, WebhookEvent
from payments.tasks import cancel_open_payments_task
from payments.tests.conftest import card, signed, stripe_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(settings):
    settings.ADMINS = [("Operations", "ops@example.com")]


def alerts() -> list[str]:
    return list(Email.objects.filter(kind=Email.Kind.STAFF_ALERT).values_list("details__subject", flat=True))


def refunds_of(booking: Booking) -> list[tuple[int, str, str]]:
    rows = Refund.objects.filter(payment__booking=booking).order_by("pk")
    return [(refund.amount_minor, refund.cause, refund.status) for refund in rows]


def text_of(booking: Booking, kind: str) -> str:
    return build_message(Email.objects.get(booking=booking, kind=kind))[2]


def succeed_at_provider(payment: Payment, fake_stripe=None) -> None:
    """The traveller's card is charged at the provider; no webhook has been seen yet."""
    if fake_stripe is not None:
        fake_stripe.set_status(payment.intent_id, "succeeded")
    else:
        DemoIntent.objects.filter(intent_id=payment.intent_id).update(status="succeeded")


def deliver(kind: str, obj: dict) -> None:
    """Stripe's signed event through the webhook endpoint (processed at once by the eager tasks)."""
    payload = stripe_event(kind, obj)
    assert Client().post("/webhooks/stripe", data=payload, **signed(payload)).status_code == 200


# --- money taken for a booking that can no longer be sold -----------------------------------------


@pytest.mark.parametrize("provider", ["stripe", "demo"])
def test_a_payment_that_succeeds_while_the_traveller_cancels_is_refunded_in_full(provider, request, staff, eager_tasks):
    fake_stripe = request.getfixturevalue("fake_stripe") if provider == "stripe" else None
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    succeed_at_provider(payment, fake_stripe)

    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REFUNDED
    assert refunds_of(booking) == [(booking.total_minor, Refund.Cause.NOT_HONOURED, Refund.Status.SUCCEEDED)]
    assert f"Payment for {booking.reference} refunded" in alerts()
    assert "no refund is due" not in text_of(booking, Email.Kind.CANCELLATION)
    assert "refunded all of it, €" in text_of(booking, Email.Kind.REFUND)


def test_a_payment_that_succeeds_as_the_hold_expires_pays_the_booking_while_its_places_are_free(
    fake_stripe, broker, eager_tasks
):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    succeed_at_provider(payment, fake_stripe)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))

    expiry.bookings_expire()

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert refunds_of(booking) == []


def test_a_payment_that_succeeds_as_the_hold_expires_is_refunded_when_its_places_were_sold(
    fake_stripe, broker, staff, tunis_marseille
):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(passenger_capacity=1))
    booking = held_booking(sailing)
    payment = payment_open(booking_id=booking.pk)
    succeed_at_provider(payment, fake_stripe)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    expiry.bookings_expire()  # its intent is to be cancelled, on the payments queue
    held_booking(sailing)  # meanwhile someone else takes the only place

    cancel_open_payments_task.apply(kwargs={"booking_id": booking.pk})

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert refunds_of(booking) == [(booking.total_minor, Refund.Cause.NOT_HONOURED, Refund.Status.PENDING)]
    assert f"Payment for {booking.reference} refunded" in alerts()
    assert broker.queue_length("payments") >= 1, "the refund is on its way to Stripe"


def test_the_sweeper_gives_back_money_taken_for_a_booking_that_ended_without_it(fake_stripe, staff, eager_tasks):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    succeed_at_provider(payment, fake_stripe)
    # The payment recorded as succeeded, the booking cancelled, and nothing done about the money (a process died).
    booking_transition(booking_id=booking.pk, to=Booking.Status.CANCELLED, actor="traveller", reason="gone")
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.SUCCEEDED, updated_at=timezone.now() - dt.timedelta(minutes=10)
    )

    sweeps.payments_sweep()

    booking.refresh_from_db()
    assert refunds_of(booking) == [(booking.total_minor, Refund.Cause.NOT_HONOURED, Refund.Status.SUCCEEDED)]
    assert booking.status == Booking.Status.REFUNDED
    assert [refund["amount"] for refund in fake_stripe.refunds.values()] == [booking.total_minor]


def test_the_sweeper_cancels_intents_left_open_on_a_booking_that_can_no_longer_be_paid(fake_stripe, eager_tasks):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    booking_transition(booking_id=booking.pk, to=Booking.Status.CANCELLED, actor="traveller", reason="gone")
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=10))

    sweeps.payments_sweep()

    assert fake_stripe.intents[payment.intent_id]["status"] == "canceled"
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.CANCELED


# --- the provider's amount and currency -------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_taken", "currency_taken"), [(-5000, "eur"), (0, "usd")], ids=["less than the price", "another currency"]
)
def test_a_payment_not_of_the_bookings_price_confirms_nothing_and_is_refunded(
    fake_stripe, staff, eager_tasks, admin_client, amount_taken, currency_taken
):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    intent = fake_stripe.set_status(payment.intent_id, "succeeded")
    intent["amount"] = intent["amount_received"] = booking.total_minor + amount_taken
    intent["currency"] = currency_taken

    deliver("payment_intent.succeeded", intent)

    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == Booking.Status.HELD, "nothing is confirmed"
    assert payment.status == Payment.Status.MISMATCHED
    assert refunds_of(booking) == [(intent["amount"], Refund.Cause.MISMATCH, Refund.Status.SUCCEEDED)]
    assert Refund.objects.get().currency == currency_taken.upper()
    assert f"Payment for {booking.reference} refunded" in alerts()
    page = admin_client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()
    assert "Amount not ours: refunded" in page
    assert "the booking&#x27;s price is" in page


def test_the_demo_provider_checks_the_amount_too(staff, eager_tasks):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    DemoIntent.objects.filter(intent_id=payment.intent_id).update(amount_minor=100)
    response = APIClient().post(
        f"/api/v1/payments/demo/{payment.intent_id}/card",
        card(),
        format="json",
        HTTP_X_BOOKING_TOKEN=access_token(booking),
    )

    assert response.json()["status"] == Payment.Status.MISMATCHED
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
    assert refunds_of(booking) == [(100, Refund.Cause.MISMATCH, Refund.Status.SUCCEEDED)]


# --- refunds and disputes made at Stripe --------------------------------------------------------------


def test_a_part_refund_made_in_the_stripe_dashboard_is_recorded_and_lowers_what_is_promised(
    fake_stripe, staff, eager_tasks
):
    booking = held_booking()
    payment = pay(fake_stripe, booking)
    made = fake_stripe.dashboard_refund(payment.intent_id, 3000)

    deliver("refund.created", made)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert refunds_of(booking) == [(3000, Refund.Cause.PROVIDER, Refund.Status.SUCCEEDED)]
    assert quotes.booking_refund_quote(booking=booking).amount_minor == booking.total_minor - 3000
    assert "€30.00" in text_of(booking, Email.Kind.REFUND)
    assert f"Refund made in Stripe for {booking.reference}" in alerts()

    cancellation = cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    assert cancellation.refund_minor == booking.total_minor - 3000
    assert sum(refund["amount"] for refund in fake_stripe.refunds.values()) == booking.total_minor


def test_a_refund_of_everything_in_the_stripe_dashboard_cancels_the_booking_and_frees_its_places(
    fake_stripe, staff, eager_tasks
):
    booking = held_booking()
    payment = pay(fake_stripe, booking)
    sailing = booking.legs.get().sailing
    fake_stripe.dashboard_refund(payment.intent_id, booking.total_minor)

    deliver("charge.refunded", {"id": "ch_1", "object": "charge", "payment_intent": payment.intent_id})

    booking.refresh_from_db()
    assert booking.status == Booking.Status.REFUNDED
    assert list(booking.events.values_list("to_status", flat=True))[-2:] == ["cancelled", "refunded"]
    assert refunds_of(booking) == [(booking.total_minor, Refund.Cause.PROVIDER, Refund.Status.SUCCEEDED)]
    assert len(fake_stripe.refunds) == 1, "nothing refunded twice"
    assert SailingInventory.objects.get(sailing=sailing, resource="passengers").taken == 0
    assert Email.objects.get(booking=booking, kind=Email.Kind.CANCELLATION).details["refunded_before_minor"] == 10000
    assert "was already refunded" in text_of(booking, Email.Kind.CANCELLATION)


def test_our_own_refund_reported_before_its_id_was_stored_is_not_taken_for_a_dashboard_refund(
    fake_stripe, broker, staff
):
    booking = held_booking()
    payment = pay(fake_stripe, booking)
    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")
    fake_stripe.drop_next = 3  # Stripe makes the refund; its answer is lost, and so are the SDK's two retries
    with pytest.raises(stripe.APIConnectionError):
        refunds.refund_send(refund_id=Refund.objects.get().pk)
    made = next(iter(fake_stripe.refunds.values()))

    deliver("refund.created", made)
    stripe_events.payment_event_process(event_id=WebhookEvent.objects.get().event_id)

    assert refunds_of(booking) == [(payment.amount_minor, Refund.Cause.CANCELLATION, Refund.Status.SUCCEEDED)]
    assert Refund.objects.get().refund_id == made["id"]
    assert not [subject for subject in alerts() if "Refund made in Stripe" in subject]


def test_a_refund_stripe_refuses_because_the_dashboard_gave_everything_back_asks_nothing_of_staff(
    fake_stripe, staff, eager_tasks
):
    booking = held_booking()
    payment = pay(fake_stripe, booking)
    fake_stripe.dashboard_refund(payment.intent_id, booking.total_minor)  # its event is still on its way

    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    booking.refresh_from_db()
    assert refunds_of(booking) == [
        (booking.total_minor, Refund.Cause.CANCELLATION, Refund.Status.FAILED),
        (booking.total_minor, Refund.Cause.PROVIDER, Refund.Status.SUCCEEDED),
    ]
    assert booking.status == Booking.Status.REFUNDED
    assert not [subject for subject in alerts() if subject.startswith("Refund ") and "failed" in subject]
    assert len(fake_stripe.refunds) == 1


def test_a_dispute_is_recorded_flagged_for_staff_with_its_deadline_and_holds_its_amount(
    fake_stripe, staff, eager_tasks, admin_client
):
    booking = held_booking()
    payment = pay(fake_stripe, booking)
    dispute = fake_stripe.open_dispute(payment.intent_id)

    deliver("charge.dispute.created", dispute)
    booking.refresh_from_db()

    due = dt.datetime.fromtimestamp(dispute["evidence_details"]["due_by"], dt.UTC)
    alert = Email.objects.get(kind=Email.Kind.STAFF_ALERT, details__subject__startswith="Dispute")
    assert alert.details["subject"] == f"Dispute {dispute['id']} on {booking.reference}: needs_response"
    assert f"by {due:%Y-%m-%d %H:%M} UTC" in alert.details["message"]
    flagged = admin_client.get("/admin/bookings/booking/?disputed=open").content.decode()
    assert booking.reference in flagged
    assert "Disputed" in flagged
    quote = quotes.booking_refund_quote(booking=booking)
    assert (quote.amount_minor, quote.reason) == (0, "disputed")

    dispute["status"] = "won"
    deliver("charge.dispute.closed", dispute)

    assert f"Dispute {dispute['id']} on {booking.reference}: won" in alerts()
    assert booking.reference not in admin_client.get("/admin/bookings/booking/?disputed=open").content.decode()
    assert quotes.booking_refund_quote(booking=booking).amount_minor == booking.total_minor


# --- one refund number everywhere ---------------------------------------------------------------------


def test_after_a_staff_part_refund_every_place_promises_and_cancelling_refunds_the_rest(fake_stripe, eager_tasks):
    booking = held_booking()
    pay(fake_stripe, booking)
    refunds.booking_refund(booking_id=booking.pk, amount_minor=5000, reason="goodwill", actor="staff:1", key="g")
    rest = booking.total_minor - 5000
    api = APIClient(HTTP_X_BOOKING_TOKEN=access_token(booking))
    browser = Client()
    session = browser.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()

    promised_by_api = api.get(f"/api/v1/bookings/{booking.reference}").json()["refund_if_cancelled_now"]
    promised_on_page = browser.get(f"/bookings/{booking.reference}/cancel").content.decode()
    answered = api.post(f"/api/v1/bookings/{booking.reference}/cancel").json()["refund"]

    assert promised_by_api["amount_minor"] == rest
    assert promised_by_api["reason"] == "reduced_by_refunds"
    assert f"€{rest / 100:.2f}" in promised_on_page
    assert answered == {"amount_minor": rest, "currency": "EUR"}
    assert refunds_of(booking)[-1] == (rest, Refund.Cause.CANCELLATION, Refund.Status.SUCCEEDED)
    assert f"refunded €{rest / 100:.2f}" in text_of(booking, Email.Kind.CANCELLATION).replace("\n", " ")


def test_a_booking_no_longer_travelling_promises_nothing_and_says_why(fake_stripe, eager_tasks):
    booking = held_booking()
    pay(fake_stripe, booking)
    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")
    api = APIClient(HTTP_X_BOOKING_TOKEN=access_token(booking))

    promised = api.get(f"/api/v1/bookings/{booking.reference}").json()["refund_if_cancelled_now"]

    assert (promised["amount_minor"], promised["reason"]) == (0, "not_active")
    assert promised["message"]
