"""Stripe webhooks: verified, stored once, processed once on the payments queue, whatever Stripe's order."""

import datetime as dt
import json
import threading
import time

import pytest
import stripe
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookings.flows import expiry, stripe_events, sweeps
from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.tests.factories import held_booking
from ferries.tests.factories import VesselFactory, sailing_factory
from notifications.models import Email
from payments.models import Payment, Refund, WebhookEvent
from payments.tasks import process_payment_webhook_task
from payments.tests.conftest import signed, stripe_event


def post_event(client, payload: str, **signing):
    return client.post("/webhooks/stripe", data=payload, **signed(payload, **signing))


@pytest.fixture
def started(fake_stripe):
    """A held booking whose PaymentIntent exists at (fake) Stripe."""
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    return booking, payment


def pay(fake_stripe, payment) -> dict:
    return fake_stripe.set_status(payment.intent_id, "succeeded")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("signing", "reason"),
    [
        ({"secret": "whsec_wrong_" + "x" * 20}, "wrong secret"),
        ({"timestamp": int(time.time()) - 3600}, "timestamp older than the tolerance"),
    ],
)
def test_an_event_not_signed_by_stripe_is_refused_and_not_stored(client, fake_stripe, signing, reason):
    payload = stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})

    response = post_event(client, payload, **signing)

    assert response.status_code == 400, reason
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_an_unsigned_or_garbled_event_is_refused(client, fake_stripe, broker):
    unsigned = client.post("/webhooks/stripe", data="{}", content_type="application/json")
    garbled = client.post("/webhooks/stripe", data="not json", **signed("not json"))

    assert (unsigned.status_code, garbled.status_code) == (400, 400)
    assert "Invalid Stripe webhook" in unsigned.json()["error"]
    assert WebhookEvent.objects.count() == 0
    assert broker.queue_length("payments") == 0


@pytest.mark.django_db(transaction=True)
def test_a_valid_event_is_stored_acknowledged_and_queued_on_the_payments_queue(client, fake_stripe, broker):
    payload = stripe_event("payment_intent.created", {"id": "pi_123", "object": "payment_intent"}, event_id="evt_1")

    response = post_event(client, payload)

    assert response.status_code == 200
    assert response.json() == {"received": "evt_1", "duplicate": False}
    assert WebhookEvent.objects.get().type == "payment_intent.created"
    assert broker.queue_length("payments") == 1


def test_webhooks_need_no_csrf_token(fake_stripe, db):
    payload = stripe_event("payment_intent.created", {"id": "pi_1", "object": "payment_intent"})

    response = Client(enforce_csrf_checks=True).post("/webhooks/stripe", data=payload, **signed(payload))

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_same_event_twenty_times_at_once_has_one_effect(fake_stripe, started, broker, live_server):
    import requests

    booking, payment = started
    intent = pay(fake_stripe, payment)
    payload = stripe_event("payment_intent.succeeded", intent, event_id="evt_same")
    headers = {"Stripe-Signature": signed(payload)["HTTP_STRIPE_SIGNATURE"], "Content-Type": "application/json"}
    start = threading.Barrier(20)
    answers = []

    def stripe_delivers():
        start.wait()
        answers.append(requests.post(f"{live_server.url}/webhooks/stripe", data=payload, headers=headers, timeout=30))

    def worker_processes():
        start.wait()
        try:
            stripe_events.payment_event_process(event_id="evt_same")
        finally:
            connection.close()

    deliveries = [threading.Thread(target=stripe_delivers) for _ in range(20)]
    for thread in deliveries:
        thread.start()
    for thread in deliveries:
        thread.join()
    start.reset()
    processors = [threading.Thread(target=worker_processes) for _ in range(20)]
    for thread in processors:
        thread.start()
    for thread in processors:
        thread.join()

    assert [a.status_code for a in answers] == [200] * 20
    assert sum(1 for a in answers if not a.json()["duplicate"]) == 1
    assert WebhookEvent.objects.filter(event_id="evt_same").count() == 1
    assert broker.queue_length("payments") == 1, "processing enqueued once"
    booking.refresh_from_db()
    assert list(booking.events.values_list("to_status", flat=True)) == ["held", "paid"]
    assert broker.queue_length("bookings") == 1, "one confirmation with the operator queued"
    assert broker.queue_length("emails") == 1, "one receipt queued"
    assert list(booking.emails.values_list("kind", flat=True)) == ["payment_success"]


