"""Staff send an e-mail again from the outbox: it goes to the booking's contact address as corrected since."""

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.tests.factories import held_booking
from notifications.models import Email
from notifications.services import email_enqueue, email_send

pytestmark = pytest.mark.django_db


def test_an_e_mail_sent_again_goes_to_the_corrected_address(admin_client, mailoutbox):
    booking = held_booking()
    email = email_enqueue(booking=booking, kind=Email.Kind.HOLD_EXPIRED)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.FAILED, last_error="550 no such user")
    Booking.objects.filter(pk=booking.pk).update(contact_email="amira.bs@example.com")

    response = admin_client.post(
        reverse("admin:notifications_email_changelist"),
        {"action": "resend", "_selected_action": [email.pk]},
        follow=True,
    )

    assert [m.message for m in response.context["messages"]] == ["1 e-mail queued again."]
    email.refresh_from_db()
    assert (email.status, email.last_error, email.recipient) == (Email.Status.QUEUED, "", "amira.bs@example.com")
    assert email_send(email_id=email.pk) == "sent"
    assert mailoutbox[-1].to == ["amira.bs@example.com"]


def test_a_sent_e_mail_can_be_sent_again(admin_client, mailoutbox):
    email = email_enqueue(booking=held_booking(), kind=Email.Kind.HOLD_EXPIRED)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENT, sent_at=timezone.now())

    admin_client.post(
        reverse("admin:notifications_email_changelist"), {"action": "resend", "_selected_action": [email.pk]}
    )

    assert email_send(email_id=email.pk) == "sent"
    assert Email.objects.get(pk=email.pk).attempts == 1
