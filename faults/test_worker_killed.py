"""Fault 1 — a worker killed with SIGKILL in the middle of a task: the work is done again, and done once.

Two ways to die. The OOM killer takes one pool process: the worker's main process sees it go and, the task
being acknowledged late with reject_on_worker_lost, puts its message back on the queue at once. A host is
lost (main process and pool together): nobody gives the message back, and Redis hands it out again only when
the visibility timeout has passed — 15 minutes, and the settings refuse less than 11 (it must outlast the longest
retry countdown), so a test cannot shorten it. The beat sweepers catch what is left behind either way.

Minutes are never waited for: the timestamps the sweepers and the broker read are moved back instead — the
claim time in the database, the delivery time in the broker's `unacked_index`.
"""

import datetime as dt
import os
import signal

import pytest
from django.db.models import F
from django_celery_results.models import TaskResult

from bookings.flows.sweeps import payments_sweep
from bookings.models import Booking
from bookings.tests.factories import held_booking
from faults.conftest import smtp_env, stripe_env
from faults.processes import wait_for
from faults.scenarios import assert_queued_soon, paid_at_stripe, statuses, stripe_delivers
from faults.servers import unacked_age_by
from notifications.models import Email
from notifications.services import STALE_CLAIM, email_enqueue, emails_requeue_lost
from payments.models import Payment, WebhookEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SEND_TASK = "notifications.tasks.send_payment_success_email_task"
WEBHOOK_TASK = "payments.tasks.process_payment_webhook_task"
SIXTEEN_MINUTES = dt.timedelta(minutes=16)  # past the visibility timeout (15) and STALE_CLAIM (10)


def results_of(task_name: str) -> list[str]:
    return sorted(TaskResult.objects.filter(task_name=task_name, status="SUCCESS").values_list("result", flat=True))


def kill_the_pool_process(worker) -> None:
    [pool_process] = worker.pool()
    os.kill(pool_process, signal.SIGKILL)


def test_an_email_whose_pool_process_is_killed_mid_send_is_sent_once_when_its_claim_goes_stale(workers, smtp, broker):
    """The pool process dies while the mail server has not yet answered RCPT TO.

    Its message comes back at once (reject_on_worker_lost) and runs again, but finds the row claimed moments
    ago ("sending") and leaves it: a slow sender and a dead one look alike from outside, and sending on a
    fresh claim could send twice. What recovers the e-mail is the outbox sweeper (`sweep-outbox`, every
    minute), which queues again a row whose claim is older than STALE_CLAIM (10 minutes).
    """
    sink = smtp(delay=30, slow=1)
    worker = workers("emails", name="oom", **smtp_env(sink))
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    assert sink.stalled.wait(60), "the send did not reach the mail server"

    kill_the_pool_process(worker)

    wait_for(lambda: results_of(SEND_TASK) == ['"skipped"'], timeout=60, what="the message came back and ran")
    assert "WorkerLostError" in worker.output()
    assert sink.messages == []
    assert Email.objects.get(pk=email.pk).status == Email.Status.SENDING

    stale = STALE_CLAIM + dt.timedelta(minutes=1)
    Email.objects.filter(pk=email.pk).update(last_attempt_at=F("last_attempt_at") - stale)
    assert emails_requeue_lost() == 1  # what beat's sweep-outbox runs

    wait_for(lambda: Email.objects.get(pk=email.pk).status == Email.Status.SENT, timeout=60, what="e-mail sent")
    assert len(sink.messages) == 1
    # The row is marked sent before the task returns: its result is stored a moment later.
    wait_for(lambda: len(results_of(SEND_TASK)) == 2, timeout=60, what="the second run's result stored")
    assert results_of(SEND_TASK) == ['"sent"', '"skipped"']
    assert broker.queue_length("emails") == 0


