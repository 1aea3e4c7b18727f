"""End to end through real parts: a real worker on every queue, a real SMTP server, a paid booking."""

import pytest
from django_celery_results.models import TaskResult

from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.tests.factories import ADULT, held_booking
from conftest import wait_until
from payments.demo import demo_card_check, demo_pay
from payments.tests.conftest import CARD_EXPIRY
from payments.webhooks import webhook_receive

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def pay_with_demo_card(booking: Booking) -> None:
    payment = payment_open(booking_id=booking.pk)
    payload, signature = demo_pay(
        intent_id=payment.intent_id,
        card=demo_card_check(number="4242424242424242", **CARD_EXPIRY),
    )
    webhook_receive(payload=payload.encode(), signature=signature)  # as the webhook endpoint does


def wait_for_messages(sink, count: int, timeout: float = 90) -> None:
    wait_until(lambda: len(sink.messages) >= count, timeout=timeout, what=f"{count} e-mails delivered")


def test_paying_delivers_one_receipt_and_one_confirmation_with_e_tickets_in_each_language(
    celery_worker_process, smtp_sink, broker
):
    celery_worker_process(
        "payments,bookings,emails",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_sink.controller.port),
        EMAIL_USE_TLS="0",
    )
    english = held_booking()
    french = held_booking(passengers=[{**ADULT, "first_name": "Chloé", "last_name": "Dupont"}])
    Booking.objects.filter(pk=french.pk).update(language="fr")

    pay_with_demo_card(english)
    pay_with_demo_card(french)
    wait_for_messages(smtp_sink, 4)
    # Anything sent twice would have arrived once the workers have nothing left, retries included.
    wait_until(broker.idle, timeout=90, what="the workers finishing every task")

    assert sorted(smtp_sink.subjects()) == sorted([
        f"Payment received for booking {english.reference}",
        f"Your booking {english.reference} is confirmed — e-tickets inside",
        f"Paiement reçu pour la réservation {french.reference}",
        f"Votre réservation {french.reference} est confirmée — billets électroniques joints",
    ])  # fmt: skip
    for booking in (english, french):
        mine = [message for subject, message in smtp_sink.received() if booking.reference in subject]
        parts = [[part.get_content_type() for part in message.walk()] for message in mine]
        assert sorted("application/pdf" in types and "image/png" in types for types in parts) == [False, True]
        assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED

    # What the workers ran is stored with its arguments: none of them names or addresses anyone.
    stored = " ".join(f"{r.task_args} {r.task_kwargs}" for r in TaskResult.objects.all())
    assert TaskResult.objects.filter(task_name__startswith="notifications.tasks.").count() == 4
    for personal in ("amira@example.com", "Amira", "Ben Salah", "Chloé", "Dupont", "+216"):
        assert personal not in stored
