"""The situations the fault tests start from, built with the same services the site uses."""

import datetime as dt

from django.utils import timezone

from bookings import services
from bookings.flows import confirmation
from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.tests.factories import held_booking
from faults.processes import wait_for
from ferries.tests.factories import sailing_factory
from payments.models import Payment, WebhookEvent
from payments.tests.conftest import signed, stripe_event
from payments.webhooks import webhook_receive


def paid_at_stripe(stripe, booking: Booking | None = None) -> tuple[Booking, Payment, dict]:
    """A held booking whose PaymentIntent has just succeeded at Stripe; its webhook is still to come.

    The PaymentIntent is opened by the payments service itself: the availability check the website makes
    first needs a worker of its own, and is not what these tests are about.
    """
    booking = booking or held_booking()
    payment = payment_open(booking_id=booking.pk)
    intent = stripe.set_status(payment.intent_id, "succeeded")
    return booking, payment, intent


def signed_event(intent: dict, *, kind: str = "payment_intent.succeeded", event_id: str | None = None) -> tuple:
    """(payload, Stripe-Signature header) of an event about `intent`, signed with Stripe's own code."""
    payload = stripe_event(kind, intent, event_id=event_id)
    return payload, signed(payload)["HTTP_STRIPE_SIGNATURE"]


def stripe_delivers(intent: dict, **event) -> WebhookEvent:
    """Stripe's webhook for `intent`, received as the endpoint receives it: stored, then queued after commit."""
    payload, signature = signed_event(intent, **event)
    stored, _created = webhook_receive(payload=payload.encode(), signature=signature)
    return stored


def statuses(booking: Booking) -> list[str]:
    """Every status the booking went through, in order: one entry per transition."""
    return list(booking.events.order_by("pk").values_list("to_status", flat=True))


def minutes_ago(minutes: float):
    return timezone.now() - dt.timedelta(minutes=minutes)


def paid_booking(route) -> Booking:
    """Held at the operator, paid: its confirmation with the operator is queued, as after Stripe's webhook."""
    booking = held_booking(sailing_factory(route=route))
    services.booking_transition(booking_id=booking.pk, to=Booking.Status.PAID, actor="stripe", reason="paid")
    confirmation.booking_paid(booking_id=booking.pk)
    return booking


def assert_queued_soon(broker, expected: dict[str, int], timeout: float = 30) -> None:
    """The queues come to hold `expected` messages: what a task queues after its commit is published a moment after
    the row it wrote is visible, so the lengths are waited for rather than read once."""

    def lengths() -> dict[str, int]:
        return {queue: broker.queue_length(queue) for queue in expected}

    wait_for(lambda: lengths() == expected, timeout=timeout, what=f"the queues holding {expected}")
