"""After payment: the sale confirmed with each operator, the e-tickets sent; or, when an operator will not carry the
booking, failed, refunded and staff told."""

from django.db import transaction
from django.utils.translation import gettext as _

from bookings import services
from bookings.flows.common import alert_staff, release_remote_holds
from bookings.models import Booking
from bookings.tasks import confirm_booking_with_operator_task
from notifications.models import Email
from notifications.services import email_enqueue
from payments import refunds as payment_refunds
from payments import services as payments
from payments.models import Refund


def booking_paid(*, booking_id: int) -> None:
    """After payment: confirm the sale with each operator, on the bookings queue."""
    confirm_booking_with_operator_task.delay_on_commit(booking_id=booking_id)


def booking_confirm(*, booking_id: int) -> Booking:
    """Confirm with the operators; once confirmed, the traveller gets the e-tickets (once)."""
    booking = services.booking_confirm_with_operator(booking_id=booking_id)
    if booking.status == Booking.Status.CONFIRMED:
        email_enqueue(booking=booking, kind=Email.Kind.BOOKING_CONFIRMATION)
    return booking


def booking_confirmation_failed(*, booking_id: int, reason: str) -> None:
    """The operator refused, or never answered within the retry budget: fail, refund in full, tell staff."""
    with transaction.atomic():
        if not Booking.objects.filter(pk=booking_id, status=Booking.Status.PAID).exists():
            return  # cancelled or confirmed meanwhile: nothing has failed
        booking = services.booking_fail(booking_id=booking_id, reason=reason[:255])
        payment = payments.booking_payment(booking_id=booking_id)
        if payment:
            payment_refunds.refund_request(
                payment=payment, amount_minor=payment.taken_minor, reason="refused by the operator",
                key=f"operator-failed-{booking_id}", cause=Refund.Cause.OPERATOR_REFUSED,
            )  # fmt: skip
    release_remote_holds(booking_id)
    alert_staff(
        f"Booking {booking.reference} failed at the operator",
        f"Booking {booking.reference} was paid but could not be confirmed: {reason}\n"
        "It is marked failed and a full refund has been requested.",
    )


def booking_confirmation_retry(*, booking_id: int) -> None:
    """Staff ask the operators again to confirm a paid booking. A failed booking is not retried: its money
    is already on its way back."""
    booking = Booking.objects.get(pk=booking_id)
    if booking.status != Booking.Status.PAID:
        raise services.TransitionNotAllowed(
            _("Only a paid booking awaits the operator's confirmation; this one is %(status)s.")
            % {"status": booking.get_status_display().lower()}
        )
    booking_paid(booking_id=booking_id)
