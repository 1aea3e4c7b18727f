"""Staff alerts when the site's figures cross their thresholds (beat, every minute).

Thresholds are settings (ALERT_QUEUE_BACKLOG, ALERT_FAILED_TASKS_PER_HOUR, ALERT_EMAIL_AGE_MINUTES,
ALERT_WEBHOOK_AGE_MINUTES). A condition reached alerts ADMINS through the e-mail outbox, at most once per
condition and clock hour: the outbox row's unique key holds both, so two checks racing cannot both send.
A figure that cannot be read alerts nothing — a broker that is down stops beat from running this check at
all, and /healthz is what names it.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from maritime.operations import figures_read, queue_samples_record
from notifications.services import staff_alert_enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    condition: str
    subject: str
    message: str


def alerts_check(*, now: dt.datetime | None = None) -> list[str]:
    """Sample the queues for the operations page, then alert staff of each condition reached.

    Answers the conditions alerted now (not those already alerted within the hour).
    """
    now = now or timezone.now()
    figures = figures_read(["queues", "tasks", "emails", "webhooks"], now=now)
    if figures["queues"]:
        queue_samples_record(lengths={q: f["length"] for q, f in figures["queues"].items()}, at=now.timestamp())
    alerted = []
    for alert in alerts_due(figures=figures):
        if staff_alert_enqueue(condition=alert.condition, subject=alert.subject, message=alert.message, at=now):
            alerted.append(alert.condition)
        elif settings.ADMINS:
            continue  # already alerted this hour
        # Logged once an hour, as staff are e-mailed; every minute when there is nobody to e-mail.
        logger.warning("alert %s: %s", alert.condition, alert.subject)
    return alerted


def alerts_due(*, figures: dict) -> list[Alert]:
    """The conditions the figures reach (a figure that could not be read reaches none)."""
    due = []
    backlog = settings.ALERT_QUEUE_BACKLOG
    for queue, figure in (figures.get("queues") or {}).items():
        if figure["length"] >= backlog:
            due.append(
                Alert(
                    f"queue-backlog:{queue}",
                    f"{figure['length']} tasks waiting in the {queue} queue",
                    f"The {queue} queue holds {figure['length']} tasks (alert at {backlog}, ALERT_QUEUE_BACKLOG); "
                    f"the oldest has waited {_minutes(figure['oldest_age_seconds'])}.\n"
                    f"Is its worker running? python manage.py ping_queues {queue}",
                )
            )
    failed = (figures.get("tasks") or {}).get("failed_last_hour", 0)
    if failed >= settings.ALERT_FAILED_TASKS_PER_HOUR:
        due.append(
            Alert(
                "failed-tasks",
                f"{failed} tasks failed in the last hour",
                f"{failed} tasks failed in the last hour (alert at {settings.ALERT_FAILED_TASKS_PER_HOUR}, "
                "ALERT_FAILED_TASKS_PER_HOUR).\nTheir errors are in the admin: Celery results → Task results, "
                "filtered by status FAILURE.",
            )
        )
    email_age = (figures.get("emails") or {}).get("oldest_unsent_age_seconds")
    if email_age is not None and email_age >= settings.ALERT_EMAIL_AGE_MINUTES * 60:
        due.append(
            Alert(
                "email-age",
                f"E-mails unsent for {_minutes(email_age)}",
                f"{figures['emails']['unsent']} e-mails are not sent yet; the oldest was queued {_minutes(email_age)} "
                f"ago (alert at {settings.ALERT_EMAIL_AGE_MINUTES} min, ALERT_EMAIL_AGE_MINUTES).\n"
                "Is the emails worker running (python manage.py ping_queues emails), and the mail server reachable?",
            )
        )
    webhook_age = (figures.get("webhooks") or {}).get("oldest_unprocessed_age_seconds")
    if webhook_age is not None and webhook_age >= settings.ALERT_WEBHOOK_AGE_MINUTES * 60:
        due.append(
            Alert(
                "webhook-age",
                f"Stripe events unprocessed for {_minutes(webhook_age)}",
                f"{figures['webhooks']['unprocessed']} Stripe events are not processed yet; the oldest arrived "
                f"{_minutes(webhook_age)} ago (alert at {settings.ALERT_WEBHOOK_AGE_MINUTES} min, "
                "ALERT_WEBHOOK_AGE_MINUTES).\nIs the payments worker running (python manage.py ping_queues payments), "
                "and Stripe reachable? Each event's last error is in the admin: Payments → Webhook events.",
            )
        )
    return due


def _minutes(seconds: float | None) -> str:
    return "an unknown time" if seconds is None else f"{int(seconds // 60)} min"
