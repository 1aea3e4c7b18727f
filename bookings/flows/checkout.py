"""Paying for a booking: the operators asked first, the PaymentIntent opened; and, once money is taken, the booking
paid if it can still be sold at this price, or the money given back. A booking with nothing to pay is paid as it
is made."""

import logging

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import transaction
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from bookings import services
from bookings.flows import changing
from bookings.flows.common import alert_staff, locked_booking_of
from bookings.flows.confirmation import booking_paid
from bookings.models import Booking
from bookings.tasks import check_ferry_availability_task
from kernel.money import format_money
from kernel.tasks import TaskFailed
from notifications.models import Email
from notifications.services import email_enqueue
from payments import invoices
from payments import refunds as payment_refunds
from payments import services as payments
from payments.models import Payment, Refund
from payments.providers import Intent

logger = logging.getLogger(__name__)


# The brief's wait for the availability check before payment.
AVAILABILITY_TIMEOUT = 10


def booking_book(*, request, owner=None, language: str = "en", idempotency_key: str | None = None) -> Booking:
    """Hold the places of a booking request (`services.booking_create`, whose errors it raises). A booking whose
    total is 0 has nothing to pay: it is paid at once and confirmed with its operators as a paid one is."""
    booking = services.booking_create(request=request, owner=owner, language=language, idempotency_key=idempotency_key)
    if booking.total_minor == 0 and booking.status == Booking.Status.HELD:
        with transaction.atomic():
            booking = services.booking_transition(
                booking_id=booking.pk, to=Booking.Status.PAID, actor="system", reason="nothing to pay"
            )
            booking_paid(booking_id=booking.pk)
    return booking


def payment_start(*, booking_id: int) -> Payment:
    """Check with each operator that the sailings still run as booked, then open the PaymentIntent.

    Raises PaymentNotAllowed with a message for the traveller.
    """
    booking = Booking.objects.get(pk=booking_id)
    sailings = [
        leg.sailing
        for leg in booking.legs.select_related(
            "sailing__route__operator", "sailing__route__origin", "sailing__route__destination"
        )
    ]
    # Every leg asked at once, the workers answering side by side: a return trip waits for the slower of its two
    # answers, not for both one after the other.
    asked = [_availability_question(sailing) for sailing in sailings]
    verdicts = check_ferry_availability_task.ask_all(timeout=AVAILABILITY_TIMEOUT, each=asked)
    for sailing in sailings:
        try:
            verdict = next(verdicts)
        except (CeleryTimeoutError, KombuOperationalError, TaskFailed) as exc:
            logger.warning("availability check for %s unanswered: %r", booking.reference, exc)
            raise services.PaymentNotAllowed(
                _(
                    "%(operator)s could not confirm this sailing just now. Nothing was charged and your places are "
                    "still held: please try again in a moment."
                )
                % {"operator": sailing.route.operator.name}
            ) from None
        if verdict["status"] != "available":
            raise services.PaymentNotAllowed(verdict["message"])
    return payment_open(booking_id=booking_id)


def _availability_question(sailing) -> dict:
    """What `check_ferry_availability_task` asks the operator of a leg's sailing: whether it still runs as sold (our
    hold already counts the party, so no places are asked for)."""
    route = sailing.route
    return {
        "operator": route.operator.code,
        "sailing_id": sailing.ref,
        "departure_port": route.origin.code,
        "arrival_port": route.destination.code,
        "departure_time": sailing.departs_at.isoformat(),
        "passenger_count": 0,
    }


def payment_open(*, booking_id: int) -> Payment:
    """The PaymentIntent for the booking's price, if the booking may be paid now (PaymentNotAllowed otherwise):
    the attempt recorded under the booking's lock, then its PaymentIntent asked of the provider, outside it."""
    with transaction.atomic():
        booking = services.booking_lock_payable(booking_id=booking_id)
        payment = payments.payment_open(booking=booking)
    return payments.payment_intent_create(payment=payment)


