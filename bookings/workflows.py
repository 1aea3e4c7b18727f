"""Flows that span apps, written once: the only place that knows the whole sequence.

Interfaces (views, API, admin, tasks) call these; these call each app's services and enqueue tasks
by name after commit (maritime.queue), so task modules can call back here without an import loop.
"""

import datetime as dt
import logging

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from bookings import selectors, services
from bookings.models import Booking, BookingLeg
from ferries.models import Sailing
from ferries.services import SailingCancellation, sailing_cancel
from maritime.queue import ask, enqueue_on_commit
from notifications.models import Email
from notifications.services import email_enqueue, staff_alert_enqueue
from payments import services as payments
from payments.models import Payment, Refund
from payments.providers import Intent, RefundInfo

logger = logging.getLogger(__name__)

# Work untouched this long is taken to be lost, and enqueued again.
STALLED_AFTER = dt.timedelta(minutes=5)
# The brief's wait for the availability check before payment.
AVAILABILITY_TIMEOUT = 10


# --- cancellation and expiry --------------------------------------------------------------------


def booking_cancel(*, booking_id: int, actor: str, reason: str, full_refund: bool = False) -> services.Cancellation:
    """Cancel, give every operator its places back, and refund what the policy allows — or everything paid,
    with `full_refund`, when the operator cancelled the sailing."""
    with transaction.atomic():
        cancellation = services.booking_cancel(
            booking_id=booking_id, actor=actor, reason=reason, full_refund=full_refund
        )
        payment = payments.booking_payment(booking_id=booking_id)
        refunded = cancellation.refund_minor
        if cancellation.refund_minor and payment:
            refund = payments.refund_request(
                payment=payment, amount_minor=cancellation.refund_minor, reason=reason, key=f"cancel-{booking_id}"
            )
            refunded = refund.amount_minor if refund else 0  # less when staff already gave part back
        if cancellation.changed:
            email_enqueue(
                booking=cancellation.booking, kind=Email.Kind.CANCELLATION, details={"refund_minor": refunded}
            )
    if cancellation.changed:
        _release_remote_holds(booking_id)
        enqueue_on_commit("payments.tasks.cancel_open_payments_task", booking_id=booking_id)
    return cancellation


def bookings_expire() -> int:
    """Expire overdue holds (beat, every minute): places back, open payments cancelled; answers how many."""
    expired = services.bookings_expire_overdue()
    for booking in Booking.objects.filter(pk__in=expired):
        _release_remote_holds(booking.pk)
        enqueue_on_commit("payments.tasks.cancel_open_payments_task", booking_id=booking.pk)
        email_enqueue(booking=booking, kind=Email.Kind.HOLD_EXPIRED)
    if expired:
        logger.info("expired %d unpaid bookings", len(expired))
    return len(expired)


def bookings_retry_stalled(*, quiet_for: dt.timedelta = STALLED_AFTER) -> int:
    """Enqueue again what a lost message or a dead worker left undone (beat): holds to give back,
    paid bookings to confirm, bookings on cancelled sailings to cancel. The tasks are idempotent, so a
    duplicate is harmless."""
    before = timezone.now() - quiet_for
    releases = selectors.bookings_awaiting_release(before=before)
    for booking_id in releases:
        _release_remote_holds(booking_id)
    confirmations = selectors.bookings_awaiting_confirmation(before=before)
    for booking_id in confirmations:
        booking_paid(booking_id=booking_id)
    on_cancelled_sailings = selectors.bookings_on_cancelled_sailings()
    for booking_id in on_cancelled_sailings:
        enqueue_on_commit("bookings.tasks.cancel_booking_for_sailing_task", booking_id=booking_id)
    return len(releases) + len(confirmations) + len(on_cancelled_sailings)


def booking_paid(*, booking_id: int) -> None:
    """After payment: confirm the sale with each operator, on the bookings queue."""
    enqueue_on_commit("bookings.tasks.confirm_booking_with_operator_task", booking_id=booking_id)


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
            payments.refund_request(
                payment=payment, amount_minor=payment.amount_minor, reason="refused by the operator",
                key=f"operator-failed-{booking_id}",
            )  # fmt: skip
    _release_remote_holds(booking_id)
    _alert_staff(
        f"Booking {booking.reference} failed at the operator",
        f"Booking {booking.reference} was paid but could not be confirmed: {reason}\n"
        "It is marked failed and a full refund has been requested.",
    )


