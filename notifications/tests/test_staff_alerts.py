"""Staff alerts share the outbox with travellers' e-mails: one row per admin, once per condition and hour."""

import datetime as dt
import logging

import pytest
from django.db import IntegrityError

from bookings.tests.factories import held_booking
from notifications.models import Email
from notifications.rendering import build_message
from notifications.services import email_enqueue, email_resend, staff_alert_enqueue, staff_alert_key
from notifications.tasks import send_payment_success_email_task, send_staff_alert_email_task

pytestmark = pytest.mark.django_db

TEN_PAST = dt.datetime(2026, 12, 1, 10, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Ops", "ops@example.com"), ("Night shift", "night@example.com")]


def alert(condition: str = "failed-tasks", at: dt.datetime = TEN_PAST) -> list[Email]:
    return staff_alert_enqueue(condition=condition, subject="3 tasks failed", message="Look at them.", at=at)


def test_an_alert_is_one_row_per_admin_keyed_by_its_condition_and_hour():
    queued = alert()

    assert sorted((email.recipient, email.key, email.booking) for email in queued) == [
        ("night@example.com", "failed-tasks@2026-12-01T10", None),
        ("ops@example.com", "failed-tasks@2026-12-01T10", None),
    ]


def test_the_same_alert_within_the_hour_queues_nothing_and_the_next_hour_queues_again():
    alert()

    assert alert(at=TEN_PAST + dt.timedelta(minutes=49)) == []
    assert len(alert(at=TEN_PAST + dt.timedelta(minutes=50))) == 2


def test_the_database_refuses_a_second_row_for_the_same_alert_hour_and_address():
    alert()

    with pytest.raises(IntegrityError):
        Email.objects.create(kind=Email.Kind.STAFF_ALERT, key="failed-tasks@2026-12-01T10", recipient="ops@example.com")


def test_the_database_refuses_a_traveller_s_e_mail_without_a_booking_and_an_alert_with_one():
    with pytest.raises(IntegrityError):
        Email.objects.create(kind=Email.Kind.PAYMENT_SUCCESS, recipient="amira@example.com")


def test_travellers_e_mails_stay_once_per_booking_and_kind():
    booking = held_booking()
    email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)

    with pytest.raises(IntegrityError):
        Email.objects.create(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS, recipient="amira@example.com")


def test_with_no_admins_an_alert_queues_nothing(settings):
    settings.ADMINS = []

    assert alert() == []


def test_a_long_condition_gets_a_key_that_fits_and_stays_its_own():
    long = "Booking ABC234 failed at the operator: " + "x" * 60

    one = staff_alert_key(condition=long, at=TEN_PAST)
    other = staff_alert_key(condition=long + "y", at=TEN_PAST)

    assert len(one) == 64
    assert one.endswith("@2026-12-01T10")
    assert one != other


def test_an_alert_is_sent_as_plain_text_with_the_subject_prefix_and_a_link_to_the_operations_page(mailoutbox, settings):
    settings.SERVER_EMAIL = "robot@example.com"
    email = alert()[0]

    assert send_staff_alert_email_task.apply(kwargs={"email_id": email.pk}).get() == "sent"

    (message,) = mailoutbox
    assert message.subject == "[Maritime] 3 tasks failed"
    assert (message.from_email, message.to) == ("robot@example.com", [email.recipient])
    assert message.body.startswith("Look at them.\n")
    assert f"{settings.SITE_URL}/admin/operations/" in message.body
    assert message.alternatives == []


def test_staff_read_alerts_in_the_e_mail_admin(admin_client):
    email = alert()[0]
    build_message(email)

    listing = admin_client.get("/admin/notifications/email/?kind__exact=staff_alert")
    page = admin_client.get(f"/admin/notifications/email/{email.pk}/change/")

    assert listing.status_code == 200
    assert "failed-tasks@2026-12-01T10" in listing.content.decode()
    assert page.status_code == 200
    assert "Look at them." in page.content.decode()


def test_an_alert_sent_again_goes_to_the_address_it_was_written_for(mailoutbox):
    email = Email.objects.get(pk=alert()[0].pk)
    written_for = email.recipient
    send_staff_alert_email_task.apply(kwargs={"email_id": email.pk})

    email_resend(email_id=email.pk)

    email.refresh_from_db()
    assert (email.status, email.recipient) == (Email.Status.QUEUED, written_for)


def test_a_mail_server_s_refusal_is_kept_for_staff_but_its_words_stay_out_of_the_log(smtp_sink, caplog):
    caplog.set_level(logging.INFO)
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    smtp_sink.refuse = ["451 4.2.2 <amira@example.com>: mailbox full", "550 5.1.1 <amira@example.com>: no such user"]

    send_payment_success_email_task.apply(kwargs={"email_id": email.pk})

    email.refresh_from_db()
    assert email.status == Email.Status.FAILED
    assert "amira@example.com" in email.last_error
    ours = [record.getMessage() for record in caplog.records if not record.name.startswith("mail.log")]  # the sink's
    assert f"e-mail {email.pk} failed: SMTPDataError 550" in ours
    assert any("TransientEmailError('SMTPDataError 451')" in line for line in ours), "Celery's retry line"
    assert not [line for line in ours if "amira@example.com" in line]