def booking_payments_cancel(*, booking_id: int, change_id: int | None = None) -> int:
    """The booking (or its change `change_id`) can no longer be paid: cancel its PaymentIntents that may still take
    money. One that took money meanwhile is acted on at once (given back, since it pays for nothing now). Answers how
    many were open."""
    open_payments = payments.payments_open(booking_id=booking_id, change_id=change_id)
    for payment in open_payments:
        intent = payments.payment_cancel(payment=payment)
        with transaction.atomic():
            intent_changed(intent)
    return len(open_payments)


def payment_reconcile(*, payment_id: int) -> None:
    """Ask Stripe where a payment stands when its webhook may have been lost."""
    intent = payments.payment_fetch(payment_id=payment_id)
    with transaction.atomic():
        intent_changed(intent)


def payment_settle(*, payment_id: int) -> None:
    """Act once on money taken: pay the booking when it can still be sold at this price; otherwise give the money
    back in full, and tell staff (the traveller hears of it with the refund)."""
    booking_id = Payment.objects.filter(pk=payment_id).values_list("booking_id", flat=True).first()
    if booking_id is None:
        return
    with transaction.atomic():
        booking = services.booking_lock(booking_id=booking_id)
        payment = payments.payment_lock_unsettled(payment_id=payment_id)
        if payment is None:
            return  # settled already
        _settle(payment, booking)


def _settle(payment: Payment, booking: Booking) -> None:
    """Both rows locked by the caller, the payment having taken money and not been settled."""
    if payment.change_id:
        changing.change_payment_settle(payment=payment, booking=booking)
    elif payment.status == Payment.Status.MISMATCHED:
        _give_back(payment, booking, Refund.Cause.MISMATCH, payment.last_error)
    elif (payment.amount_minor, payment.currency) != (booking.total_minor, booking.currency):
        _give_back(payment, booking, Refund.Cause.MISMATCH, "the payment's amount is no longer the booking's price")
    elif not _paid(booking, payment):
        late = booking.status == Booking.Status.EXPIRED
        if late:
            services.booking_transition(
                booking_id=booking.pk, to=Booking.Status.CANCELLED, actor="system",
                reason="paid after the hold expired; the places were sold",
            )  # fmt: skip
        _give_back(payment, booking, Refund.Cause.NOT_HONOURED, f"paid while the booking was {booking.status}")
    payments.payment_mark_settled(payment=payment)


def _paid(booking: Booking, payment: Payment) -> bool:
    """Mark the booking paid if it may still be sold (held, or expired with its places free again)."""
    late = booking.status == Booking.Status.EXPIRED
    if not (booking.status == Booking.Status.HELD or (late and services.booking_rehold(booking_id=booking.pk))):
        return False
    reason = f"payment {payment.intent_id}" + (" after the hold expired; places taken again" if late else "")
    booking = services.booking_transition(booking_id=booking.pk, to=Booking.Status.PAID, actor="stripe", reason=reason)
    invoice = invoices.invoice_for_payment(payment=payment)
    email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS, details={"invoice": invoice.number})
    booking_paid(booking_id=booking.pk)
    return True


def _give_back(payment: Payment, booking: Booking, cause: str, why: str) -> None:
    payment_refunds.refund_request(
        payment=payment, amount_minor=payment.taken_minor, reason=why,
        key=f"payment-{payment.pk}-not-sellable", cause=cause,
    )  # fmt: skip
    taken = format_money(payment.taken_minor, payment.taken_currency)
    alert_staff(
        f"Payment for {booking.reference} refunded",
        f"Payment {payment.intent_id} took {taken} for booking {booking.reference} ({booking.status}), which it "
        f"cannot pay for: {why}. It is being refunded in full.",
    )


def intent_changed(intent: Intent) -> bool:
    """Apply what Stripe says of a PaymentIntent, and act on money taken; False when the intent is not ours."""
    booking = locked_booking_of(intent.id)
    if booking is None:
        return False
    change = payments.payment_apply(intent=intent)
    if change is None:
        return False
    if change.newly_succeeded or change.newly_mismatched:
        # Settled at once, in the caller's transaction: the booking's row and the payment's are locked already (in
        # that order), and money that has only just been taken has not been acted on yet.
        _settle(change.payment, booking)
    return True
