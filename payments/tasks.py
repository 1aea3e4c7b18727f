"""Tasks of the payments queue: thin, retried on transient errors (5 retries, backoff capped at 300 s)."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from bookings import workflows
from maritime.celery import failed_for_good
from payments import webhooks
from payments.providers import TRANSIENT_STRIPE_ERRORS

TRANSIENT_ERRORS = (*TRANSIENT_STRIPE_ERRORS, OperationalError, InterfaceError)
# Per worker, for what the sweeper may queue by the hundred: well under Stripe's request limit, leaving room
# for the PaymentIntents the website opens.
STRIPE_RATE_LIMIT = "10/s"


class WebhookTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Visible on the event in the admin; the sweeper enqueues it again later.
        webhooks.webhook_event_failed(event_id=kwargs["event_id"], error=exc)


@shared_task(
    bind=True,
    base=WebhookTask,
    # An event about an object not known yet is tried again a few times, then closed by the flow itself.
    autoretry_for=(*TRANSIENT_ERRORS, workflows.EventNotYetResolved),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def process_payment_webhook_task(self, *, event_id: str) -> None:
    workflows.payment_event_process(event_id=event_id)


class RefundTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if failed_for_good(self, exc, TRANSIENT_ERRORS):
            workflows.refund_failed(refund_id=kwargs["refund_id"], error=exc)


@shared_task(
    bind=True,
    base=RefundTask,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    rate_limit=STRIPE_RATE_LIMIT,
)
def send_refund_task(self, *, refund_id: int) -> None:
    workflows.refund_send(refund_id=refund_id)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    rate_limit=STRIPE_RATE_LIMIT,
)
def reconcile_payment_task(self, *, payment_id: int) -> None:
    workflows.payment_reconcile(payment_id=payment_id)


@shared_task(bind=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_backoff_max=300, max_retries=5)
def settle_payment_task(self, *, payment_id: int) -> None:
    """Money taken and not acted on yet: pay the booking, or give the money back."""
    workflows.payment_settle(payment_id=payment_id)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    rate_limit=STRIPE_RATE_LIMIT,
)
def cancel_open_payments_task(self, *, booking_id: int) -> int:
    return workflows.booking_payments_cancel(booking_id=booking_id)


@shared_task
def sweep_payments_task() -> int:
    return workflows.payments_sweep()
