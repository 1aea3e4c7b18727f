"""The money rules where the race is between processes: real workers on the payments, bookings and e-mails queues,
the web process answering the traveller's app and Stripe's webhooks at the same moment, Stripe answered locally.

Each test starts both sides of a race together, for several bookings, and asserts what must hold whichever side
won: money taken for a booking that was never sold goes back in full; a booking sold and then cancelled gives back
what its fare allows; Stripe never refunds more than it took; every payment that took money was acted on.
"""

import datetime as dt
import threading
import time

import pytest
import requests

from bookings.access import access_token
from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.tests.factories import held_booking
from ferries.tests.factories import sailing_factory
from payments.models import Payment, Refund, WebhookEvent
from payments.tests.conftest import STRIPE_KEYS, signed, stripe_event

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BOOKINGS = 4


@pytest.fixture
def stack(celery_worker_process, fake_stripe, live_server):
    """Workers for every queue, talking to the same (local) Stripe as the web process; staff alerts on."""
    env = {**STRIPE_KEYS, "STRIPE_API_BASE": fake_stripe.url, "ADMINS": "Operations <ops@example.com>"}
    for queues in ("payments", "bookings,emails"):
        celery_worker_process(queues, **env)
    return live_server


def at_once(*actions) -> None:
    start = threading.Barrier(len(actions))

    def run(action):
        start.wait()
        action()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def webhook(site, kind: str, obj: dict):
    def send():
        payload = stripe_event(kind, obj)
        headers = {"Stripe-Signature": signed(payload)["HTTP_STRIPE_SIGNATURE"], "Content-Type": "application/json"}
        assert requests.post(f"{site.url}/webhooks/stripe", data=payload, headers=headers, timeout=30).ok

    return send


def app_cancels(site, booking):
    def send():
        headers = {"X-Booking-Token": access_token(booking)}
        url = f"{site.url}/api/v1/bookings/{booking.reference}/cancel"
        assert requests.post(url, headers=headers, timeout=30).status_code == 200

    return send


def settled(condition, *, timeout: float = 90, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}")
        time.sleep(0.25)


def refunded_at_stripe(fake_stripe, payment: Payment) -> int:
    return sum(r["amount"] for r in fake_stripe.refunds.values() if r["payment_intent"] == payment.intent_id)


def statuses(booking: Booking) -> list[str]:
    return list(booking.events.order_by("pk").values_list("to_status", flat=True))


def nothing_in_flight() -> bool:
    return (
        not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
        and not Refund.objects.filter(status__in=[Refund.Status.PENDING, Refund.Status.REQUESTED]).exists()
    )


def test_a_payment_and_a_cancellation_at_once_never_keep_money_for_a_booking_that_was_not_sold(stack, fake_stripe):
    # Three days ahead the fare gives half back: a booking cancelled after it was paid refunds half, one cancelled
    # before its payment arrived refunds everything.
    bookings = [held_booking(sailing_factory(departs_in=dt.timedelta(days=3))) for _ in range(BOOKINGS)]
    payments = [payment_open(booking_id=booking.pk) for booking in bookings]
    intents = [fake_stripe.set_status(payment.intent_id, "succeeded") for payment in payments]

    for booking, intent in zip(bookings, intents, strict=True):
        at_once(webhook(stack, "payment_intent.succeeded", intent), app_cancels(stack, booking))
    settled(
        lambda: nothing_in_flight() and all(Payment.objects.get(pk=p.pk).settled_at for p in payments),
        what="every event processed and every refund made",
    )

    for booking, payment in zip(bookings, payments, strict=True):
        booking.refresh_from_db()
        history = statuses(booking)
        sold = "paid" in history
        assert booking.status in {Booking.Status.CANCELLED, Booking.Status.REFUNDED}, history
        expected = payment.amount_minor // 2 if sold else payment.amount_minor
        assert refunded_at_stripe(fake_stripe, payment) == expected, (history, fake_stripe.refunds)
        assert Refund.objects.filter(payment=payment, status=Refund.Status.SUCCEEDED).count() == 1


