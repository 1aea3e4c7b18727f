"""Payments' own writes: start a payment, apply what Stripe says of payments, refunds and disputes, refunds.

Calls to Stripe (the provider) happen outside database transactions; what they answer is applied
under row locks by the `*_apply` functions, which are no-ops when the state is already reached, so
repeated or reordered events have one effect. Nothing here decides what a payment means for its booking:
the flows of bookings.flows do, and tell these functions what to do.
"""

import datetime as dt
import logging
from dataclasses import dataclass

import stripe
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from bookings.models import Booking, BookingChange
from kernel.metrics import PAYMENTS, count_on_commit
from kernel.money import format_money
from payments.models import Payment
from payments.providers import Intent, payment_provider

logger = logging.getLogger(__name__)

INTENT_STATUSES = {
    "succeeded": Payment.Status.SUCCEEDED,
    "processing": Payment.Status.PROCESSING,
    "canceled": Payment.Status.CANCELED,
}
# A PaymentIntent that may still take money: the traveller may be paying, or may try another card.
OPEN_STATUSES = [Payment.Status.CREATED, Payment.Status.PROCESSING, Payment.Status.FAILED]
# What the payments counter counts (kernel/metrics.py): each payment's first arrival in one of these.
PAYMENT_OUTCOMES = {Payment.Status.SUCCEEDED, Payment.Status.FAILED, Payment.Status.MISMATCHED}


@dataclass(frozen=True)
class PaymentChange:
    payment: Payment
    newly_succeeded: bool
    newly_failed: bool
    newly_mismatched: bool = False


# --- starting a payment -------------------------------------------------------------------------


def payment_open(*, booking: Booking, change: BookingChange | None = None) -> Payment:
    """The booking's open attempt at its price (or at what its `change` costs), or a new one; inside the caller's
    transaction, with the booking locked by the caller, who has checked that it may be paid. Nothing is asked of the
    provider yet: the attempt's idempotency key is stored first (see `payment_intent_create`)."""
    amount = change.due_minor if change else booking.total_minor
    open_payment = (
        booking.payments.filter(status__in=OPEN_STATUSES, amount_minor=amount, currency=booking.currency, change=change)
        .order_by("-attempt")
        .first()
    )
    # A failed card leaves its PaymentIntent reusable ("requires_payment_method"), as Stripe intends.
    if open_payment:
        return open_payment
    attempt = (booking.payments.aggregate(last=Max("attempt"))["last"] or 0) + 1
    return Payment.objects.create(
        booking=booking,
        change=change,
        provider=payment_provider().name,
        attempt=attempt,
        idempotency_key=f"maritime-{booking.reference}-payment-{attempt}",
        amount_minor=amount,
        currency=booking.currency,
    )


def payment_intent_create(*, payment: Payment) -> Payment:
    """The attempt's PaymentIntent at the provider, created once: if the answer is lost, the next call repeats the
    stored idempotency key and the provider answers the PaymentIntent it already made. Outside any transaction."""
    if payment.intent_id:
        return payment
    intent = payment_provider().create_intent(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        metadata={
            "booking_id": str(payment.booking_id),
            "booking_reference": payment.booking.reference,
            **({"change": str(payment.change.number)} if payment.change_id else {}),
        },
        idempotency_key=payment.idempotency_key,
    )
    Payment.objects.filter(pk=payment.pk).update(intent_id=intent.id, client_secret=intent.client_secret)
    payment.intent_id, payment.client_secret = intent.id, intent.client_secret
    return payment


def payments_open(*, booking_id: int, change_id: int | None = None) -> list[Payment]:
    """The booking's PaymentIntents that may still take money (those for its price, or for one of its changes)."""
    return list(
        Payment.objects.filter(
            booking_id=booking_id, change_id=change_id, intent_id__isnull=False, status__in=OPEN_STATUSES
        )
    )


def payment_cancel(*, payment: Payment) -> Intent:
    """Cancel the PaymentIntent at the provider, so no card can pay it any more; answers it as it stands.

    The provider refuses to cancel an intent that succeeded (or was canceled) meanwhile: it is fetched instead, so
    the caller learns that money was taken and can act on it.
    """
    provider = payment_provider()
    try:
        return provider.cancel_intent(payment.intent_id)
    except stripe.InvalidRequestError as exc:
        logger.info("payment %s not cancelled (%s): fetching it", payment.intent_id, exc.code or exc)
        return provider.retrieve_intent(payment.intent_id)


# --- applying what Stripe says of payments ------------------------------------------------------