def test_an_email_whose_whole_worker_is_killed_mid_send_is_sent_once_by_the_next_worker(workers, smtp, broker):
    """The whole worker dies (main process and pool) while the mail server has not yet answered RCPT TO.

    Sixteen minutes later two copies of the work exist: Redis hands the dead worker's message out again (its
    visibility timeout, 15 minutes, has passed: the next worker gives it back to the queue as it starts), and
    the outbox sweeper has queued the e-mail again (its claim is older than STALE_CLAIM). Both reach the next
    worker; the claim — a conditional UPDATE on the row's status — lets the first send and the second skip.
    """
    sink = smtp(delay=30, slow=1)
    doomed = workers("emails", name="doomed", **smtp_env(sink))
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    assert sink.stalled.wait(60), "the send did not reach the mail server"

    doomed.kill()

    assert unacked_age_by(broker.client, broker.prefix, SIXTEEN_MINUTES.total_seconds()) == 1
    Email.objects.filter(pk=email.pk).update(last_attempt_at=F("last_attempt_at") - SIXTEEN_MINUTES)
    assert emails_requeue_lost() == 1
    workers("emails", name="next", **smtp_env(sink))

    wait_for(lambda: len(results_of(SEND_TASK)) == 2, timeout=60, what="both copies ran")
    assert results_of(SEND_TASK) == ['"sent"', '"skipped"']
    assert len(sink.messages) == 1
    assert Email.objects.get(pk=email.pk).status == Email.Status.SENT


def test_a_webhook_whose_pool_process_is_killed_mid_fetch_is_processed_once_by_the_next(workers, slow_stripe, broker):
    """The pool process dies while Stripe has not yet answered the fetch of the PaymentIntent.

    The worker's main process puts the message back on the queue at once (acks_late + reject_on_worker_lost)
    and another worker process takes it. Nothing was half-written: the fetch comes before the transaction
    that pays the booking.
    """
    booking, payment, intent = paid_at_stripe(slow_stripe)
    slow_stripe.stall(1, delay=30)
    first = workers("payments", name="oom", **stripe_env(slow_stripe))
    event = stripe_delivers(intent)
    assert slow_stripe.stalled.wait(60), "the worker did not ask Stripe"
    workers("payments", name="other", **stripe_env(slow_stripe))

    kill_the_pool_process(first)

    wait_for(lambda: WebhookEvent.objects.get(pk=event.pk).processed_at, timeout=60, what="the event processed again")
    assert "WorkerLostError" in first.output()
    assert slow_stripe.fetches == 2
    booking = Booking.objects.get(pk=booking.pk)
    assert (booking.status, statuses(booking)) == (Booking.Status.PAID, ["held", "paid"])
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert list(booking.emails.values_list("kind", flat=True)) == [Email.Kind.PAYMENT_SUCCESS]
    assert_queued_soon(broker, {"bookings": 1, "emails": 1})  # one confirmation, one receipt


def test_a_webhook_whose_whole_worker_is_killed_mid_fetch_is_processed_once_when_its_message_comes_back(
    workers, slow_stripe, broker
):
    """The whole worker dies while Stripe has not yet answered the fetch of the PaymentIntent.

    Sixteen minutes later two copies of the work exist: Redis hands the dead worker's message out again (the
    visibility timeout has passed), and the payments sweeper (`sweep-payments`) has queued the unprocessed
    event again. The next worker runs both at the same moment — their fetches are answered together — and the
    event's row lock lets one pay the booking while the other finds the event processed.
    """
    booking, payment, intent = paid_at_stripe(slow_stripe)
    slow_stripe.stall(1, delay=30)
    doomed = workers("payments", name="doomed", **stripe_env(slow_stripe))
    event = stripe_delivers(intent)
    assert slow_stripe.stalled.wait(60), "the worker did not ask Stripe"

    doomed.kill()

    assert unacked_age_by(broker.client, broker.prefix, SIXTEEN_MINUTES.total_seconds()) == 1
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=F("received_at") - SIXTEEN_MINUTES)
    assert payments_sweep() == 1  # what beat's sweep-payments runs
    slow_stripe.gate(2, timeout=10)
    workers("payments", name="next", concurrency=2, **stripe_env(slow_stripe))

    wait_for(lambda: len(results_of(WEBHOOK_TASK)) == 2, timeout=60, what="both copies ran")
    assert slow_stripe.fetches == 3  # the dead worker's, then both copies'
    booking = Booking.objects.get(pk=booking.pk)
    assert (booking.status, statuses(booking)) == (Booking.Status.PAID, ["held", "paid"])
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert list(booking.emails.values_list("kind", flat=True)) == [Email.Kind.PAYMENT_SUCCESS]
    assert_queued_soon(broker, {"bookings": 1, "emails": 1})
