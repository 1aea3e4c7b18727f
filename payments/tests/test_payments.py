"""Starting payments, refunds and the sweepers, with the real stripe SDK against Stripe's API answered locally."""

import datetime as dt

import pytest
import redis
from django.utils import timezone

from bookings.flows import cancelling, checkout, refunds, stripe_events, sweeps
from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.services import PaymentNotAllowed
from bookings.tests.factories import held_booking
from conftest import KEY_PREFIX
from ferries.models import Sailing
from ferries.tests.factories import sailing_factory
from payments.models import Payment, Refund, WebhookEvent
from payments.tests.conftest import signed, stripe_event


@pytest.mark.django_db
def test_a_payment_intent_is_created_for_the_server_price_with_the_booking_in_metadata(fake_stripe):
    booking = held_booking()

    payment = payment_open(booking_id=booking.pk)

    intent = fake_stripe.intents[payment.intent_id]
    assert (intent["amount"], intent["currency"]) == (booking.total_minor, "eur")
    assert intent["metadata"] == {"booking_id": str(booking.pk), "booking_reference": booking.reference}
    assert payment.client_secret == intent["client_secret"]
    assert payment.idempotency_key == f"maritime-{booking.reference}-payment-1"


@pytest.mark.django_db
def test_a_lost_answer_from_stripe_is_retried_with_the_same_key_and_makes_one_intent(fake_stripe):
    booking = held_booking()
    fake_stripe.drop_next = 1  # Stripe creates the intent, the answer never arrives

    payment = payment_open(booking_id=booking.pk)

    assert len(fake_stripe.intents) == 1
    assert payment.intent_id in fake_stripe.intents
    assert [p for p in fake_stripe.requests if p == ("POST", "/v1/payment_intents")] == [
        ("POST", "/v1/payment_intents")
    ] * 2


@pytest.mark.django_db
def test_starting_again_reuses_the_open_intent(fake_stripe):
    booking = held_booking()

    first, again = payment_open(booking_id=booking.pk), payment_open(booking_id=booking.pk)

    assert first.pk == again.pk
    assert len(fake_stripe.intents) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Booking.Status.EXPIRED, Booking.Status.CANCELLED, Booking.Status.PAID])
def test_a_booking_that_is_not_held_cannot_be_paid(fake_stripe, status):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=status)

    with pytest.raises(PaymentNotAllowed):
        payment_open(booking_id=booking.pk)
    assert not fake_stripe.intents


@pytest.mark.django_db
def test_a_hold_past_its_deadline_cannot_be_paid_even_before_the_sweeper_runs(fake_stripe):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))

    with pytest.raises(PaymentNotAllowed, match="expired"):
        payment_open(booking_id=booking.pk)


@pytest.mark.django_db(transaction=True)
def test_the_workflow_checks_availability_with_the_operator_before_payment(fake_stripe, eager_tasks, tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille)
    booking = held_booking(sailing)
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.CANCELLED)

    with pytest.raises(PaymentNotAllowed, match="cancelled"):
        checkout.payment_start(booking_id=booking.pk)
    assert not fake_stripe.intents


def paid(fake_stripe, booking) -> Payment:
    payment = payment_open(booking_id=booking.pk)
    intent = fake_stripe.set_status(payment.intent_id, "succeeded")
    checkout.payment_reconcile(payment_id=payment.pk)
    assert intent["status"] == "succeeded"
    return payment


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_paid_booking_refunds_what_the_policy_allows_through_stripe(
    fake_stripe, eager_tasks, tunis_marseille
):
    sailing = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=3))  # 50 % band
    booking = held_booking(sailing)
    payment = paid(fake_stripe, booking)

    cancellation = cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    refund = Refund.objects.get()
    assert cancellation.refund_minor == payment.amount_minor // 2
    assert (refund.amount_minor, refund.status) == (payment.amount_minor // 2, Refund.Status.SUCCEEDED)
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [payment.amount_minor // 2]
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.REFUNDED


@pytest.mark.django_db(transaction=True)
def test_a_refund_is_asked_of_stripe_once_however_often_it_is_triggered(fake_stripe, eager_tasks):
    booking = held_booking()
    paid(fake_stripe, booking)

    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="a")
    cancelling.booking_cancel(booking_id=booking.pk, actor="staff:1", reason="b")
    for refund in Refund.objects.all():
        refunds.refund_send(refund_id=refund.pk)

    assert Refund.objects.count() == 1
    assert len(fake_stripe.refunds) == 1


@pytest.mark.django_db(transaction=True)
def test_a_payment_whose_webhook_was_lost_is_reconciled_by_the_sweeper(fake_stripe, eager_tasks):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    fake_stripe.set_status(payment.intent_id, "succeeded")  # …and Stripe's webhook never came
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=10))

    assert sweeps.payments_sweep() == 1

    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_a_webhook_arriving_while_the_broker_is_down_is_stored_acknowledged_and_processed_later(
    client, fake_stripe, private_redis_server, broker_at, caplog
):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    intent = fake_stripe.set_status(payment.intent_id, "succeeded")
    broker_at(private_redis_server.url)
    private_redis_server.stop()
    payload = stripe_event("payment_intent.succeeded", intent, event_id="evt_down")

    response = client.post("/webhooks/stripe", data=payload, **signed(payload))

    assert response.status_code == 200
    assert WebhookEvent.objects.get(event_id="evt_down").processed_at is None
    assert "could not enqueue payments.tasks.process_payment_webhook_task" in caplog.text

    private_redis_server.start()
    WebhookEvent.objects.filter(event_id="evt_down").update(received_at=timezone.now() - dt.timedelta(minutes=6))
    assert sweeps.payments_sweep() == 1
    queued = redis.Redis.from_url(private_redis_server.url).llen(f"{KEY_PREFIX}:broker:payments")
    assert queued == 1, "the sweeper put the event back on the payments queue"
    stripe_events.payment_event_process(event_id="evt_down")
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.PAID