def test_a_payment_arriving_as_its_hold_expires_pays_the_booking_or_goes_back(stack, fake_stripe):
    bookings = [held_booking() for _ in range(BOOKINGS)]
    payments = [payment_open(booking_id=booking.pk) for booking in bookings]
    intents = [fake_stripe.set_status(payment.intent_id, "succeeded") for payment in payments]
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(hold_expires_at="2000-01-01T00:00:00Z")

    def expiry_runs():
        from bookings.tasks import expire_holds_task

        expire_holds_task.delay()

    for intent in intents:
        at_once(webhook(stack, "payment_intent.succeeded", intent), expiry_runs)
    settled(
        lambda: (
            nothing_in_flight()
            and all(Payment.objects.get(pk=p.pk).settled_at for p in payments)
            and not Booking.objects.filter(pk__in=[b.pk for b in bookings], status=Booking.Status.PAID).exists()
        ),
        what="every payment acted on and every paid booking confirmed",
    )

    for booking, payment in zip(bookings, payments, strict=True):
        booking.refresh_from_db()
        # The places were free again: whichever came first, the money pays for the booking and nothing goes back.
        assert booking.status == Booking.Status.CONFIRMED, statuses(booking)
        assert refunded_at_stripe(fake_stripe, payment) == 0


def test_a_refund_in_the_stripe_dashboard_and_a_cancellation_at_once_refund_once(stack, fake_stripe):
    bookings = [held_booking() for _ in range(BOOKINGS)]
    payments = []
    for booking in bookings:
        payment = payment_open(booking_id=booking.pk)
        webhook(stack, "payment_intent.succeeded", fake_stripe.set_status(payment.intent_id, "succeeded"))()
        payments.append(payment)
    settled(lambda: Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == BOOKINGS, what="all confirmed")

    for booking, payment in zip(bookings, payments, strict=True):
        made = fake_stripe.dashboard_refund(payment.intent_id, payment.amount_minor)
        at_once(webhook(stack, "refund.created", made), app_cancels(stack, booking))
    settled(nothing_in_flight, what="every event processed and every refund answered")

    for booking, payment in zip(bookings, payments, strict=True):
        booking.refresh_from_db()
        assert booking.status == Booking.Status.REFUNDED, statuses(booking)
        assert refunded_at_stripe(fake_stripe, payment) == payment.amount_minor, "never more than was taken"
        made = Refund.objects.filter(payment=payment, status=Refund.Status.SUCCEEDED)
        assert sum(made.values_list("amount_minor", flat=True)) == payment.amount_minor


def test_a_payment_of_another_amount_and_a_dispute_are_acted_on_by_the_payments_worker(stack, fake_stripe):
    short, disputed = held_booking(), held_booking()
    short_payment, disputed_payment = payment_open(booking_id=short.pk), payment_open(booking_id=disputed.pk)
    short_intent = fake_stripe.set_status(short_payment.intent_id, "succeeded")
    short_intent["amount"] = short_intent["amount_received"] = 100
    webhook(stack, "payment_intent.succeeded", fake_stripe.set_status(disputed_payment.intent_id, "succeeded"))()
    settled(lambda: Booking.objects.get(pk=disputed.pk).status == Booking.Status.CONFIRMED, what="confirmed")

    at_once(
        webhook(stack, "payment_intent.succeeded", short_intent),
        webhook(stack, "charge.dispute.created", fake_stripe.open_dispute(disputed_payment.intent_id)),
        webhook(stack, "payment_intent.succeeded", {"id": "pi_unknown_to_all"}),
    )
    settled(nothing_in_flight, what="every event processed or closed")

    assert Booking.objects.get(pk=short.pk).status == Booking.Status.HELD
    assert Payment.objects.get(pk=short_payment.pk).status == Payment.Status.MISMATCHED
    assert refunded_at_stripe(fake_stripe, short_payment) == 100
    assert disputed_payment.disputes.get().status == "needs_response"
    closed = WebhookEvent.objects.get(payload__data__object__id="pi_unknown_to_all")
    assert closed.outcome.startswith("closed after 5 attempts")
