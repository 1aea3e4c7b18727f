"""Fault 3 — the broker is down while Stripe's webhook and a traveller's booking arrive.

Through the real HTTP stack (gunicorn, in processes of its own): both are answered as usual and stored; the
request gives up publishing after about a second and says so in the log. Once Redis is back, the payments
sweeper queues the event again and a real worker completes the work.
"""

import pytest
import requests

from bookings.models import Booking
from bookings.tests.factories import held_booking, request_data
from faults.conftest import smtp_env, stripe_env
from faults.processes import wait_for
from faults.scenarios import minutes_ago, paid_at_stripe, signed_event
from ferries.choices import Resource
from ferries.models import SailingInventory
from ferries.tests.factories import sailing_factory
from notifications.models import Email
from payments.models import WebhookEvent
from payments.tasks import sweep_payments_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Longer than any answer should take with the broker down (it is given up after about a second): a hang guard.
CLIENT_TIMEOUT = 10


def post_webhook(site, intent: dict) -> requests.Response:
    payload, signature = signed_event(intent)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
    return requests.post(f"{site.url}/webhooks/stripe", data=payload, headers=headers, timeout=CLIENT_TIMEOUT)


def test_a_webhook_and_a_booking_arriving_with_the_broker_down_are_answered_stored_and_completed_later(
    private_redis_server, broker_at, slow_stripe, smtp, web, workers, tunis_marseille
):
    broker_at(private_redis_server.url)
    sailing = sailing_factory(route=tunis_marseille)
    paying, _payment, intent = paid_at_stripe(slow_stripe, held_booking(sailing))  # paid just before the outage
    site = web(CELERY_BROKER_URL=private_redis_server.url, **stripe_env(slow_stripe))
    private_redis_server.stop()

    webhook = post_webhook(site, intent)
    booking = requests.post(f"{site.url}/api/v1/bookings", json=request_data(sailing), timeout=CLIENT_TIMEOUT)
    health = requests.get(f"{site.url}/healthz", timeout=CLIENT_TIMEOUT)

    assert (webhook.status_code, booking.status_code) == (200, 201)
    assert (health.status_code, health.json()["failing"]) == (503, ["broker"])
    assert "could not enqueue payments.tasks.process_payment_webhook_task" in site.output()
    assert WebhookEvent.objects.get().processed_at is None
    held = Booking.objects.get(reference=booking.json()["reference"])
    assert held.status == Booking.Status.HELD
    passengers = SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS)
    assert passengers.taken == 2  # the traveller who paid, and the one who just booked

    private_redis_server.start()
    WebhookEvent.objects.update(received_at=minutes_ago(6))  # the sweeper's threshold (5 minutes) passes
    assert sweep_payments_task.enqueue()  # as beat sends it
    sink = smtp()
    env = {**stripe_env(slow_stripe), **smtp_env(sink), "CELERY_BROKER_URL": private_redis_server.url}
    workers("payments,bookings,emails", name="after", **env)

    wait_for(
        lambda: (
            Booking.objects.get(pk=paying.pk).status == Booking.Status.CONFIRMED
            and Email.objects.filter(status=Email.Status.SENT).count() == 2
        ),
        timeout=90,
        what="the paid booking confirmed and its two e-mails sent",
    )
    assert sorted(Email.objects.values_list("kind", flat=True)) == ["booking_confirmation", "payment_success"]
    assert len(sink.messages) == 2
    # The traveller who booked during the outage can pay now: the operator check goes through the broker.
    paying_later = requests.post(
        f"{site.url}/api/v1/bookings/{held.reference}/payment",
        headers={"X-Booking-Token": booking.json()["access_token"]},
        timeout=30,
    )
    assert paying_later.status_code == 201, paying_later.text
    assert paying_later.json()["client_secret"]