@pytest.mark.django_db(transaction=True)
def test_events_out_of_order_leave_the_booking_paid(client, fake_stripe, started, broker):
    booking, payment = started
    intent = pay(fake_stripe, payment)
    for kind, event_id in [
        ("payment_intent.succeeded", "evt_a"),
        ("payment_intent.created", "evt_b"),
        ("payment_intent.payment_failed", "evt_c"),  # a stale failure, delivered last
    ]:
        post_event(client, stripe_event(kind, intent, event_id=event_id))
        stripe_events.payment_event_process(event_id=event_id)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.PAID
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert booking.events.filter(to_status="paid").count() == 1
    assert WebhookEvent.objects.filter(processed_at__isnull=False).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_declined_card_is_recorded_and_the_traveller_can_try_again(client, fake_stripe, started, broker):
    booking, payment = started
    intent = fake_stripe.set_status(payment.intent_id, "requires_payment_method", "Your card was declined.")

    post_event(client, stripe_event("payment_intent.payment_failed", intent, event_id="evt_f"))
    stripe_events.payment_event_process(event_id="evt_f")

    payment.refresh_from_db()
    assert (payment.status, payment.last_error) == (Payment.Status.FAILED, "Your card was declined.")
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
    assert payment_open(booking_id=booking.pk).intent_id == payment.intent_id, "the same intent takes another card"


@pytest.mark.django_db(transaction=True)
def test_money_for_a_hold_that_expired_and_was_resold_is_refunded_automatically(
    client, fake_stripe, eager_tasks, tunis_marseille, settings, mailoutbox
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(passenger_capacity=1))
    late = held_booking(sailing)
    payment = payment_open(booking_id=late.pk)
    Booking.objects.filter(pk=late.pk).update(hold_expires_at="2000-01-01T00:00:00Z")
    expiry.bookings_expire()
    held_booking(sailing)  # someone else takes the only place
    intent = pay(fake_stripe, Payment.objects.get(pk=payment.pk))

    post_event(client, stripe_event("payment_intent.succeeded", intent, event_id="evt_late"))
    stripe_events.payment_event_process(event_id="evt_late")

    late.refresh_from_db()
    refund = Refund.objects.get()
    assert late.status == Booking.Status.REFUNDED
    assert (refund.amount_minor, refund.status) == (payment.amount_minor, Refund.Status.SUCCEEDED)
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [payment.amount_minor]
    assert list(late.events.values_list("to_status", flat=True)) == ["held", "expired", "cancelled", "refunded"]
    assert any("refunded" in m.subject for m in mailoutbox)


@pytest.mark.django_db(transaction=True)
def test_money_for_an_expired_hold_whose_places_are_free_pays_the_booking(client, fake_stripe, started, eager_tasks):
    booking, payment = started
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at="2000-01-01T00:00:00Z")
    expiry.bookings_expire()
    intent = pay(fake_stripe, payment)

    post_event(client, stripe_event("payment_intent.succeeded", intent, event_id="evt_ok"))
    stripe_events.payment_event_process(event_id="evt_ok")

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert Refund.objects.count() == 0


# --- what Stripe's signature does not vouch for ---------------------------------------------------

EVENT = {"id": "evt_odd", "object": "event", "type": "payment_intent.created", "data": {"object": {"id": "pi_1"}}}
ODD_BODIES = {
    "a list": "[]",
    "a string": '"x"',
    "an empty object": "{}",
    "no type": json.dumps({k: v for k, v in EVENT.items() if k != "type"}),
    "no object": json.dumps({**EVENT, "data": {}}),
    "an id longer than its column": json.dumps({**EVENT, "id": "evt_" + "x" * 80}),
    "a type longer than its column": json.dumps({**EVENT, "type": "payment_intent." + "x" * 80}),
    "nested 5,000 levels": '{"id": "evt_deep", "type": "a.b", "data": {"object": ' + "[" * 5000 + "]" * 5000 + "}}",
}