# --- staff -------------------------------------------------------------------------------------


def booking_refund(*, booking_id: int, amount_minor: int, reason: str, actor: str, key: str) -> Refund:
    """Staff give back part of what was paid, at most what is left; the status stays as it is.

    Raises RefundNotAllowed saying why not; the same `key` (one per form) answers the same refund. The
    traveller's refund e-mail goes when Stripe confirms the refund, as for every refund.
    """
    refund = payments.refund_request_amount(
        booking_id=booking_id, amount_minor=amount_minor, reason=f"{actor}: {reason}", key=key
    )
    logger.info("refund %s of booking %s asked by %s", refund.pk, booking_id, actor)
    return refund


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


def sailing_cancelled(*, sailing_id: int, reason: str, actor: str) -> tuple[SailingCancellation, int]:
    """Cancel the sailing, then every booking still travelling on it, one task each on the bookings queue
    (in full: the policy does not apply when the operator cancels). Answers the sailing's cancellation and
    how many bookings were queued.

    Raises SailingNotCancellable for a sailing that has left. Asking again queues again the bookings still
    active (a lost message); the tasks are idempotent, and the beat sweeper does the same.
    """
    with transaction.atomic():
        cancellation = sailing_cancel(sailing_id=sailing_id, reason=f"{actor}: {reason}")
        booking_ids = selectors.bookings_on_sailing(sailing_id=sailing_id)
        for booking_id in booking_ids:
            enqueue_on_commit("bookings.tasks.cancel_booking_for_sailing_task", booking_id=booking_id)
    return cancellation, len(booking_ids)


def booking_cancel_for_sailing(*, booking_id: int) -> services.Cancellation | None:
    """A sailing of the booking was cancelled: cancel the booking, refund everything paid, e-mail the traveller."""
    refs = list(
        BookingLeg.objects.filter(booking_id=booking_id, sailing__status=Sailing.Status.CANCELLED).values_list(
            "sailing__ref", flat=True
        )
    )
    if not refs:
        return None  # the sailing runs after all
    try:
        return booking_cancel(
            booking_id=booking_id, actor="operator", reason=f"sailing {', '.join(refs)} cancelled", full_refund=True
        )
    except services.TransitionNotAllowed:
        return None  # expired or failed meanwhile: nothing travels, and a failed booking is already refunded


# --- payments -----------------------------------------------------------------------------------


def payment_start(*, booking_id: int) -> Payment:
    """Check with each operator that the sailings still run as booked, then open the PaymentIntent.

    Raises PaymentNotAllowed with a message for the traveller.
    """
    booking = Booking.objects.get(pk=booking_id)
    for leg in booking.legs.select_related("sailing__route__operator", "sailing__route__origin"):
        sailing = leg.sailing
        try:
            verdict = ask(
                "bookings.tasks.check_ferry_availability_task",
                timeout=AVAILABILITY_TIMEOUT,
                operator=sailing.route.operator.code,
                sailing_id=sailing.ref,
                departure_port=sailing.route.origin.code,
                arrival_port=sailing.route.destination.code,
                departure_time=sailing.departs_at.isoformat(),
                # Our hold already counts the party: what is asked is whether the sailing still runs as sold.
                passenger_count=0,
            )
        except (CeleryTimeoutError, KombuOperationalError) as exc:
            logger.warning("availability check for %s unanswered: %r", booking.reference, exc)
            raise payments.PaymentNotAllowed(
                _("We could not check with the operator just now; please try again.")
            ) from None
        if verdict["status"] != "available":
            raise payments.PaymentNotAllowed(verdict["message"])
    return payments.payment_start(booking_id=booking_id)


def payment_event_process(*, event_id: str) -> None:
    """A Stripe event, once: fetch what it is about from Stripe, then apply it with the booking's consequences."""
    facts = payments.webhook_event_objects(event_id=event_id)
    with transaction.atomic():
        if not payments.webhook_event_claim(event_id=event_id):
            return
        for fact in facts:
            if isinstance(fact, Intent):
                _intent_changed(fact)
            else:
                _refund_changed(fact)
        payments.webhook_event_done(event_id=event_id)


