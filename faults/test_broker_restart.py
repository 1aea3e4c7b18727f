"""Fault 2 — the broker's Redis restarts with tasks queued and none consumed yet.

A Redis without persistence (this machine's, and any Redis run with `--save "" --appendonly no`) comes back
empty: every queued message is gone. Nothing is lost for all that, because every piece of async work also has
a row in the database, and the beat sweepers queue again what has waited too long. docker-compose's broker
keeps an append-only file, and there the messages survive the restart.
"""

from collections import Counter

import pytest
import redis

from bookings.flows import cancelling, common
from bookings.models import Booking
from bookings.tasks import retry_stalled_bookings_task
from bookings.tests.factories import held_booking, pay
from conftest import KEY_PREFIX
from faults.conftest import smtp_env, stripe_env
from faults.processes import wait_for
from faults.scenarios import minutes_ago, paid_at_stripe, stripe_delivers
from faults.servers import DurableRedis
from notifications.models import Email
from notifications.services import LOST_AFTER
from notifications.tasks import sweep_outbox_task
from payments.models import Refund, WebhookEvent
from payments.tasks import sweep_payments_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUES = ("payments", "emails", "bookings")
SWEEPERS = (  # the beat entries sweep-payments, sweep-outbox and retry-stalled-bookings
    sweep_payments_task,
    sweep_outbox_task,
    retry_stalled_bookings_task,
)


def queue_lengths(server) -> dict[str, int]:
    client = redis.Redis.from_url(server.url)
    return {queue: client.llen(f"{KEY_PREFIX}:broker:{queue}") for queue in QUEUES}


def work_in_every_queue(stripe) -> dict[str, Booking]:
    """Three travellers whose work waits in the queues: a webhook to process (paid), a paid booking to confirm
    with its receipt to send (confirm), a cancelled booking to refund with its e-mails to send (cancel)."""
    webhook, _payment, intent = paid_at_stripe(stripe)
    stripe_delivers(intent)
    confirm, cancel = held_booking(), held_booking()
    pay(stripe, confirm)
    pay(stripe, cancel)
    cancelling.booking_cancel(booking_id=cancel.pk, actor="traveller", reason="plans changed")
    return {"paid": webhook, "confirm": confirm, "cancel": cancel}


def time_passes() -> None:
    """Long enough for every sweeper to take its rows as lost (e-mails after 2 minutes, the rest after 5)."""
    minutes = max(common.STALLED_AFTER, LOST_AFTER).total_seconds() / 60 + 1
    WebhookEvent.objects.update(received_at=minutes_ago(minutes))
    Email.objects.update(created_at=minutes_ago(minutes))
    Refund.objects.update(created_at=minutes_ago(minutes))
    Booking.objects.update(updated_at=minutes_ago(minutes))


def test_after_a_broker_restart_without_persistence_the_sweepers_recover_every_queued_task(
    private_redis_server, broker_at, slow_stripe, smtp, workers
):
    """Recovery: the beat sweepers, from the database rows every piece of work also has — the unprocessed
    webhook event and the refund not sent (sweep-payments), the e-mails never attempted (sweep-outbox), the paid
    booking not confirmed (retry-stalled-bookings) — then one real worker on every queue."""
    broker_at(private_redis_server.url)
    bookings = work_in_every_queue(slow_stripe)
    assert queue_lengths(private_redis_server) == {"payments": 3, "emails": 3, "bookings": 2}

    private_redis_server.stop()
    private_redis_server.start()

    assert queue_lengths(private_redis_server) == {"payments": 0, "emails": 0, "bookings": 0}
    time_passes()
    for sweeper in SWEEPERS:  # sent as beat sends them, run by the worker
        assert sweeper.enqueue()
    sink = smtp()
    env = {**stripe_env(slow_stripe), **smtp_env(sink), "CELERY_BROKER_URL": private_redis_server.url}
    workers("payments,emails,bookings", name="all", **env)

    confirmed, refunded = Booking.Status.CONFIRMED, Booking.Status.REFUNDED
    expected = {"paid": confirmed, "confirm": confirmed, "cancel": refunded}

    def settled() -> bool:
        found = {name: Booking.objects.get(pk=b.pk).status for name, b in bookings.items()}
        return found == expected and not Email.objects.exclude(status=Email.Status.SENT).exists()

    wait_for(settled, timeout=90, what="every booking settled and every e-mail sent")
    assert WebhookEvent.objects.get().processed_at is not None
    assert [(r.status, r.amount_minor) for r in Refund.objects.all()] == [("succeeded", bookings["cancel"].total_minor)]
    assert len(slow_stripe.refunds) == 1
    kinds = Counter(Email.objects.values_list("booking__reference", "kind"))
    assert kinds == {
        (bookings["paid"].reference, "payment_success"): 1,
        (bookings["paid"].reference, "booking_confirmation"): 1,
        (bookings["confirm"].reference, "payment_success"): 1,
        (bookings["confirm"].reference, "booking_confirmation"): 1,
        (bookings["cancel"].reference, "payment_success"): 1,
        (bookings["cancel"].reference, "cancellation"): 1,
        (bookings["cancel"].reference, "refund"): 1,
    }
    assert len(sink.messages) == 7, "each e-mail sent once"


def test_a_broker_with_an_append_only_file_keeps_queued_tasks_across_a_restart(
    tmp_path, broker_at, slow_stripe, transactional_db
):
    server = DurableRedis(tmp_path)
    server.start()
    try:
        broker_at(server.url)
        work_in_every_queue(slow_stripe)
        queued = queue_lengths(server)

        server.stop()
        server.start()

        assert queue_lengths(server) == queued == {"payments": 3, "emails": 3, "bookings": 2}
    finally:
        server.stop()
