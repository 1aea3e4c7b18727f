"""Payments' own writes: start a payment, receive and claim webhook events, apply what Stripe says, refunds.

Calls to Stripe (the provider) happen outside database transactions; what they answer is applied
under row locks by the `*_apply` functions, which are no-ops when the state is already reached, so
repeated or reordered events have one effect. What this means for bookings is decided in
bookings.workflows, which calls these.
"""

import datetime as dt
import json
import logging
from dataclasses import dataclass

import stripe
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import Booking
from ferries.money import format_money
from maritime.queue import enqueue_on_commit
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import Intent, RefundInfo, payment_provider, webhook_secret

logger = logging.getLogger(__name__)

# How old a Stripe-Signature timestamp may be (Stripe's own default).
SIGNATURE_TOLERANCE_SECONDS = 300
INTENT_STATUSES = {
    "succeeded": Payment.Status.SUCCEEDED,
    "processing": Payment.Status.PROCESSING,
    "canceled": Payment.Status.CANCELED,
}
# Bookings that were paid, whatever happened since: staff may give back what is left of their payment.
REFUNDABLE_STATUSES = {
    Booking.Status.PAID,
    Booking.Status.CONFIRMED,
    Booking.Status.CANCELLED,
    Booking.Status.REFUNDED,
    Booking.Status.FAILED,
}
REFUND_STATUSES = {
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
    "pending": Refund.Status.REQUESTED,
    "requires_action": Refund.Status.REQUESTED,
}


class PaymentNotAllowed(Exception):
    """This booking cannot be paid now (expired, cancelled, already paid…); the message says why."""


class RefundNotAllowed(Exception):
    """Staff asked for a refund the booking cannot have (not paid, nothing left, too much); the message says why."""


class InvalidWebhook(Exception):
    """Not a genuine, recent Stripe event: bad or missing signature, stale timestamp, or not JSON."""


@dataclass(frozen=True)
class PaymentChange:
    payment: Payment
    newly_succeeded: bool
    newly_failed: bool


# --- starting a payment -------------------------------------------------------------------------


def payment_start(*, booking_id: int) -> Payment:
    """The PaymentIntent for the booking's price, created once per attempt.

    The attempt's idempotency key is stored before Stripe is called: if the answer is lost, the next
    call repeats the same key and Stripe answers the PaymentIntent it already made.
    """
    payment = _open_payment(booking_id)
    if payment.intent_id:
        return payment
    intent = payment_provider().create_intent(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        metadata={"booking_id": str(booking_id), "booking_reference": payment.booking.reference},
        idempotency_key=payment.idempotency_key,
    )
    Payment.objects.filter(pk=payment.pk).update(intent_id=intent.id, client_secret=intent.client_secret)
    payment.intent_id, payment.client_secret = intent.id, intent.client_secret
    return payment


@transaction.atomic
def _open_payment(booking_id: int) -> Payment:
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status != Booking.Status.HELD:
        raise PaymentNotAllowed(_("This booking is %(status)s and cannot be paid.") % {
            "status": booking.get_status_display().lower()
        })  # fmt: skip
    if booking.hold_expires_at <= timezone.now():
        raise PaymentNotAllowed(_("The hold on these places has expired; please search again."))
    open_payment = (
        booking.payments.filter(
            status__in=[Payment.Status.CREATED, Payment.Status.PROCESSING, Payment.Status.FAILED],
            amount_minor=booking.total_minor,
            currency=booking.currency,
        )
        .order_by("-attempt")
        .first()
    )
    # A failed card leaves its PaymentIntent reusable ("requires_payment_method"), as Stripe intends.
    if open_payment:
        return open_payment
    attempt = (booking.payments.aggregate(last=Max("attempt"))["last"] or 0) + 1
    return Payment.objects.create(
        booking=booking,
        provider=payment_provider().name,
        attempt=attempt,
        idempotency_key=f"maritime-{booking.reference}-payment-{attempt}",
        amount_minor=booking.total_minor,
        currency=booking.currency,
    )


def payments_cancel_open(*, booking_id: int) -> int:
    """Cancel the booking's PaymentIntents that have not succeeded (its hold expired): no late charge."""
    cancelled = 0
    provider = payment_provider()
    for payment in Payment.objects.filter(booking_id=booking_id, intent_id__isnull=False).exclude(
        status__in=[Payment.Status.SUCCEEDED, Payment.Status.CANCELED]
    ):
        try:
            intent = provider.cancel_intent(payment.intent_id)
        except stripe.InvalidRequestError as exc:  # already succeeded or canceled at Stripe: sync says which
            logger.info("payment %s not cancelled: %s", payment.intent_id, exc)
            continue
        payment_apply(intent=intent)
        cancelled += 1
    return cancelled


# --- webhooks -----------------------------------------------------------------------------------


