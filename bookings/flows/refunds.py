"""Refunds: staff giving part back, each refund sent to Stripe and applied as Stripe reports it (our own, or one made
in the Stripe dashboard), and the booking refunded once nothing more is owed."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from bookings import services
from bookings.flows.cancelling import booking_cancel
from bookings.flows.common import alert_staff, locked_booking_of
from bookings.models import Booking
from bookings.policy import WAS_PAID_STATUSES
from kernel.money import format_money
from notifications.models import Email
from notifications.services import email_enqueue
from payments import invoices
from payments import refunds as payment_refunds
from payments.models import Refund
from payments.providers import RefundInfo

logger = logging.getLogger(__name__)


def _was_paid(booking_id: int) -> None:
    booking = Booking.objects.get(pk=booking_id)
    if booking.status not in WAS_PAID_STATUSES:
        raise payment_refunds.RefundNotAllowed(
            _("A booking that is %(status)s was not paid.") % {"status": booking.get_status_display().lower()}
        )


def booking_refundable(*, booking_id: int) -> payment_refunds.BookingMoney:
    """What was paid for the booking, and how much staff may still give back; RefundNotAllowed saying why not."""
    _was_paid(booking_id)
    return payment_refunds.booking_refund_left(booking_id=booking_id)


def booking_refund(*, booking_id: int, amount_minor: int, reason: str, actor: str, key: str) -> list[Refund]:
    """Staff give back part of what was paid, at most what is left; the status stays as it is.

    Raises RefundNotAllowed saying why not; the same `key` (one per form) answers the same refund. The
    traveller's refund e-mail goes when Stripe confirms the refund, as for every refund.
    """
    _was_paid(booking_id)
    refunds = payment_refunds.refund_request_amount(
        booking_id=booking_id, amount_minor=amount_minor, reason=f"{actor}: {reason}", key=key
    )
    logger.info("refunds %s of booking %s asked by %s", [r.pk for r in refunds], booking_id, actor)
    return refunds


def refund_send(*, refund_id: int) -> None:
    info = payment_refunds.refund_send(refund_id=refund_id)
    if info:
        with transaction.atomic():
            refund_changed(info)


def refund_failed(*, refund_id: int, error: Exception) -> None:
    """Stripe would not make the refund. If that is because the money was already given back outside Maritime (the
    Stripe dashboard), those refunds are recorded and nothing is owed; otherwise staff are asked to act.

    Stripe's list of the payment's refunds is read first; then, in one transaction under the booking's lock, the
    refund is marked failed, what Stripe listed is applied and the booking settled: nobody sees the refund finished
    while the booking still waits for it."""
    payment = payment_refunds.refund_payment(refund_id=refund_id)
    listed = payment_refunds.payment_provider_refunds(payment=payment)
    with transaction.atomic():
        booking = services.booking_lock(booking_id=payment.booking_id)
        payment_refunds.refund_failed(refund_id=refund_id, error=error)
        for info in listed:
            refund_changed(info)
        if payment_refunds.payment_refundable(payment=payment) == 0:
            logger.info("refund %s not made: everything paid was already refunded at Stripe", refund_id)
            _refunded_when_done(booking, reason=f"refund {refund_id}")
            return
    alert_staff(
        f"Refund {refund_id} failed", f"Stripe did not accept refund {refund_id}: {error}. Please refund by hand."
    )


def refund_changed(info: RefundInfo) -> bool:
    """Apply what Stripe says of a refund: e-mail the traveller once it is made; a refund of everything made in the
    Stripe dashboard cancels the booking. False when the refund is of no payment of ours."""
    booking = locked_booking_of(info.payment_intent)
    if booking is None:
        return False
    change = payment_refunds.refund_apply(info=info)
    if change is None:
        return False
    refund = change.refund
    if change.created:
        alert_staff(
            f"Refund made in Stripe for {booking.reference}",
            f"Refund {info.id} of {format_money(refund.amount_minor, refund.currency)} was made outside Maritime "
            f"(the Stripe dashboard). It is recorded, and counts against what booking {booking.reference} can still "
            "be refunded.",
        )
    if change.newly_succeeded:
        credit_note = invoices.credit_note_for_refund(refund=refund)
        email_enqueue(
            booking=booking, kind=Email.Kind.REFUND, key=info.id,
            details={"refund_minor": refund.amount_minor, "currency": refund.currency, "cause": refund.cause,
                     "credit_note": credit_note.number},
        )  # fmt: skip
        if _refunded_in_full_at_stripe(booking, refund):
            booking = booking_cancel(
                booking_id=booking.pk, actor="stripe", reason=f"refunded in full in Stripe ({info.id})",
                cause=Refund.Cause.PROVIDER,
            ).booking  # fmt: skip
    _refunded_when_done(booking, reason=f"refund {info.id}")
    return True


def _refunded_when_done(booking: Booking, *, reason: str) -> None:
    """A cancelled or failed booking whose refunds have all gone through becomes refunded."""
    booking.refresh_from_db(fields=["status"])
    if booking.may_become(Booking.Status.REFUNDED) and payment_refunds.booking_refunded_in_full(booking_id=booking.pk):
        services.booking_transition(booking_id=booking.pk, to=Booking.Status.REFUNDED, actor="stripe", reason=reason)


def _refunded_in_full_at_stripe(booking: Booking, refund: Refund) -> bool:
    """Everything the booking's payments took was given back, the last of it outside Maritime: the booking can no
    longer travel."""
    money = payment_refunds.booking_money(booking_id=booking.pk)
    return refund.cause == Refund.Cause.PROVIDER and booking.is_active and money is not None and not money.left_minor
