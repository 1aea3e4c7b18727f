"""Tasks of the emails queue: each takes an outbox row's id only (no addresses, no names: results keep
arguments). 3 retries with backoff capped at 600 s, for errors the mail server may cure."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from maritime.celery import failed_for_good
from notifications import services

TRANSIENT_ERRORS = (services.TransientEmailError, OperationalError, InterfaceError)
RETRY = {"autoretry_for": TRANSIENT_ERRORS, "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 3}


class EmailTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if failed_for_good(self, exc, TRANSIENT_ERRORS):
            services.email_failed(email_id=kwargs["email_id"], error=exc)


@shared_task(bind=True, base=EmailTask, **RETRY)
def send_booking_confirmation_email_task(self, *, email_id: int) -> str:
    return services.email_send(email_id=email_id)


@shared_task(bind=True, base=EmailTask, **RETRY)
def send_payment_success_email_task(self, *, email_id: int) -> str:
    return services.email_send(email_id=email_id)


@shared_task(bind=True, base=EmailTask, **RETRY)
def send_refund_email_task(self, *, email_id: int) -> str:
    return services.email_send(email_id=email_id)


@shared_task(bind=True, base=EmailTask, **RETRY)
def send_cancellation_email_task(self, *, email_id: int) -> str:
    return services.email_send(email_id=email_id)


@shared_task(bind=True, base=EmailTask, **RETRY)
def send_hold_expired_email_task(self, *, email_id: int) -> str:
    return services.email_send(email_id=email_id)


@shared_task(bind=True, base=EmailTask, **RETRY)
def send_staff_alert_email_task(self, *, email_id: int) -> str:
    return services.email_send(email_id=email_id)


@shared_task
def sweep_outbox_task() -> int:
    return services.emails_requeue_lost()