def webhook_receive(*, payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Check the signature, store the event once, enqueue its processing after commit.

    Answers (event, created); a duplicate delivery is stored once and enqueued once.
    """
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, webhook_secret(), tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidWebhook(str(exc).split(".")[0]) from None
    stored, created = _webhook_store(event_id=event.id, kind=event.type, payload=payload)
    if created:
        enqueue_on_commit("payments.tasks.process_payment_webhook_task", event_id=stored.event_id)
    return stored, created


def _webhook_store(*, event_id: str, kind: str, payload: bytes | str) -> tuple[WebhookEvent, bool]:
    """(the event's row, whether it is new). One statement, so one round trip, and atomic on its own: Stripe waits
    for our answer, and a duplicate delivery racing the first one finds the row the first one inserted. The payload
    is stored as received (checked as JSON by the signature check already)."""
    if connection.vendor != "postgresql":  # the embedded default's SQLite: the same, in two statements
        with transaction.atomic():
            return WebhookEvent.objects.get_or_create(
                event_id=event_id, defaults={"type": kind, "payload": json.loads(payload)}
            )
    table = WebhookEvent._meta.db_table
    received_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, type, payload, received_at, attempts, last_error) "
            "VALUES (%s, %s, %s::jsonb, %s, 0, '') ON CONFLICT (event_id) DO NOTHING RETURNING id",
            [event_id, kind, payload.decode() if isinstance(payload, bytes) else payload, received_at],
        )
        row = cursor.fetchone()
    if row is None:
        return WebhookEvent.objects.get(event_id=event_id), False
    return WebhookEvent(pk=row[0], event_id=event_id, type=kind, received_at=received_at), True


def webhook_event_objects(*, event_id: str) -> list[Intent | RefundInfo]:
    """Fetch again from Stripe the objects the event is about: it is only a trigger, never the truth."""
    event = WebhookEvent.objects.get(event_id=event_id)
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    if event.processed_at:
        return []
    obj = event.payload.get("data", {}).get("object", {})
    provider = payment_provider()
    if event.type.startswith("payment_intent."):
        return [provider.retrieve_intent(obj["id"])]
    if event.type in {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}:
        return [provider.retrieve_refund(obj["id"])]
    if event.type == "charge.refunded":
        refunds = Refund.objects.filter(payment__intent_id=obj.get("payment_intent"), refund_id__isnull=False)
        return [provider.retrieve_refund(refund.refund_id) for refund in refunds]
    return []  # an event we do not act on: acknowledged and marked processed


def webhook_event_claim(*, event_id: str) -> bool:
    """Lock the event for processing (inside the caller's transaction); False if it was already processed."""
    return WebhookEvent.objects.select_for_update().filter(event_id=event_id, processed_at__isnull=True).exists()


def webhook_event_done(*, event_id: str) -> None:
    WebhookEvent.objects.filter(event_id=event_id).update(processed_at=timezone.now(), last_error="")


def webhook_event_failed(*, event_id: str, error: Exception) -> None:
    WebhookEvent.objects.filter(event_id=event_id).update(last_error=f"{type(error).__name__}: {error}"[:255])


def webhook_events_unprocessed(*, received_before: dt.datetime) -> list[str]:
    return list(
        WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=received_before).values_list(
            "event_id", flat=True
        )[:500]
    )


# --- applying what Stripe says ------------------------------------------------------------------


def payment_apply(*, intent: Intent) -> PaymentChange | None:
    """Bring our Payment to the intent's current state, under its row lock. A succeeded payment stays so."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("booking").filter(intent_id=intent.id).first()
        if payment is None:
            logger.warning("no payment of ours for intent %s", intent.id)
            return None
        if payment.status == Payment.Status.SUCCEEDED:
            return PaymentChange(payment, newly_succeeded=False, newly_failed=False)
        status = INTENT_STATUSES.get(intent.status)
        if status is None:  # requires_payment_method after a decline, or still awaiting the traveller
            status = Payment.Status.FAILED if intent.last_error else Payment.Status.CREATED
        changed = status != payment.status
        payment.status = status
        payment.last_error = intent.last_error
        payment.save(update_fields=["status", "last_error", "updated_at"])
        return PaymentChange(
            payment,
            newly_succeeded=changed and status == Payment.Status.SUCCEEDED,
            newly_failed=changed and status == Payment.Status.FAILED,
        )


def refund_apply(*, info: RefundInfo) -> Refund | None:
    """Bring our Refund to Stripe's current state; answers it when it has just succeeded."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(refund_id=info.id).first()
        if refund is None:
            logger.warning("no refund of ours for %s", info.id)
            return None
        status = REFUND_STATUSES.get(info.status, Refund.Status.REQUESTED)
        if refund.status == status or refund.status == Refund.Status.SUCCEEDED:
            return None
        refund.status = status
        refund.save(update_fields=["status", "updated_at"])
        return refund if status == Refund.Status.SUCCEEDED else None


def payments_in_doubt(*, before: dt.datetime) -> list[int]:
    """Payments whose outcome we have not heard of since `before` (a webhook may have been lost)."""
    return list(
        Payment.objects.filter(
            status__in=[Payment.Status.PROCESSING, Payment.Status.CREATED],
            intent_id__isnull=False,
            updated_at__lt=before,
            booking__status__in=[Booking.Status.HELD, Booking.Status.EXPIRED],
        ).values_list("pk", flat=True)[:500]
    )


def payment_fetch(*, payment_id: int) -> Intent:
    return payment_provider().retrieve_intent(Payment.objects.get(pk=payment_id).intent_id)


# --- refunds ------------------------------------------------------------------------------------


def booking_payment(*, booking_id: int) -> Payment | None:
    """The payment that paid the booking (the latest that succeeded)."""
    return Payment.objects.filter(booking_id=booking_id, status=Payment.Status.SUCCEEDED).order_by("-attempt").first()


def refund_request(*, payment: Payment, amount_minor: int, reason: str, key: str) -> Refund | None:
    """Record a refund of `payment` and enqueue it; one per `key`, however often asked, and never more than
    is left of the payment (a refund asked after part was given back gives back the rest)."""
    if amount_minor <= 0:
        return None
    idempotency_key = f"maritime-refund-{key}"
    with transaction.atomic():
        # Two refunds asked at once wait for each other here, so both cannot take what is left.
        Payment.objects.select_for_update().filter(pk=payment.pk).exists()
        refund = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if refund:
            return refund
        amount_minor = min(amount_minor, payment_refundable(payment=payment))
        if amount_minor <= 0:
            return None
        refund = Refund.objects.create(
            idempotency_key=idempotency_key, payment=payment, amount_minor=amount_minor, currency=payment.currency,
            reason=reason[:255],
        )  # fmt: skip
        enqueue_on_commit("payments.tasks.send_refund_task", refund_id=refund.pk)
    return refund


def payment_refundable(*, payment: Payment) -> int:
    """What is left to refund of the payment: its amount less every refund made or under way."""
    counted = [Refund.Status.PENDING, Refund.Status.REQUESTED, Refund.Status.SUCCEEDED]
    asked = Refund.objects.filter(payment=payment, status__in=counted).aggregate(total=Sum("amount_minor"))["total"]
    return max(payment.amount_minor - (asked or 0), 0)


def booking_refundable(*, booking_id: int) -> tuple[Payment, int]:
    """The payment staff may give part of back, and how much is left of it; raises RefundNotAllowed saying why not."""
    booking = Booking.objects.get(pk=booking_id)
    if booking.status not in REFUNDABLE_STATUSES:
        raise RefundNotAllowed(
            _("A booking that is %(status)s was not paid.") % {"status": booking.get_status_display().lower()}
        )
    payment = booking_payment(booking_id=booking_id)
    if payment is None:
        raise RefundNotAllowed(_("This booking has no successful payment to refund."))
    left = payment_refundable(payment=payment)
    if not left:
        raise RefundNotAllowed(_("Everything paid for this booking is refunded or being refunded."))
    return payment, left


def refund_request_amount(*, booking_id: int, amount_minor: int, reason: str, key: str) -> Refund:
    """A refund of part of what was paid for the booking, asked by staff: more than nothing, at most what is
    left of the payment. Raises RefundNotAllowed saying why not; the same `key` answers the same refund."""
    if amount_minor <= 0:
        raise RefundNotAllowed(_("A refund is more than nothing."))
    repeated = Refund.objects.filter(idempotency_key=f"maritime-refund-{key}").first()
    if repeated:
        return repeated  # the same form sent twice
    with transaction.atomic():
        payment, _left = booking_refundable(booking_id=booking_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        left = payment_refundable(payment=payment)
        if amount_minor > left:
            raise RefundNotAllowed(
                _("At most %(left)s is left to refund.") % {"left": format_money(left, payment.currency)}
            )
        return refund_request(payment=payment, amount_minor=amount_minor, reason=reason, key=key)


def refund_send(*, refund_id: int) -> RefundInfo | None:
    """Ask Stripe for the refund (same idempotency key every time); answers what Stripe said."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return None
    info = payment_provider().create_refund(
        intent_id=refund.payment.intent_id, amount_minor=refund.amount_minor, idempotency_key=refund.idempotency_key
    )
    Refund.objects.filter(pk=refund.pk, refund_id__isnull=True).update(refund_id=info.id)
    Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(status=Refund.Status.REQUESTED)
    return info


def refund_failed(*, refund_id: int, error: Exception) -> None:
    Refund.objects.filter(pk=refund_id).update(status=Refund.Status.FAILED, last_error=str(error)[:255])


def refunds_pending(*, before: dt.datetime) -> list[int]:
    return list(Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=before).values_list("pk", flat=True))


def booking_refunded_in_full(*, booking_id: int) -> bool:
    """Every refund asked for the booking has gone through."""
    refunds = Refund.objects.filter(payment__booking_id=booking_id)
    return refunds.exists() and not refunds.exclude(status=Refund.Status.SUCCEEDED).exists()