@pytest.mark.django_db
@pytest.mark.parametrize("body", ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_a_signed_body_that_is_not_an_event_we_can_keep_is_refused_and_not_stored(client, fake_stripe, broker, body):
    response = post_event(client, body)

    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid Stripe webhook: ")
    assert WebhookEvent.objects.count() == 0
    assert broker.queue_length("payments") == 0


@pytest.mark.django_db
def test_a_signed_event_with_a_nul_character_is_kept_without_it(client, fake_stripe, broker):
    payload = stripe_event("payment_intent.created", {"id": "pi_1", "description": "a\u0000b"}, event_id="evt_nul")

    response = post_event(client, payload)

    assert response.status_code == 200
    assert WebhookEvent.objects.get(event_id="evt_nul").payload["data"]["object"]["description"] == "a\ufffdb"


@pytest.mark.django_db
def test_an_event_signed_for_later_than_the_tolerance_is_refused(client, fake_stripe):
    payload = stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})

    response = post_event(client, payload, timestamp=int(time.time()) + 3600)

    assert response.status_code == 400
    assert "timestamp in the future" in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


@pytest.fixture
def staff(settings):
    settings.ADMINS = [("Operations", "ops@example.com")]


def staff_alerts() -> list[str]:
    return list(Email.objects.filter(kind=Email.Kind.STAFF_ALERT).values_list("details__subject", flat=True))


def process(event_id: str) -> None:
    """As a payments worker runs it: its retries in this process, one after the other."""
    process_payment_webhook_task.apply(kwargs={"event_id": event_id})


@pytest.mark.django_db(transaction=True)
def test_an_event_about_an_intent_stripe_does_not_know_is_tried_a_few_times_then_closed(
    client, fake_stripe, broker, staff
):
    post_event(client, stripe_event("payment_intent.succeeded", {"id": "pi_nobody"}, event_id="evt_nobody"))

    process("evt_nobody")

    event = WebhookEvent.objects.get(event_id="evt_nobody")
    assert event.processed_at is not None
    assert event.attempts == stripe_events.WEBHOOK_ATTEMPTS
    assert event.outcome.startswith(f"closed after {stripe_events.WEBHOOK_ATTEMPTS} attempts: Stripe: ")
    assert "Stripe event evt_nobody not ours" in staff_alerts()
    WebhookEvent.objects.update(received_at=timezone.now() - dt.timedelta(hours=1))
    assert sweeps.payments_sweep() == 0, "not enqueued again every few minutes"


@pytest.mark.django_db(transaction=True)
def test_an_event_about_an_intent_that_is_not_ours_is_closed_without_alarm(client, fake_stripe, broker, staff):
    theirs = stripe.StripeClient("sk_test_" + "k" * 24, base_addresses={"api": fake_stripe.url})
    intent = theirs.v1.payment_intents.create({"amount": 500, "currency": "eur"}).to_dict()

    post_event(client, stripe_event("payment_intent.created", intent, event_id="evt_theirs"))
    process("evt_theirs")

    event = WebhookEvent.objects.get(event_id="evt_theirs")
    assert event.processed_at is not None
    assert (
        event.outcome
        == f"closed after {stripe_events.WEBHOOK_ATTEMPTS} attempts: no payment of ours for {intent['id']}"
    )
    assert staff_alerts() == []


@pytest.mark.django_db(transaction=True)
def test_an_event_type_we_do_not_act_on_is_recorded_and_staff_are_told(client, fake_stripe, broker, staff):
    post_event(client, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_cus"))

    process("evt_cus")

    event = WebhookEvent.objects.get(event_id="evt_cus")
    assert event.processed_at is not None
    assert event.outcome.startswith("not handled")
    assert staff_alerts() == ["Stripe event type customer.created not handled"]


@pytest.mark.django_db(transaction=True)
def test_a_charge_event_is_news_of_its_payment_intent(client, fake_stripe, started, broker):
    booking, payment = started
    pay(fake_stripe, payment)
    charge = {"id": "ch_1", "object": "charge", "payment_intent": payment.intent_id}

    post_event(client, stripe_event("charge.succeeded", charge, event_id="evt_charge"))
    stripe_events.payment_event_process(event_id="evt_charge")

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.PAID
    assert WebhookEvent.objects.get(event_id="evt_charge").outcome == "handled"
