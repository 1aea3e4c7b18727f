"""A traveller, staff or Stripe cancels a booking: places back to every operator, open PaymentIntents cancelled,
the refund the quote gives asked of Stripe, the traveller e-mailed."""

from dataclasses import replace

from django.db import transaction

from bookings import cancellations, services
from bookings.flows import changing
from bookings.flows.common import release_remote_holds
from bookings.flows.quotes import PARTS_REFUNDED, refund_quote
from bookings.models import Booking, BookingChange
from notifications.models import Email
from notifications.services import email_enqueue
from payments import refunds as payment_refunds
from payments.models import Refund
from payments.tasks import cancel_open_payments_task


def booking_cancel(
    *,
    booking_id: int,
    actor: str,
    reason: str,
    full_refund: bool = False,
    cause: str = Refund.Cause.CANCELLATION,
) -> services.Cancellation:
    """Cancel, give every operator its places back, and refund what the policy allows — or everything paid,
    with `full_refund`, when the operator cancelled the sailing — less what was already given back. The
    cancellation answered, and e-mailed, carries the refund made."""
    with transaction.atomic():
        cancellation = services.booking_mark_cancelled(
            booking_id=booking_id, actor=actor, reason=reason, full_refund=full_refund
        )
        if not cancellation.changed:
            return cancellation
        booking = cancellation.booking
        changing.changes_drop_open(booking_id=booking_id, reason="the booking was cancelled")
        due = cancellation.refund_minor
        if full_refund and (money := payment_refunds.booking_money(booking_id=booking_id)):
            # The operator cannot carry the booking: all it took goes back, the fees its changes cost included.
            due = max(due, money.paid_minor)
        quote = refund_quote(booking, due)
        refunds = payment_refunds.booking_refund_request(
            booking_id=booking_id, amount_minor=quote.amount_minor, reason=reason, key=f"cancel-{booking_id}",
            cause=cause,
        )  # fmt: skip
        cancellation = replace(cancellation, refund_minor=sum(refund.amount_minor for refund in refunds))
        paid = payment_refunds.booking_money(booking_id=booking_id) is not None
        refunded = payment_refunds.booking_refunded(booking_id=booking_id, but=PARTS_REFUNDED)
        email_enqueue(
            booking=booking,
            kind=Email.Kind.CANCELLATION,
            details={
                "refund_minor": cancellation.refund_minor,
                "refunded_before_minor": refunded - cancellation.refund_minor,
                "paid": paid,
            },
        )
    release_remote_holds(booking_id)
    cancel_open_payments_task.delay_on_commit(booking_id=booking_id)
    return cancellation


def leg_cancel(*, booking_id: int, direction: str, actor: str, disrupted: bool = False) -> BookingChange:
    """Cancel one leg of a return (ChangeRefused saying why it cannot be): its places go back, what its fare's
    conditions give back now is refunded (all it was sold for, `disrupted`), the traveller is e-mailed the e-ticket
    of the leg that remains."""
    with transaction.atomic():
        change = cancellations.leg_cancel(booking_id=booking_id, direction=direction, actor=actor, disrupted=disrupted)
        _part_refunded(change, reason=f"{actor}: {change.summary}")
    _after_part(change)
    return change


def passenger_cancel(*, booking_id: int, passenger_id: int, actor: str) -> BookingChange:
    """Cancel one passenger (ChangeRefused saying why they cannot be): every leg sold again for the party without
    them, their share refunded as each leg's conditions allow now, the traveller e-mailed the new e-tickets."""
    booking = Booking.objects.get(pk=booking_id)
    remote = cancellations.passenger_hold_remote(booking=booking, passenger_id=passenger_id)
    try:
        with transaction.atomic():
            change = cancellations.passenger_cancel(
                booking_id=booking_id, passenger_id=passenger_id, actor=actor, remote=remote
            )
            _part_refunded(change, reason=f"{actor}: passenger cancelled")
    except BaseException:
        services.give_back([(adapter, hold.hold_ref) for adapter, hold, _ref in remote.values()])
        raise
    _after_part(change)
    return change


def _part_refunded(change: BookingChange, *, reason: str) -> None:
    refunds = payment_refunds.booking_refund_request(
        booking_id=change.booking_id, amount_minor=change.refund_minor, reason=reason, key=f"part-{change.pk}",
        cause=Refund.Cause.PARTIAL,
    )  # fmt: skip
    if sum(refund.amount_minor for refund in refunds) != change.refund_minor:
        BookingChange.objects.filter(pk=change.pk).update(refund_minor=sum(r.amount_minor for r in refunds))
        change.refresh_from_db()
    email_enqueue(
        booking=change.booking, kind=Email.Kind.BOOKING_CHANGED, key=str(change.number),
        details={"refund_minor": change.refund_minor, "paid_minor": 0, "fee_minor": 0},
    )  # fmt: skip


def _after_part(change: BookingChange) -> None:
    changing.after_replaced(change.booking)
    changing.after_made(change)
