"""Alerts to staff: each condition e-mails ADMINS through the outbox, at most once per condition and clock hour."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_results.models import TaskResult

from bookings.tests.factories import held_booking
from maritime.alerts import alerts_check
from maritime.operations import queue_samples
from maritime.tasks import check_alerts_task, ping_task
from notifications.models import Email
from payments.models import WebhookEvent

ADMINS = [("Ops", "ops@example.com"), ("Night shift", "night@example.com")]


@pytest.fixture(autouse=True)
def thresholds(settings, broker):
    """Small thresholds, two admins, and empty queues."""
    settings.ADMINS = ADMINS
    settings.ALERT_QUEUE_BACKLOG = 3
    settings.ALERT_FAILED_TASKS_PER_HOUR = 3
    settings.ALERT_EMAIL_AGE_MINUTES = 30
    settings.ALERT_WEBHOOK_AGE_MINUTES = 15


# Each arranges its condition as it will be at `at`: just over the threshold, or just under it.


def tasks_waiting(at: dt.datetime, *, over: bool) -> None:
    for _ in range(3 if over else 2):
        ping_task.apply_async(queue="payments")


def tasks_failed(at: dt.datetime, *, over: bool) -> None:
    for _ in range(3 if over else 2):
        result = TaskResult.objects.create(task_id=f"failed-{TaskResult.objects.count()}", status="FAILURE")
        TaskResult.objects.filter(pk=result.pk).update(date_done=at - dt.timedelta(minutes=5))


def email_unsent(at: dt.datetime, *, over: bool) -> None:
    email = Email.objects.create(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS, recipient="a@example.com")
    Email.objects.filter(pk=email.pk).update(created_at=at - dt.timedelta(minutes=31 if over else 29))


def webhook_unprocessed(at: dt.datetime, *, over: bool) -> None:
    event = WebhookEvent.objects.create(event_id=f"evt_{WebhookEvent.objects.count()}", type="x", payload={})
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=at - dt.timedelta(minutes=16 if over else 14))


CONDITIONS = {
    "queue-backlog:payments": (tasks_waiting, "3 tasks waiting in the payments queue"),
    "failed-tasks": (tasks_failed, "3 tasks failed in the last hour"),
    "email-age": (email_unsent, "E-mails unsent for 31 min"),
    "webhook-age": (webhook_unprocessed, "Stripe events unprocessed for 16 min"),
}


def alerts() -> list[tuple[str, str, str]]:
    return sorted(
        (email.recipient, email.key.split("@")[0], email.details["subject"])
        for email in Email.objects.filter(kind=Email.Kind.STAFF_ALERT)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("condition", CONDITIONS)
def test_a_condition_over_its_threshold_alerts_each_admin_once(condition):
    arrange, subject = CONDITIONS[condition]
    now = timezone.now()
    arrange(now, over=True)

    assert alerts_check(now=now) == [condition]
    assert alerts() == [("night@example.com", condition, subject), ("ops@example.com", condition, subject)]


@pytest.mark.django_db
@pytest.mark.parametrize("condition", CONDITIONS)
def test_a_condition_alerts_again_only_in_the_next_clock_hour(condition):
    arrange, _subject = CONDITIONS[condition]
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)

    checks = {}
    for at in (hour + dt.timedelta(minutes=5), hour + dt.timedelta(minutes=55), hour + dt.timedelta(minutes=65)):
        arrange(at, over=True)
        checks[f"{at:%H:%M}"] = alerts_check(now=at)

    assert list(checks.values()) == [[condition], [], [condition]]
    assert len(alerts()) == 2 * len(ADMINS)


@pytest.mark.django_db
@pytest.mark.parametrize("condition", CONDITIONS)
def test_a_condition_under_its_threshold_alerts_nobody(condition):
    arrange, _subject = CONDITIONS[condition]
    now = timezone.now()
    arrange(now, over=False)

    assert alerts_check(now=now) == []
    assert alerts() == []


@pytest.mark.django_db
def test_with_no_admins_a_condition_is_only_logged(settings, caplog):
    settings.ADMINS = []
    now = timezone.now()
    tasks_failed(now, over=True)

    assert alerts_check(now=now) == []
    assert alerts() == []
    assert "alert failed-tasks: 3 tasks failed in the last hour" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_two_checks_racing_alert_each_admin_once():
    now = timezone.now()
    tasks_failed(now, over=True)
    start = threading.Barrier(2)

    def check():
        start.wait()
        try:
            alerts_check(now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [recipient for recipient, _condition, _subject in alerts()] == ["night@example.com", "ops@example.com"]


@pytest.mark.django_db
def test_the_alert_reaches_the_admins_by_e_mail_from_the_server_address(
    settings, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SERVER_EMAIL = "Maritime ops <ops-robot@example.com>"
    tasks_failed(timezone.now(), over=True)

    with django_capture_on_commit_callbacks(execute=True):
        check_alerts_task.apply()

    assert sorted(message.to[0] for message in mailoutbox) == ["night@example.com", "ops@example.com"]
    message = mailoutbox[0]
    assert message.subject == "[Maritime] 3 tasks failed in the last hour"
    assert message.from_email == "Maritime ops <ops-robot@example.com>"
    assert "ALERT_FAILED_TASKS_PER_HOUR" in message.body
    assert "/admin/operations/" in message.body
    assert set(Email.objects.values_list("status", flat=True)) == {Email.Status.SENT}


@pytest.mark.django_db
def test_each_check_samples_the_queue_lengths_for_the_operations_page():
    ping_task.apply_async(queue="emails")

    alerts_check()

    (_at, lengths), *_ = queue_samples(now=timezone.now().timestamp())
    assert lengths == {"default": 0, "emails": 1, "payments": 0, "bookings": 0}


def test_beat_checks_the_alerts_every_minute(settings):
    assert settings.CELERY_BEAT_SCHEDULE["check-alerts"] == {
        "task": "maritime.tasks.check_alerts_task",
        "schedule": 60.0,
    }


@pytest.mark.django_db
def test_an_unsent_staff_alert_does_not_raise_an_email_age_alert_of_its_own():
    then = timezone.now() - dt.timedelta(hours=3)
    tasks_failed(then, over=True)
    assert alerts_check(now=then) == ["failed-tasks"]
    Email.objects.filter(kind=Email.Kind.STAFF_ALERT).update(created_at=then)

    assert alerts_check(now=timezone.now()) == []
    assert Email.objects.filter(kind=Email.Kind.STAFF_ALERT).count() == len(ADMINS)
