"""Money given back, or held back: refunds (ours, and those made in the Stripe dashboard) and disputes, and what is
left of a payment to refund. Calls to Stripe happen outside transactions; what it answers is applied under row
locks, a no-op when already applied. The flows decide what a refund means for its booking."""

import datetime as dt
import logging
from dataclasses import dataclass

import stripe
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from kernel.metrics import REFUNDS, count_on_commit
from kernel.money import format_money
from payments.models import Dispute, Payment, Refund
from payments.providers import REFUND_KEY_METADATA, DisputeInfo, RefundInfo, payment_provider
from payments.services import booking_payments
from payments.tasks import send_refund_task

logger = logging.getLogger(__name__)

REFUND_STATUSES = {
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
    "pending": Refund.Status.REQUESTED,
    "requires_action": Refund.Status.REQUESTED,
}
# Refunds that count against what is left of a payment: made, or on their way.
COUNTED_REFUNDS = [Refund.Status.PENDING, Refund.Status.REQUESTED, Refund.Status.SUCCEEDED]


class RefundNotAllowed(Exception):
    """Staff asked for a refund the booking cannot have (not paid, nothing left, too much); the message says why."""


@dataclass(frozen=True)
class RefundChange:
    refund: Refund
    newly_succeeded: bool
    created: bool  # a refund made elsewhere (the Stripe dashboard), recorded now


@dataclass(frozen=True)
class DisputeChange:
    dispute: Dispute
    created: bool
    status_changed: bool
    previous_status: str


# --- what was paid, and what is left to give back -----------------------------------------------


def payment_refunded(*, payment: Payment) -> int:
    """What was given back of the payment, or is on its way back."""
    asked = Refund.objects.filter(payment=payment, status__in=COUNTED_REFUNDS).aggregate(total=Sum("amount_minor"))
    return asked["total"] or 0


def payment_disputed(*, payment: Payment) -> int:
    """What the traveller's bank holds back or took back through a dispute: not ours to refund meanwhile."""
    held = Dispute.objects.filter(payment=payment, status__in=Dispute.FUNDS_HELD).aggregate(total=Sum("amount_minor"))
    return held["total"] or 0


def payment_refundable(*, payment: Payment) -> int:
    """What is left to refund of the payment: what was taken, less every refund made or under way and any amount
    held in a dispute."""
    return max(payment.taken_minor - payment_refunded(payment=payment) - payment_disputed(payment=payment), 0)


@dataclass(frozen=True)
class BookingMoney:
    """What the booking's payments took (for its price and its changes), and what is left of them to give back."""

    paid_minor: int
    left_minor: int
    currency: str


def booking_money(*, booking_id: int) -> BookingMoney | None:
    """None when nothing was taken for the booking."""
    taken = booking_payments(booking_id=booking_id)
    if not taken:
        return None
    return BookingMoney(
        paid_minor=sum(payment.taken_minor for payment in taken),
        left_minor=sum(payment_refundable(payment=payment) for payment in taken),
        currency=taken[0].taken_currency,
    )


def booking_refund_left(*, booking_id: int) -> BookingMoney:
    """What was paid for the booking and how much of it is left to give back; RefundNotAllowed saying why not."""
    money = booking_money(booking_id=booking_id)
    if money is None:
        raise RefundNotAllowed(_("This booking has no successful payment to refund."))
    if not money.left_minor:
        raise RefundNotAllowed(_("Everything paid for this booking is refunded or being refunded."))
    return money


def booking_refunded(*, booking_id: int, but: tuple[str, ...] = ()) -> int:
    """What was given back of the booking's payments, or is on its way back, refunds of the causes `but` aside."""
    refunds = Refund.objects.filter(payment__booking_id=booking_id, status__in=COUNTED_REFUNDS).exclude(cause__in=but)
    return refunds.aggregate(total=Sum("amount_minor"))["total"] or 0


# --- refunds ------------------------------------------------------------------------------------


