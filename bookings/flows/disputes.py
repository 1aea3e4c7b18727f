"""Disputes (chargebacks): recorded, and staff told of each change with the date by which to answer."""

from bookings.flows.common import alert_staff, locked_booking_of
from kernel.money import format_money
from payments import refunds as payment_refunds
from payments.providers import DisputeInfo


def dispute_changed(info: DisputeInfo) -> bool:
    """Record a dispute and tell staff of each change, with the date by which to answer; False when not ours."""
    booking = locked_booking_of(info.payment_intent)
    if booking is None:
        return False
    change = payment_refunds.dispute_apply(info=info)
    if change is None:
        return False
    if change.status_changed:
        dispute = change.dispute
        due = dispute.evidence_due_by
        respond = (
            f" Respond in the Stripe dashboard by {due:%Y-%m-%d %H:%M} UTC."
            if due and dispute.status in dispute.NEEDS_RESPONSE
            else ""
        )
        alert_staff(
            f"Dispute {dispute.dispute_id} on {booking.reference}: {dispute.status}",
            f"The bank of the traveller who paid booking {booking.reference} disputes "
            f"{format_money(dispute.amount_minor, dispute.currency)} (reason: {dispute.reason or 'not given'}); the "
            f"dispute is now {dispute.status}.{respond} The disputed amount cannot be refunded meanwhile.",
        )
    return True