def payment_reconcile(*, payment_id: int) -> None:
    """Ask Stripe where a payment stands when its webhook may have been lost."""
    intent = payments.payment_fetch(payment_id=payment_id)
    with transaction.atomic():
        _intent_changed(intent)


def refund_send(*, refund_id: int) -> None:
    info = payments.refund_send(refund_id=refund_id)
    if info:
        with transaction.atomic():
            _refund_changed(info)


def refund_failed(*, refund_id: int, error: Exception) -> None:
    payments.refund_failed(refund_id=refund_id, error=error)
    _alert_staff(
        f"Refund {refund_id} failed", f"Stripe did not accept refund {refund_id}: {error}. Please refund by hand."
    )


def payments_sweep(*, quiet_for: dt.timedelta = STALLED_AFTER) -> int:
    """Enqueue again (beat): webhook events not processed, payments not heard of, refunds not sent."""
    before = timezone.now() - quiet_for
    events = payments.webhook_events_unprocessed(received_before=before)
    for event_id in events:
        enqueue_on_commit("payments.tasks.process_payment_webhook_task", event_id=event_id)
    in_doubt = payments.payments_in_doubt(before=before)
    for payment_id in in_doubt:
        enqueue_on_commit("payments.tasks.reconcile_payment_task", payment_id=payment_id)
    refunds = payments.refunds_pending(before=before)
    for refund_id in refunds:
        enqueue_on_commit("payments.tasks.send_refund_task", refund_id=refund_id)
    return len(events) + len(in_doubt) + len(refunds)


def _intent_changed(intent: Intent) -> None:
    change = payments.payment_apply(intent=intent)
    if change and change.newly_succeeded:
        _payment_succeeded(change.payment)


def _payment_succeeded(payment: Payment) -> None:
    """Money arrived: pay the booking — or, when it can no longer be sold, give the money back."""
    booking = Booking.objects.select_for_update().get(pk=payment.booking_id)
    late = booking.status == Booking.Status.EXPIRED
    if booking.status == Booking.Status.HELD or (late and services.booking_rehold(booking_id=booking.pk)):
        reason = f"payment {payment.intent_id}" + (" after the hold expired; places taken again" if late else "")
        booking = services.booking_transition(
            booking_id=booking.pk, to=Booking.Status.PAID, actor="stripe", reason=reason
        )
        email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)
        booking_paid(booking_id=booking.pk)
        return
    if late:
        services.booking_transition(
            booking_id=booking.pk, to=Booking.Status.CANCELLED, actor="system",
            reason="paid after the hold expired; the places were sold",
        )  # fmt: skip
    payments.refund_request(
        payment=payment, amount_minor=payment.amount_minor, reason=f"paid while {booking.status}",
        key=f"payment-{payment.pk}-not-sellable",
    )  # fmt: skip
    _alert_staff(
        f"Payment for {booking.reference} refunded",
        f"Payment {payment.intent_id} arrived for booking {booking.reference}, which was {booking.status}; "
        "it is being refunded in full.",
    )


def _refund_changed(info: RefundInfo) -> None:
    refund = payments.refund_apply(info=info)
    if refund is None:
        return
    booking_id = refund.payment.booking_id
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    email_enqueue(booking=booking, kind=Email.Kind.REFUND, key=info.id, details={"refund_minor": refund.amount_minor})
    if booking.may_become(Booking.Status.REFUNDED) and payments.booking_refunded_in_full(booking_id=booking_id):
        services.booking_transition(
            booking_id=booking_id, to=Booking.Status.REFUNDED, actor="stripe", reason=f"refund {info.id}"
        )


def _alert_staff(subject: str, message: str) -> None:
    logger.error("%s: %s", subject, message)
    # Through the outbox: sent after commit by the emails queue, retried, and at most once an hour per subject.
    staff_alert_enqueue(condition=subject, subject=subject, message=message)


def _release_remote_holds(booking_id: int) -> None:
    if services.booking_has_remote_holds(booking_id=booking_id):
        enqueue_on_commit("bookings.tasks.release_booking_holds_task", booking_id=booking_id)