def refund_request(*, payment: Payment, amount_minor: int, reason: str, key: str, cause: str) -> Refund | None:
    """Record a refund of `payment` and enqueue it; one per `key`, however often asked, and never more than
    is left of the payment (a refund asked after part was given back gives back the rest)."""
    if amount_minor <= 0:
        return None
    idempotency_key = f"maritime-refund-{key}"
    with transaction.atomic():
        # Two refunds asked at once wait for each other here, so both cannot take what is left.
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if refund:
            return refund
        amount_minor = min(amount_minor, payment_refundable(payment=payment))
        if amount_minor <= 0:
            return None
        refund = Refund.objects.create(
            idempotency_key=idempotency_key, payment=payment, amount_minor=amount_minor,
            currency=payment.taken_currency, reason=reason[:255], cause=cause,
        )  # fmt: skip
        send_refund_task.delay_on_commit(refund_id=refund.pk)
    return refund


def booking_refund_request(*, booking_id: int, amount_minor: int, reason: str, key: str, cause: str) -> list[Refund]:
    """Give back `amount_minor` of what the booking's payments took, from the latest payment first (a change's, then
    the booking's own): one refund per payment and `key`, however often asked, never more than is left."""
    refunds, left = [], amount_minor
    with transaction.atomic():
        taken = booking_payments(booking_id=booking_id)
        # Locked in one order everywhere (by id), then used latest first.
        locked = {
            p.pk: p for p in Payment.objects.select_for_update().filter(pk__in=[p.pk for p in taken]).order_by("pk")
        }
        keys = {payment.pk: key if payment.change_id is None else f"{key}-p{payment.attempt}" for payment in taken}
        made = {r.idempotency_key: r for r in Refund.objects.filter(idempotency_key__in=[
            f"maritime-refund-{k}" for k in keys.values()
        ])}  # fmt: skip
        for refund in made.values():
            refunds.append(refund)
            left -= refund.amount_minor
        for payment in taken:
            if left <= 0:
                break
            if f"maritime-refund-{keys[payment.pk]}" in made:
                continue
            refund = refund_request(
                payment=locked[payment.pk], amount_minor=left, reason=reason, key=keys[payment.pk], cause=cause
            )
            if refund:
                refunds.append(refund)
                left -= refund.amount_minor
    return refunds


def refund_request_amount(*, booking_id: int, amount_minor: int, reason: str, key: str) -> list[Refund]:
    """A refund of part of what was paid for the booking, asked by staff: more than nothing, at most what is
    left of its payments. Raises RefundNotAllowed saying why not; the same `key` answers the same refunds."""
    if amount_minor <= 0:
        raise RefundNotAllowed(_("A refund is more than nothing."))
    repeated = list(Refund.objects.filter(Q(idempotency_key=f"maritime-refund-{key}") | Q(
        idempotency_key__startswith=f"maritime-refund-{key}-p"
    ), payment__booking_id=booking_id))  # fmt: skip
    if repeated:
        return repeated  # the same form sent twice
    with transaction.atomic():
        money = booking_refund_left(booking_id=booking_id)
        if amount_minor > money.left_minor:
            raise RefundNotAllowed(
                _("At most %(left)s is left to refund.") % {"left": format_money(money.left_minor, money.currency)}
            )
        return booking_refund_request(
            booking_id=booking_id, amount_minor=amount_minor, reason=reason, key=key, cause=Refund.Cause.STAFF
        )


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


def refund_apply(*, info: RefundInfo) -> RefundChange | None:
    """Bring our Refund to Stripe's current state, under its row lock; None when the refund is of no payment of ours.

    A refund of one of our payments that we did not ask for (made in the Stripe dashboard) is recorded as a refund
    of ours, so that it counts against what is left to give back.
    """
    with transaction.atomic():
        refund = _refund_of(info)
        created = False
        if refund is None:
            payment = Payment.objects.select_for_update().filter(intent_id=info.payment_intent).first()
            if payment is None:
                logger.warning("no refund or payment of ours for %s", info.id)
                return None
            refund, created = Refund.objects.get_or_create(
                refund_id=info.id,
                defaults={
                    "payment": payment, "amount_minor": info.amount_minor,
                    "currency": info.currency or payment.taken_currency,
                    "reason": "made at the provider (Stripe dashboard)", "cause": Refund.Cause.PROVIDER,
                    "idempotency_key": f"provider-{info.id}", "status": Refund.Status.REQUESTED,
                },
            )  # fmt: skip
            refund = Refund.objects.select_for_update().get(pk=refund.pk)
        status = REFUND_STATUSES.get(info.status, Refund.Status.REQUESTED)
        if refund.status == status or refund.status == Refund.Status.SUCCEEDED:
            return RefundChange(refund, newly_succeeded=False, created=created)
        refund.status = status
        refund.save(update_fields=["status", "updated_at"])
        if status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
            count_on_commit(REFUNDS, outcome=str(status))
        return RefundChange(refund, newly_succeeded=status == Refund.Status.SUCCEEDED, created=created)


