"""A traveller, staff or Stripe cancels a booking: places back to every operator, open PaymentIntents cancelled,
the refund the quote gives asked of Stripe, the traveller e-mailed."""

from dataclasses import replace

from django.db import transaction

from bookings import services
from bookings.flows.common import release_remote_holds
from bookings.flows.quotes import refund_quote
from notifications.models import Email
from notifications.services import email_enqueue
from payments import refunds as payment_refunds
from payments import services as payments
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
        quote = refund_quote(booking, cancellation.refund_minor)
        payment = payments.booking_payment(booking_id=booking_id)
        refund = payment and payment_refunds.refund_request(
            payment=payment, amount_minor=quote.amount_minor, reason=reason, key=f"cancel-{booking_id}", cause=cause
        )
        cancellation = replace(cancellation, refund_minor=refund.amount_minor if refund else 0)
        email_enqueue(
            booking=booking,
            kind=Email.Kind.CANCELLATION,
            details={
                "refund_minor": cancellation.refund_minor,
                "refunded_before_minor": payment_refunds.payment_refunded(payment=payment) - cancellation.refund_minor
                if payment
                else 0,
                "paid": payment is not None,
            },
        )
    release_remote_holds(booking_id)
    cancel_open_payments_task.delay_on_commit(booking_id=booking_id)
    return cancellation
