"""A traveller, staff or Stripe cancels a booking: places back to every operator, open PaymentIntents cancelled,
the refund the quote gives asked of Stripe, the traveller e-mailed."""

from dataclasses import replace

from django.db import transaction

from bookings import services
from bookings.flows import changing
from bookings.flows.common import release_remote_holds
from bookings.flows.quotes import refund_quote
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
        quote = refund_quote(booking, cancellation.refund_minor)
        refunds = payment_refunds.booking_refund_request(
            booking_id=booking_id, amount_minor=quote.amount_minor, reason=reason, key=f"cancel-{booking_id}",
            cause=cause,
        )  # fmt: skip
        cancellation = replace(cancellation, refund_minor=sum(refund.amount_minor for refund in refunds))
        paid = payment_refunds.booking_money(booking_id=booking_id) is not None
        refunded = payment_refunds.booking_refunded(booking_id=booking_id, but=(Refund.Cause.CHANGE,))
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