def _refund_of(info: RefundInfo) -> Refund | None:
    """Our row for the provider's refund: by its id, or — when the provider's answer to our request was lost and
    the id never stored — by the key we asked it with."""
    refund = Refund.objects.select_for_update().filter(refund_id=info.id).first()
    key = info.metadata.get(REFUND_KEY_METADATA)
    if refund is None and key:
        refund = Refund.objects.select_for_update().filter(idempotency_key=key).first()
        if refund is not None and not refund.refund_id:
            Refund.objects.filter(pk=refund.pk).update(refund_id=info.id)
    return refund


def refund_failed(*, refund_id: int, error: Exception) -> None:
    if Refund.objects.filter(pk=refund_id).update(status=Refund.Status.FAILED, last_error=str(error)[:255]):
        count_on_commit(REFUNDS, outcome=str(Refund.Status.FAILED))


def refund_payment(*, refund_id: int) -> Payment:
    return Payment.objects.get(refunds__pk=refund_id)


def payment_provider_refunds(*, payment: Payment) -> list[RefundInfo]:
    """Every refund of the payment as the provider has it, wherever it was made (best effort: [] if it cannot say)."""
    try:
        return payment_provider().list_refunds(payment.intent_id)
    except stripe.StripeError as exc:
        logger.warning("refunds of %s not listed: %r", payment.intent_id, exc)
        return []


def refunds_pending(*, before: dt.datetime) -> list[int]:
    return list(Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=before).values_list("pk", flat=True))


def booking_refunded_in_full(*, booking_id: int) -> bool:
    """Every refund asked for the booking has gone through: none is on its way, and one that failed is owed no
    more (what it was for was given back another way)."""
    refunds = Refund.objects.filter(payment__booking_id=booking_id).select_related("payment")
    if not any(refund.status == Refund.Status.SUCCEEDED for refund in refunds):
        return False
    if any(refund.status in {Refund.Status.PENDING, Refund.Status.REQUESTED} for refund in refunds):
        return False
    failed = {refund.payment for refund in refunds if refund.status == Refund.Status.FAILED}
    return all(payment_refundable(payment=payment) == 0 for payment in failed)


# --- disputes -----------------------------------------------------------------------------------


def dispute_apply(*, info: DisputeInfo) -> DisputeChange | None:
    """Record the dispute as Stripe tells it now, under its row lock; None when it is about no payment of ours."""
    with transaction.atomic():
        payment = Payment.objects.filter(intent_id=info.payment_intent).first() if info.payment_intent else None
        if payment is None:
            logger.warning("no payment of ours for dispute %s", info.id)
            return None
        dispute, created = Dispute.objects.get_or_create(
            dispute_id=info.id,
            defaults={
                "payment": payment, "amount_minor": info.amount_minor, "currency": info.currency,
                "reason": info.reason[:64], "status": info.status, "evidence_due_by": info.evidence_due_by,
            },
        )  # fmt: skip
        if created:
            return DisputeChange(dispute, created=True, status_changed=True, previous_status="")
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        previous = dispute.status
        dispute.status, dispute.amount_minor = info.status, info.amount_minor
        dispute.reason, dispute.evidence_due_by = info.reason[:64], info.evidence_due_by
        dispute.save(update_fields=["status", "amount_minor", "reason", "evidence_due_by", "updated_at"])
        return DisputeChange(dispute, created=False, status_changed=previous != info.status, previous_status=previous)


def bookings_disputed() -> Q:
    """A filter of bookings with a dispute still open on one of their payments (for staff's lists)."""
    return Q(payments__disputes__status__in=Dispute.OPEN_STATUSES)
