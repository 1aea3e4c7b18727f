"""Changing a booking: the quote (new places held until its deadline), the traveller's go-ahead, the difference paid
through the same Stripe flow as a booking's price or refunded, the legs swapped, the new e-tickets e-mailed.

An abandoned quote expires like a hold; money that arrives for a change no longer on offer goes back in full, and
staff are told. An operator that will not make the change leaves the booking exactly as it was, and gives back
what the change took.
"""

import logging

from django.db import transaction
from django.utils import timezone

from bookings import changes
from bookings.change_requests import ChangeRefused, change_plan, read_change
from bookings.flows.common import alert_staff
from bookings.models import Booking, BookingChange
from bookings.services import booking_has_remote_holds
from bookings.tasks import make_change_task, release_change_holds_task, send_manifest_task
from ferries.errors import OperatorError, OperatorRefused
from kernel.money import format_money
from notifications.models import Email
from notifications.services import email_enqueue
from payments import invoices
from payments import refunds as payment_refunds
from payments import services as payments
from payments.models import Payment, Refund
from payments.tasks import cancel_open_payments_task

logger = logging.getLogger(__name__)


def change_request(*, booking: Booking, data, actor: str) -> BookingChange:
    """Quote the change `data` asks of the booking: ValidationError naming the field for bad input, ChangeRefused
    naming the rule that forbids it, OperatorUnavailable when an operator does not answer. A quote still pending is
    replaced."""
    wanted = read_change(booking, data)
    change = changes.change_quote(plan=change_plan(booking, wanted), wanted=data, actor=actor)
    after_replaced(booking)
    return change


def after_replaced(booking: Booking) -> None:
    """Quotes the booking's latest change replaced: remote operators get their places back, open PaymentIntents
    are cancelled."""
    for dropped in booking.changes.filter(status=BookingChange.Status.SUPERSEDED, remote_pending=True):
        _after_drop(dropped)
    for dropped in booking.changes.filter(status=BookingChange.Status.SUPERSEDED):
        _cancel_payments(dropped)


def change_confirm(*, change: BookingChange) -> tuple[BookingChange, Payment | None]:
    """The traveller accepts the quote. Something due: the PaymentIntent for it (the change awaits its payment).
    Nothing due: the change is made now, and any refund asked. ChangeRefused when the quote is no longer on offer."""
    change = changes.change_confirm(change=change)
    if change.status == BookingChange.Status.AWAITING_PAYMENT:
        return change, change_payment_open(change=change)
    if change.status == BookingChange.Status.PAID:
        try:
            change = change_make(change_id=change.pk)
        except OperatorError as exc:
            logger.warning("change %s: operator unavailable, retried on the bookings queue: %s", change.pk, exc)
            make_change_task.delay(booking_id=change.booking_id, change_id=change.pk)
    return change, None


def change_payment_open(*, change: BookingChange) -> Payment:
    """The PaymentIntent for what the change costs, while it awaits payment (ChangeRefused otherwise)."""
    with transaction.atomic():
        change = changes.change_lock(booking_id=change.booking_id, change_id=change.pk)
        if change.status != BookingChange.Status.AWAITING_PAYMENT:
            changes.change_check_pending(change)
            raise ChangeRefused("change_not_awaiting_payment", "This change has nothing to pay.")
        changes.change_check_pending(change)
        payment = payments.payment_open(booking=change.booking, change=change)
    return payments.payment_intent_create(payment=payment)


def change_payment_settle(*, payment: Payment, booking: Booking) -> None:
    """Money arrived for a change (caller's transaction, booking and payment locked): the change is made if it still
    awaits this payment; otherwise the money goes back in full and staff are told."""
    change = changes.change_lock(booking_id=booking.pk, change_id=payment.change_id)
    if payment.status == Payment.Status.MISMATCHED:
        why = payment.last_error
    elif (payment.amount_minor, payment.currency) != (change.due_minor, change.currency):
        why = "the payment's amount is not what the change costs"
    elif change.status != BookingChange.Status.AWAITING_PAYMENT or booking.status != Booking.Status.CONFIRMED:
        why = f"paid while the change was {change.status} and the booking {booking.status}"
    else:
        changes.change_mark_paid(change=change)
        invoices.invoice_for_payment(payment=payment)
        make_change_task.delay_on_commit(booking_id=booking.pk, change_id=change.pk)
        return
    cause = Refund.Cause.MISMATCH if payment.status == Payment.Status.MISMATCHED else Refund.Cause.NOT_HONOURED
    payment_refunds.refund_request(
        payment=payment, amount_minor=payment.taken_minor, reason=why, key=f"payment-{payment.pk}-not-sellable",
        cause=cause,
    )  # fmt: skip
    alert_staff(
        f"Payment for a change of {booking.reference} refunded",
        f"Payment {payment.intent_id} took {format_money(payment.taken_minor, payment.taken_currency)} for change "
        f"{change.number} of booking {booking.reference}, which it cannot pay for: {why}. It is being refunded in "
        "full.",
    )


