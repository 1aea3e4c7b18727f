"""Queueing and sending e-mails through the outbox.

`email_enqueue` writes the row (once per booking, kind and key) and enqueues its task after commit;
`email_send` claims the row with a guarded update — two workers never send the same e-mail — sends
it, and records the outcome. SMTP errors a retry can cure (4xx, connection trouble) are raised as
TransientEmailError for the task to retry; others fail the row at once.
"""

import datetime as dt
import logging
import smtplib
import socket

from django.core.mail import get_connection
from django.db.models import F, Q
from django.utils import timezone

from bookings.models import Booking
from maritime.queue import enqueue_on_commit
from notifications.models import Email
from notifications.rendering import build_message

logger = logging.getLogger(__name__)

TASKS = {
    Email.Kind.BOOKING_CONFIRMATION: "notifications.tasks.send_booking_confirmation_email_task",
    Email.Kind.PAYMENT_SUCCESS: "notifications.tasks.send_payment_success_email_task",
    Email.Kind.REFUND: "notifications.tasks.send_refund_email_task",
    Email.Kind.CANCELLATION: "notifications.tasks.send_cancellation_email_task",
    Email.Kind.HOLD_EXPIRED: "notifications.tasks.send_hold_expired_email_task",
}
# A row "sending" for longer than this lost its worker: it may be claimed again.
STALE_CLAIM = dt.timedelta(minutes=10)
# Queued without an attempt for this long: its message was lost.
LOST_AFTER = dt.timedelta(minutes=2)
# Queued after a failed attempt for longer than the longest retry countdown: its retry was lost.
RETRY_LOST_AFTER = dt.timedelta(minutes=15)


class TransientEmailError(Exception):
    """The mail server or the network may accept the message later."""


def email_enqueue(*, booking: Booking, kind: str, key: str = "", details: dict | None = None) -> Email:
    """The booking's e-mail of this kind (and key), queued once however often it is asked for."""
    email, created = Email.objects.get_or_create(
        booking=booking,
        kind=kind,
        key=key,
        defaults={"recipient": booking.contact_email, "language": booking.language, "details": details or {}},
    )
    if created:
        enqueue_on_commit(TASKS[kind], email_id=email.pk)
    return email


def email_claim(*, email_id: int) -> bool:
    """Take the row for sending, or answer False if it is sent, failed, or being sent by another worker."""
    now = timezone.now()
    claimable = Q(status=Email.Status.QUEUED) | Q(status=Email.Status.SENDING, last_attempt_at__lt=now - STALE_CLAIM)
    claimed = Email.objects.filter(claimable, pk=email_id).update(
        status=Email.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
    )
    return claimed == 1


def email_send(*, email_id: int) -> str:
    """Send the row's e-mail once; answers "sent", "failed" or "skipped" (someone else has it)."""
    if not email_claim(email_id=email_id):
        return "skipped"
    email = Email.objects.get(pk=email_id)
    message, subject, text, html = build_message(email)
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([message])
    except (smtplib.SMTPException, OSError) as exc:
        if _is_transient(exc):
            Email.objects.filter(pk=email_id).update(status=Email.Status.QUEUED, last_error=_describe(exc))
            raise TransientEmailError(_describe(exc)) from exc
        email_failed(email_id=email_id, error=exc)
        return "failed"
    Email.objects.filter(pk=email_id).update(
        status=Email.Status.SENT, sent_at=timezone.now(), last_error="", subject=subject[:255], body_text=text,
        body_html=html,
    )  # fmt: skip
    return "sent"


def email_failed(*, email_id: int, error: Exception) -> None:
    """Permanent failure, or the retry budget spent: visible to staff, who can resend it."""
    Email.objects.filter(pk=email_id).exclude(status=Email.Status.SENT).update(
        status=Email.Status.FAILED, last_error=_describe(error)
    )
    logger.error("e-mail %s failed: %s", email_id, _describe(error))


def email_resend(*, email_id: int) -> None:
    """Staff ask for an e-mail (sent or failed) to go out again."""
    Email.objects.filter(pk=email_id).update(status=Email.Status.QUEUED, last_error="")
    email = Email.objects.get(pk=email_id)
    enqueue_on_commit(TASKS[email.kind], email_id=email.pk)


def emails_requeue_lost(*, now: dt.datetime | None = None) -> int:
    """Enqueue again what a lost message, a dead worker or a broker restart left behind (beat)."""
    now = now or timezone.now()
    lost = Email.objects.filter(
        Q(status=Email.Status.QUEUED, last_attempt_at__isnull=True, created_at__lt=now - LOST_AFTER)
        | Q(status=Email.Status.QUEUED, last_attempt_at__lt=now - RETRY_LOST_AFTER)
        | Q(status=Email.Status.SENDING, last_attempt_at__lt=now - STALE_CLAIM)
    )
    count = 0
    for email_id, kind in lost.values_list("pk", "kind")[:500]:
        enqueue_on_commit(TASKS[kind], email_id=email_id)
        count += 1
    return count


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | OSError)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:255]