def payment_apply(*, intent: Intent) -> PaymentChange | None:
    """Bring our Payment to the intent's current state, under its row lock. Money taken stays taken.

    Before a payment counts as succeeded, the provider's amount and currency are compared with ours: money taken
    in another amount or currency makes the payment "mismatched", which pays for nothing.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("booking").filter(intent_id=intent.id).first()
        if payment is None:
            logger.warning("no payment of ours for intent %s", intent.id)
            return None
        if payment.taken:
            return PaymentChange(payment, newly_succeeded=False, newly_failed=False)
        status = INTENT_STATUSES.get(intent.status)
        if status is None:  # requires_payment_method after a decline, or still awaiting the traveller
            status = Payment.Status.FAILED if intent.last_error else Payment.Status.CREATED
        payment.last_error = intent.last_error
        if status == Payment.Status.SUCCEEDED:
            taken = intent.amount_received or intent.amount_minor
            payment.received_minor, payment.received_currency = taken, intent.currency
            if (taken, intent.currency) != (payment.amount_minor, payment.currency):
                status = Payment.Status.MISMATCHED
                payment.last_error = (
                    f"The provider took {format_money(taken, intent.currency)}; "
                    f"the booking's price is {format_money(payment.amount_minor, payment.currency)}."
                )
        changed = status != payment.status
        payment.status = status
        payment.save(update_fields=["status", "last_error", "received_minor", "received_currency", "updated_at"])
        if changed and status in PAYMENT_OUTCOMES:
            count_on_commit(PAYMENTS, outcome=str(status))
        return PaymentChange(
            payment,
            newly_succeeded=changed and status == Payment.Status.SUCCEEDED,
            newly_failed=changed and status == Payment.Status.FAILED,
            newly_mismatched=changed and status == Payment.Status.MISMATCHED,
        )


def payment_lock_unsettled(*, payment_id: int) -> Payment | None:
    """The payment, locked, if money was taken and nothing was done about it yet (inside the caller's transaction)."""
    return (
        Payment.objects.select_for_update()
        .filter(
            pk=payment_id, settled_at__isnull=True, status__in=[Payment.Status.SUCCEEDED, Payment.Status.MISMATCHED]
        )
        .first()
    )


def payment_mark_settled(*, payment: Payment) -> None:
    """The booking side has acted on the money taken (paid the booking, or sent the money back)."""
    payment.settled_at = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(settled_at=payment.settled_at)


def payments_unsettled(*, before: dt.datetime) -> list[int]:
    """Payments that took money, untouched since `before`, whose booking side never acted on it."""
    return list(
        Payment.objects.filter(
            status__in=[Payment.Status.SUCCEEDED, Payment.Status.MISMATCHED],
            settled_at__isnull=True,
            updated_at__lt=before,
        ).values_list("pk", flat=True)[:500]
    )


def payments_in_doubt(*, before: dt.datetime, booking_statuses: list[str], change_statuses: list[str]) -> list[int]:
    """Open payments of bookings in `booking_statuses` (or of changes in `change_statuses`) whose outcome we have not
    heard of since `before` (a webhook may have been lost)."""
    return list(
        Payment.objects.filter(
            Q(change__isnull=True, booking__status__in=booking_statuses) | Q(change__status__in=change_statuses),
            status__in=[Payment.Status.PROCESSING, Payment.Status.CREATED],
            intent_id__isnull=False,
            updated_at__lt=before,
        ).values_list("pk", flat=True)[:500]
    )


def bookings_with_open_payments(*, before: dt.datetime, booking_statuses: list[str]) -> list[int]:
    """Bookings in `booking_statuses` that still have a PaymentIntent for their price that may take money, untouched
    since `before`."""
    return list(
        Payment.objects.filter(
            status__in=OPEN_STATUSES,
            intent_id__isnull=False,
            updated_at__lt=before,
            booking__status__in=booking_statuses,
            change__isnull=True,
        )
        .values_list("booking_id", flat=True)
        .distinct()[:500]
    )


def changes_with_open_payments(*, before: dt.datetime, change_statuses: list[str]) -> list[tuple[int, int]]:
    """(booking, change) of changes in `change_statuses` that still have a PaymentIntent that may take money."""
    return list(
        Payment.objects.filter(
            status__in=OPEN_STATUSES, intent_id__isnull=False, updated_at__lt=before, change__status__in=change_statuses
        )
        .values_list("booking_id", "change_id")
        .distinct()[:500]
    )


def payment_booking_id(*, intent_id: str) -> int | None:
    """The booking a PaymentIntent of ours pays for; None when it is not ours."""
    return Payment.objects.filter(intent_id=intent_id).values_list("booking_id", flat=True).first()


def payment_fetch(*, payment_id: int) -> Intent:
    return payment_provider().retrieve_intent(Payment.objects.get(pk=payment_id).intent_id)


def booking_payment(*, booking_id: int) -> Payment | None:
    """The payment that paid the booking's price (the latest that succeeded), not a change's."""
    return (
        Payment.objects.filter(booking_id=booking_id, change__isnull=True, status=Payment.Status.SUCCEEDED)
        .order_by("-attempt")
        .first()
    )


def booking_payments(*, booking_id: int) -> list[Payment]:
    """Every payment that took money for the booking, for its price or its changes, latest first: what can be
    refunded."""
    return list(Payment.objects.filter(booking_id=booking_id, status=Payment.Status.SUCCEEDED).order_by("-attempt"))