def change_make(*, change_id: int) -> BookingChange:
    """Make a paid change: remote operators' new holds confirmed, then the legs swapped in one transaction, the new
    e-tickets e-mailed, any saving refunded; the old places given back. An operator's refusal fails the change (the
    booking stays as it was, what was paid for it goes back). OperatorError propagates, to be tried again."""
    change = BookingChange.objects.get(pk=change_id)
    try:
        changes.change_confirm_remote_legs(change_id=change_id)
    except OperatorRefused as refusal:
        return change_failed(change_id=change_id, reason=f"the operator refused: {refusal.message}")
    booking = Booking.objects.get(pk=change.booking_id)
    if change.status == BookingChange.Status.PAID and booking.status != Booking.Status.CONFIRMED:
        return change_failed(change_id=change_id, reason=f"the booking is {booking.status}")
    with transaction.atomic():
        change, made = changes.change_swap(change_id=change_id, booking_id=change.booking_id)
        if made:
            _made(change)
    after_made(change)
    return change


def _made(change: BookingChange) -> None:
    booking = change.booking
    paid = sum(p.taken_minor for p in change.payments.filter(status=Payment.Status.SUCCEEDED))
    refunds = payment_refunds.booking_refund_request(
        booking_id=booking.pk, amount_minor=change.refund_minor, reason=f"change {change.number}: {change.summary}",
        key=f"change-{change.pk}", cause=Refund.Cause.CHANGE,
    )  # fmt: skip
    refunded = sum(refund.amount_minor for refund in refunds)
    numbers = list(change.payments.filter(invoice__isnull=False).values_list("invoice__number", flat=True))
    email_enqueue(
        booking=booking, kind=Email.Kind.BOOKING_CHANGED, key=str(change.number),
        details={"paid_minor": paid, "refund_minor": refunded, "fee_minor": change.fee_minor,
                 "invoice": numbers[0] if numbers else ""},
    )  # fmt: skip


def change_failed(*, change_id: int, reason: str) -> BookingChange:
    """The change cannot be made: its new places go back, what was paid for it is refunded, staff are told."""
    change = BookingChange.objects.get(pk=change_id)
    with transaction.atomic():
        change, failed = changes.change_fail(change_id=change_id, booking_id=change.booking_id, reason=reason)
        if not failed:
            return change
        for payment in change.payments.filter(status=Payment.Status.SUCCEEDED):
            payment_refunds.refund_request(
                payment=payment, amount_minor=payment.taken_minor, reason=f"change failed: {reason}",
                key=f"change-failed-{change.pk}-{payment.pk}", cause=Refund.Cause.OPERATOR_REFUSED,
            )  # fmt: skip
    _after_drop(change)
    _cancel_payments(change)
    alert_staff(
        f"Change of {change.booking.reference} failed",
        f"Change {change.number} of booking {change.booking.reference} ({change.summary}) could not be made: {reason}. "
        "The booking stays as it was; anything paid for the change is being refunded.",
    )
    return change


def changes_expire() -> int:
    """Expire quotes not paid in time (beat, every minute): new places back, their PaymentIntents cancelled."""
    expired = changes.changes_expire_overdue(now=timezone.now())
    for change in BookingChange.objects.filter(pk__in=expired):
        _after_drop(change)
        _cancel_payments(change)
    if expired:
        logger.info("expired %d unpaid changes", len(expired))
    return len(expired)


def changes_drop_open(*, booking_id: int, reason: str) -> None:
    """The booking is cancelled: a change still pending is dropped (caller's transaction, booking locked)."""
    for change in BookingChange.objects.filter(booking_id=booking_id, status__in=BookingChange.PENDING):
        changes.change_fail(change_id=change.pk, booking_id=booking_id, reason=reason)
        transaction.on_commit(lambda change=change: (_after_drop(change), _cancel_payments(change)))


def change_release_remote(*, change_id: int) -> None:
    changes.change_release_remote(change_id=change_id)


def after_made(change: BookingChange) -> None:
    """A change made: remote operators get the places it no longer needs back, and the passenger list as it is now,
    on the bookings queue."""
    _after_drop(change)
    if change.status == BookingChange.Status.CONFIRMED and booking_has_remote_holds(booking_id=change.booking_id):
        send_manifest_task.delay_on_commit(booking_id=change.booking_id)


def _after_drop(change: BookingChange) -> None:
    """Remote operators get back what the change no longer needs, on the bookings queue."""
    change.refresh_from_db(fields=["status", "old_legs", "new_legs", "remote_pending"])
    if change.remote_pending:
        release_change_holds_task.delay_on_commit(change_id=change.pk)


def _cancel_payments(change: BookingChange) -> None:
    if Payment.objects.filter(change=change, status__in=payments.OPEN_STATUSES, intent_id__isnull=False).exists():
        cancel_open_payments_task.delay_on_commit(booking_id=change.booking_id, change_id=change.pk)
