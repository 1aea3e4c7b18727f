"""Fault 6 — Stripe sends twenty events at once about one payment: duplicates, and out of order.

payments/tests/test_webhooks.py shows it with threads in one process. Here the deliveries go through gunicorn
and the events are processed by real workers — four pool processes in two workers — whose fetches from Stripe
are answered together, so that they reach the database at the same moment. Each event is only a trigger to
fetch the PaymentIntent again; the row locks on the payment and the booking make one effect of all of them.

The window in which two workers could both take the payment as new lasts milliseconds; the test widens it: it
holds the booking's row lock itself while the events arrive, until every worker waits on a lock, so that all of
their transactions have read what they read before any of them commits.
"""

import random
import threading

import pytest
import requests
from django.db import connection, transaction

from bookings.models import Booking
from faults.conftest import stripe_env
from faults.processes import wait_for
from faults.scenarios import assert_queued_soon, paid_at_stripe, signed_event, statuses
from notifications.models import Email
from payments.models import Payment, Refund, WebhookEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# What Stripe may send about one payment, in any order; "payment_failed" is a stale one (an earlier card
# declined), and "charge.succeeded" is about the payment's charge, which names its PaymentIntent.
KINDS = [
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.succeeded",
]
INTENT_EVENTS = [kind for kind in KINDS if kind.startswith("payment_intent.")]
DELIVERIES_OF_EACH = 4  # 5 events × 4 = 20 deliveries


def waiting_on_locks() -> int:
    """Sessions of this database waiting for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is read once per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def deliver_at_once(site, deliveries: list[tuple[str, str]]) -> list[requests.Response]:
    start = threading.Barrier(len(deliveries))
    answers: list[requests.Response | None] = [None] * len(deliveries)

    def stripe_sends(i: int, payload: str, signature: str) -> None:
        headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
        start.wait()
        answers[i] = requests.post(f"{site.url}/webhooks/stripe", data=payload, headers=headers, timeout=30)

    threads = [threading.Thread(target=stripe_sends, args=(i, *d)) for i, d in enumerate(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_twenty_duplicate_and_reordered_stripe_events_at_once_pay_the_booking_once(slow_stripe, web, workers, broker):
    booking, payment, intent = paid_at_stripe(slow_stripe)
    site = web(**stripe_env(slow_stripe))
    for name in ("one", "two"):
        workers("payments", name=name, concurrency=2, **stripe_env(slow_stripe))
    slow_stripe.gate(len(INTENT_EVENTS), timeout=3)  # as many as there are pool processes
    charge = {"id": "ch_storm", "object": "charge", "payment_intent": intent["id"]}
    events = [
        signed_event(charge if kind.startswith("charge.") else intent, kind=kind, event_id=f"evt_storm_{i}")
        for i, kind in enumerate(KINDS)
    ]
    deliveries = events * DELIVERIES_OF_EACH
    random.Random(20).shuffle(deliveries)

    with transaction.atomic():
        Booking.objects.select_for_update().get(pk=booking.pk)
        answers = deliver_at_once(site, deliveries)
        wait_for(lambda: waiting_on_locks() >= len(INTENT_EVENTS), timeout=30, what="every worker waiting on a lock")

    assert [answer.status_code for answer in answers] == [200] * len(deliveries)
    assert sum(not answer.json()["duplicate"] for answer in answers) == len(KINDS)
    wait_for(
        lambda: WebhookEvent.objects.filter(processed_at__isnull=False).count() == len(KINDS),
        timeout=60,
        what="every event processed",
    )
    booking = Booking.objects.get(pk=booking.pk)
    assert statuses(booking) == ["held", "paid"]
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert not Refund.objects.exists(), "a payment taken as new twice is refunded the second time"
    assert list(Email.objects.values_list("kind", flat=True)) == [Email.Kind.PAYMENT_SUCCESS]
    assert_queued_soon(broker, {"bookings": 1, "emails": 1})  # one confirmation, one receipt
    # Each event fetched the PaymentIntent at most once: those that reached a worker before the payment was settled
    # (every worker waited on the lock with its fetch made), not those processed after it (nothing left to learn).
    assert len(INTENT_EVENTS) <= slow_stripe.fetches <= len(KINDS)
