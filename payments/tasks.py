"""Tasks of the payments queue: thin — load by id, run a flow. One retry budget for the queue: 5 retries, at least
1, 2, 4, 8 and 16 s apart (backoff capped at 300 s), for errors Stripe's network, Stripe itself or the database may
cure.

What a task runs is imported when it runs: flows enqueue these tasks, so importing the flows here, at the top,
would make a loop.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from kernel.tasks import Task
from payments.errors import EventNotYetResolved
from payments.providers import TRANSIENT_STRIPE_ERRORS

# Per worker, for what the sweeper may queue by the hundred: well under Stripe's request limit, leaving room
# for the PaymentIntents the website opens.
STRIPE_RATE_LIMIT = "10/s"


class PaymentsTask(Task):
    autoretry_for = (*TRANSIENT_STRIPE_ERRORS, OperationalError, InterfaceError)
    retry_backoff = True
    retry_backoff_max = 300
    max_retries = 5


class WebhookTask(PaymentsTask):
    # An event about an object not known yet is tried again a few times, then closed by the flow itself.
    autoretry_for = (*PaymentsTask.autoretry_for, EventNotYetResolved)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Visible on the event in the admin; the sweeper enqueues it again later.
        from payments import webhooks

        webhooks.webhook_event_failed(event_id=kwargs["event_id"], error=exc)


@shared_task(bind=True, base=WebhookTask)
def process_payment_webhook_task(self, *, event_id: str) -> None:
    from bookings.flows import stripe_events

    stripe_events.payment_event_process(event_id=event_id)


class RefundTask(PaymentsTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if self.failed_for_good(exc):
            from bookings.flows import refunds

            refunds.refund_failed(refund_id=kwargs["refund_id"], error=exc)


@shared_task(bind=True, base=RefundTask, rate_limit=STRIPE_RATE_LIMIT)
def send_refund_task(self, *, refund_id: int) -> None:
    from bookings.flows import refunds

    refunds.refund_send(refund_id=refund_id)


@shared_task(bind=True, base=PaymentsTask, rate_limit=STRIPE_RATE_LIMIT)
def reconcile_payment_task(self, *, payment_id: int) -> None:
    from bookings.flows import checkout

    checkout.payment_reconcile(payment_id=payment_id)


@shared_task(bind=True, base=PaymentsTask)
def settle_payment_task(self, *, payment_id: int) -> None:
    """Money taken and not acted on yet: pay the booking, or give the money back."""
    from bookings.flows import checkout

    checkout.payment_settle(payment_id=payment_id)


@shared_task(bind=True, base=PaymentsTask, rate_limit=STRIPE_RATE_LIMIT)
def cancel_open_payments_task(self, *, booking_id: int, change_id: int | None = None) -> int:
    from bookings.flows import checkout

    return checkout.booking_payments_cancel(booking_id=booking_id, change_id=change_id)


@shared_task
def sweep_payments_task() -> int:
    from bookings.flows import sweeps

    return sweeps.payments_sweep()
