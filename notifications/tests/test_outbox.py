"""The outbox: each e-mail once, sent by one worker, retried on what a mail server may cure, never lost."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from bookings.tests.factories import confirmed_booking, held_booking
from notifications.models import Email
from notifications.services import email_enqueue, email_send, emails_requeue_lost
from notifications.tasks import send_booking_confirmation_email_task, send_payment_success_email_task


@pytest.mark.django_db
def test_asking_twice_for_an_e_mail_queues_it_once(broker, django_capture_on_commit_callbacks):
    booking = held_booking()

    with django_capture_on_commit_callbacks(execute=True):
        first = email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)
        again = email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)

    assert first.pk == again.pk
    assert (first.recipient, first.language, first.status) == ("amira@example.com", "en", Email.Status.QUEUED)
    assert broker.queue_length("emails") == 1


@pytest.mark.django_db
def test_a_repeatable_kind_is_queued_once_per_key():
    booking = held_booking()

    for key in ("re_1", "re_2", "re_1"):
        email_enqueue(booking=booking, kind=Email.Kind.REFUND, key=key, details={"refund_minor": 100})

    assert Email.objects.filter(kind=Email.Kind.REFUND).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_triggered_from_two_threads_is_sent_once(smtp_sink):
    booking = held_booking()
    start = threading.Barrier(2)
    outcomes = []

    def trigger():
        start.wait()
        try:
            email = email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)
            outcomes.append(email_send(email_id=email.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(smtp_sink.messages) == 1
    assert Email.objects.get().attempts == 1


@pytest.mark.django_db
def test_a_confirmation_and_a_receipt_are_built_and_sent_in_a_handful_of_queries(
    smtp_sink, django_assert_max_num_queries
):
    booking = confirmed_booking()
    # Claiming the row, reading it, the booking with its legs, passengers and vehicles, the departure terminal, the
    # receipt's invoice, the outcome: not the booking's history nor its disruptions, which no e-mail shows.
    for kind, most in ((Email.Kind.BOOKING_CONFIRMATION, 8), (Email.Kind.PAYMENT_SUCCESS, 9)):
        email = Email.objects.get(booking=booking, kind=kind)
        with django_assert_max_num_queries(most):
            assert email_send(email_id=email.pk) == "sent"
    assert len(smtp_sink.messages) == 2


@pytest.mark.django_db
def test_a_server_refusing_twice_then_accepting_gets_the_mail_on_the_third_attempt(smtp_sink):
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    smtp_sink.refuse = ["451 4.3.0 Try again later", "421 4.7.0 Too busy"]

    send_payment_success_email_task.apply(kwargs={"email_id": email.pk})

    email.refresh_from_db()
    assert (email.status, email.attempts) == (Email.Status.SENT, 3)
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_a_permanent_refusal_fails_the_e_mail_at_once_and_staff_see_it(smtp_sink, admin_client):
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    smtp_sink.refuse = ["550 5.1.1 No such mailbox"]

    send_payment_success_email_task.apply(kwargs={"email_id": email.pk})

    email.refresh_from_db()
    assert (email.status, email.attempts) == (Email.Status.FAILED, 1)
    assert "550" in email.last_error
    page = admin_client.get("/admin/notifications/email/?status__exact=failed").content.decode()
    assert email.booking.reference in page


@pytest.mark.django_db
def test_a_server_that_never_accepts_spends_the_retry_budget_and_fails(smtp_sink):
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    smtp_sink.refuse = ["451 4.3.0 Try again later"] * 10

    send_payment_success_email_task.apply(kwargs={"email_id": email.pk})

    email.refresh_from_db()
    assert (email.status, email.attempts) == (Email.Status.FAILED, 4)
    assert smtp_sink.messages == []


@pytest.mark.django_db(transaction=True)
def test_an_e_mail_whose_task_was_never_published_is_sent_by_the_sweeper(smtp_sink, eager_tasks):
    booking = held_booking()
    lost = Email.objects.create(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION, recipient="a@example.com")
    Email.objects.filter(pk=lost.pk).update(created_at=timezone.now() - dt.timedelta(minutes=3))

    assert emails_requeue_lost() == 1

    lost.refresh_from_db()
    assert lost.status == Email.Status.SENT
    assert len(smtp_sink.messages) == 1
    assert emails_requeue_lost() == 0


@pytest.mark.django_db
def test_a_sent_e_mail_is_not_sent_again_by_a_late_duplicate_task(smtp_sink):
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.BOOKING_CONFIRMATION)

    first = send_booking_confirmation_email_task.apply(kwargs={"email_id": email.pk}).get()
    second = send_booking_confirmation_email_task.apply(kwargs={"email_id": email.pk}).get()

    assert (first, second) == ("sent", "skipped")
    assert len(smtp_sink.messages) == 1
