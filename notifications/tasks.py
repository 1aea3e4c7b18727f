"""Tasks of the emails queue: one family, a task per kind of e-mail (the names the brief gives them), each taking
an outbox row's id only (no addresses, no names: results keep arguments). One retry budget for the queue:
3 retries, at least 1, 2 and 4 s apart (backoff capped at 600 s), for errors the mail server or the database may
cure."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from kernel.tasks import Task
from notifications.errors import TransientEmailError
from notifications.models import Email


class EmailTask(Task):
    autoretry_for = (TransientEmailError, OperationalError, InterfaceError)
    retry_backoff = True
    retry_backoff_max = 600
    max_retries = 3

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if self.failed_for_good(exc):
            from notifications import services

            services.email_failed(email_id=kwargs["email_id"], error=exc)


def _email_task(kind: Email.Kind):
    """The task that sends e-mails of this kind: `notifications.tasks.send_<kind>_email_task`."""
    name = f"send_{kind.value}_email_task"

    def send(self, *, email_id: int) -> str:
        from notifications import services

        return services.email_send(email_id=email_id)

    send.__name__ = send.__qualname__ = name
    return shared_task(bind=True, base=EmailTask, name=f"{__name__}.{name}")(send)


EMAIL_TASKS = {kind: _email_task(kind) for kind in Email.Kind}
send_booking_confirmation_email_task = EMAIL_TASKS[Email.Kind.BOOKING_CONFIRMATION]
send_payment_success_email_task = EMAIL_TASKS[Email.Kind.PAYMENT_SUCCESS]
send_refund_email_task = EMAIL_TASKS[Email.Kind.REFUND]
send_cancellation_email_task = EMAIL_TASKS[Email.Kind.CANCELLATION]
send_hold_expired_email_task = EMAIL_TASKS[Email.Kind.HOLD_EXPIRED]
send_departure_reminder_email_task = EMAIL_TASKS[Email.Kind.DEPARTURE_REMINDER]
send_sailing_retimed_email_task = EMAIL_TASKS[Email.Kind.SAILING_RETIMED]
send_sailing_disrupted_email_task = EMAIL_TASKS[Email.Kind.SAILING_DISRUPTED]
send_compensation_email_task = EMAIL_TASKS[Email.Kind.COMPENSATION]
send_change_payment_email_task = EMAIL_TASKS[Email.Kind.CHANGE_PAYMENT]
send_staff_alert_email_task = EMAIL_TASKS[Email.Kind.STAFF_ALERT]


@shared_task
def check_travel_alerts_task() -> int:
    """A batch of travellers' alerts checked (beat, every minute); answers the e-mails queued."""
    from notifications import travel_alerts

    return travel_alerts.alerts_check()


@shared_task
def sweep_outbox_task() -> int:
    from notifications import services

    return services.emails_requeue_lost()
