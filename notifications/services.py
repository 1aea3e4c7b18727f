"""Queueing and sending e-mails through the outbox.

`email_enqueue` writes the row (once per booking, kind and key) and enqueues its task after commit;
`email_send` claims the row with a guarded update — two workers never send the same e-mail — sends
it, and records the outcome. SMTP errors a retry can cure (4xx, connection trouble) are raised as
TransientEmailError for the task to retry; others fail the row at once.

`staff_alert_enqueue` writes staff alerts to the same outbox, one row per address in ADMINS.

Log lines name an e-mail by its id and an error by its type and SMTP codes: a mail server's words often
repeat the recipient's address, so they are kept on the row, for staff, and not written to the log.
"""

import datetime as dt
import hashlib
import logging
import secrets
import smtplib
import socket

from django.conf import settings
from django.core.mail import get_connection
from django.db.models import F, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import Booking
from notifications.errors import TransientEmailError
from notifications.models import Email
from notifications.rendering import build_message
from notifications.tasks import EMAIL_TASKS

logger = logging.getLogger(__name__)

# A row "sending" for longer than this lost its worker: it may be claimed again.
STALE_CLAIM = dt.timedelta(minutes=10)
# Queued without an attempt for this long: its message was lost.
LOST_AFTER = dt.timedelta(minutes=2)
# Queued after a failed attempt for longer than the longest retry countdown: its retry was lost.
RETRY_LOST_AFTER = dt.timedelta(minutes=15)


def email_enqueue(*, booking: Booking, kind: str, key: str = "", details: dict | None = None) -> Email:
    """The booking's e-mail of this kind (and key), queued once however often it is asked for."""
    email, created = Email.objects.get_or_create(
        booking=booking,
        kind=kind,
        key=key,
        defaults={"recipient": booking.contact_email, "language": booking.language, "details": details or {}},
    )
    if created:
        EMAIL_TASKS[kind].delay_on_commit(email_id=email.pk)
    return email


# Kinds whose message carries a one-time secret (a link that proves an address or resets a password, a code that
# gives a booking to an account): written by whoever asks, sent as written, not kept once sent, never sent again.
ONE_TIME = frozenset({Email.Kind.ACCOUNT, Email.Kind.BOOKING_CLAIM})


def email_enqueue_written(
    *, kind: str, recipient: str, subject: str, text: str, html: str = "", language: str,
    booking: Booking | None = None, key: str = "", details: dict | None = None,
) -> Email:  # fmt: skip
    """An e-mail written already (ONE_TIME kinds), queued through the outbox: the request that asked for it answers
    without waiting for the mail server, and a lost message is swept up like any other."""
    assert kind in ONE_TIME, kind
    email = Email.objects.create(
        kind=kind, booking=booking, key=key or secrets.token_hex(16), recipient=recipient, language=language,
        details=details or {}, subject=subject[:255], body_text=text, body_html=html,
    )  # fmt: skip
    EMAIL_TASKS[kind].delay_on_commit(email_id=email.pk)
    return email


def staff_alert_enqueue(*, condition: str, subject: str, message: str, at: dt.datetime | None = None) -> list[Email]:
    """Alert each address in ADMINS through the outbox, at most once per condition and clock hour (UTC).

    The row's unique key holds the condition and the hour, so asking again within the hour — the next check,
    or a check racing this one — queues nothing. Answers the rows queued now.
    """
    key = staff_alert_key(condition=condition, at=at or timezone.now())
    queued = []
    for _name, address in settings.ADMINS:
        email, created = Email.objects.get_or_create(
            booking=None,
            kind=Email.Kind.STAFF_ALERT,
            key=key,
            recipient=address,
            defaults={"details": {"condition": condition, "subject": subject, "message": message}},
        )
        if created:
            EMAIL_TASKS[Email.Kind.STAFF_ALERT].delay_on_commit(email_id=email.pk)
            queued.append(email)
    return queued


def staff_alert_key(*, condition: str, at: dt.datetime) -> str:
    """The alert's key, "<condition>@<UTC hour>"; a long condition is shortened with a digest to fit the key."""
    hour = at.astimezone(dt.UTC).strftime("@%Y-%m-%dT%H")
    room = Email._meta.get_field("key").max_length - len(hour)
    if len(condition) > room:
        condition = condition[: room - 13] + "~" + hashlib.sha256(condition.encode()).hexdigest()[:12]
    return condition + hour


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
            raise TransientEmailError(_summary(exc), detail=_describe(exc)) from exc
        email_failed(email_id=email_id, error=exc)
        return "failed"
    if email.kind in ONE_TIME:  # its link or code is not kept
        text = html = ""
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
    logger.error("e-mail %s failed: %s", email_id, _summary(error))


def email_resend(*, email_id: int) -> Email:
    """Staff ask for an e-mail (sent or failed) to go out again — to the booking's contact address as it is
    now, since a mistyped address is the usual reason to send again once staff have corrected it."""
    if Email.objects.filter(pk=email_id, kind__in=ONE_TIME).exists():
        raise NotResendable(_("A one-time link or code is never sent again: the traveller asks for a new one."))
    contact = Booking.objects.filter(emails=email_id).values("contact_email")
    # A staff alert has no booking: it goes to the address it was written for.
    recipient = Coalesce(Subquery(contact), F("recipient"))
    Email.objects.filter(pk=email_id).update(status=Email.Status.QUEUED, last_error="", recipient=recipient)
    email = Email.objects.get(pk=email_id)
    EMAIL_TASKS[email.kind].delay_on_commit(email_id=email.pk)
    return email


class NotResendable(Exception):
    pass


def email_resend_latest(*, booking_id: int, kind: str) -> Email | None:
    """The booking's latest e-mail of this kind (refunds have one each), sent again; None if it has none."""
    email = Email.objects.filter(booking_id=booking_id, kind=kind).order_by("-created_at", "-pk").first()
    return email_resend(email_id=email.pk) if email else None


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
        EMAIL_TASKS[kind].delay_on_commit(email_id=email_id)
        count += 1
    return count


def emails_forget(*, booking_id: int, recipient: str) -> int:
    """A booking being anonymised (bookings.privacy): its e-mails keep their kind, dates and subject, not their text
    or address."""
    return Email.objects.filter(booking_id=booking_id).update(recipient=recipient, body_text="", body_html="")


def account_emails_forget(*, addresses: list[str]) -> int:
    """An account deleted: the account e-mails it was sent go with it."""
    count = 0
    for address in addresses:
        count += Email.objects.filter(kind=Email.Kind.ACCOUNT, recipient__iexact=address).delete()[0]
    return count


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _message in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | OSError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, TransientEmailError):
        return exc.detail[:255]
    return f"{type(exc).__name__}: {exc}"[:255]


def _summary(exc: Exception) -> str:
    """The error without the mail server's words: its type, and its SMTP codes when it has some."""
    if isinstance(exc, TransientEmailError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _message in exc.recipients.values()})
        return f"{type(exc).__name__} {', '.join(map(str, codes))}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return type(exc).__name__
