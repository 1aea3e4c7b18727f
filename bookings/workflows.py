"""Flows that span apps, written once: the only place that knows the whole sequence.

Interfaces (views, API, admin, tasks) call these; these call each app's services and enqueue tasks
by name after commit (maritime.queue), so task modules can call back here without an import loop.

Locks are taken in one order everywhere: the booking's row, then its payment's, then its refund's.
"""

import datetime as dt
import logging
from dataclasses import dataclass, replace

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from bookings import selectors, services
from bookings.models import Booking, BookingLeg
from bookings.policy import WAS_PAID_STATUSES, refund_due
from ferries.models import Sailing
from ferries.money import format_money
from ferries.services import SailingCancellation, sailing_cancel
from maritime.queue import TaskFailed, ask, enqueue_on_commit
from notifications.models import Email
from notifications.services import email_enqueue, staff_alert_enqueue
from payments import services as payments
from payments import webhooks
from payments.models import Payment, Refund
from payments.providers import DisputeInfo, Intent, RefundInfo

logger = logging.getLogger(__name__)

# Work untouched this long is taken to be lost, and enqueued again.
STALLED_AFTER = dt.timedelta(minutes=5)
# The brief's wait for the availability check before payment.
AVAILABILITY_TIMEOUT = 10
# How often an event about an object Stripe or we do not know is tried (a PaymentIntent's event may arrive before
# we stored its id) before it is closed with its reason.
WEBHOOK_ATTEMPTS = 5


class EventNotYetResolved(Exception):
    """A Stripe event about an object not known yet: tried again shortly (a bounded number of times)."""


@dataclass(frozen=True)
class RefundQuote:
    """What cancelling gives back, and why: the one number the page, the API, the admin and the e-mail show."""

    amount_minor: int
    currency: str
    reason: str  # not_active, not_paid, policy, policy_none, reduced_by_refunds, already_refunded, disputed
    message: str


# --- what cancelling gives back -----------------------------------------------------------------


def booking_refund_quote(*, booking: Booking, at: dt.datetime | None = None) -> RefundQuote:
    """What cancelling the booking at `at` (now) gives back: what the fare's conditions allow, less what was already
    given back, and never more than is left of the payment."""
    if not booking.is_active:
        message = _("This booking no longer travels, so there is nothing to cancel.")
        return RefundQuote(0, booking.currency, "not_active", message)
    return _quote(booking, refund_due(booking=booking, at=at or timezone.now()))


def _quote(booking: Booking, due: int) -> RefundQuote:
    payment = payments.booking_payment(booking_id=booking.pk) if booking.status in WAS_PAID_STATUSES else None
    if payment is None:
        return RefundQuote(0, booking.currency, "not_paid", _("Nothing has been paid, so there is nothing to refund."))
    given_back = payments.payment_refunded(payment=payment)
    amount = max(min(due - given_back, payments.payment_refundable(payment=payment)), 0)
    refunded = format_money(given_back, payment.taken_currency)
    if due == 0:
        reason, message = "policy_none", _("Under the fare's conditions, nothing is refunded this close to departure.")
    elif amount == due:
        reason, message = "policy", _("What the fare's conditions give back.")
    elif given_back >= due:
        reason = "already_refunded"
        message = _("%(refunded)s was already refunded: all that the fare's conditions give back.") % {
            "refunded": refunded
        }
    elif amount < due - given_back:
        reason, message = "disputed", _("Less the amount your bank holds in a dispute about this payment.")
    else:
        reason = "reduced_by_refunds"
        message = _("What the fare's conditions give back, less %(refunded)s already refunded.") % {
            "refunded": refunded
        }
    return RefundQuote(amount, payment.taken_currency, reason, message)


# --- cancellation and expiry --------------------------------------------------------------------


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
        cancellation = services.booking_cancel(
            booking_id=booking_id, actor=actor, reason=reason, full_refund=full_refund
        )
        if not cancellation.changed:
            return cancellation
        booking = cancellation.booking
        quote = _quote(booking, cancellation.refund_minor)
        payment = payments.booking_payment(booking_id=booking_id)
        refund = payment and payments.refund_request(
            payment=payment, amount_minor=quote.amount_minor, reason=reason, key=f"cancel-{booking_id}", cause=cause
        )
        cancellation = replace(cancellation, refund_minor=refund.amount_minor if refund else 0)
        email_enqueue(
            booking=booking,
            kind=Email.Kind.CANCELLATION,
            details={
                "refund_minor": cancellation.refund_minor,
                "refunded_before_minor": payments.payment_refunded(payment=payment) - cancellation.refund_minor
                if payment
                else 0,
                "paid": payment is not None,
            },
        )
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
                payment=payment, amount_minor=payment.taken_minor, reason="refused by the operator",
                key=f"operator-failed-{booking_id}", cause=Refund.Cause.OPERATOR_REFUSED,
            )  # fmt: skip
    _release_remote_holds(booking_id)
    _alert_staff(
        f"Booking {booking.reference} failed at the operator",
        f"Booking {booking.reference} was paid but could not be confirmed: {reason}\n"
        "It is marked failed and a full refund has been requested.",
    )


# --- staff -------------------------------------------------------------------------------------


def booking_refundable(*, booking_id: int) -> tuple[Payment, int]:
    """The payment staff may give part of back, and how much is left of it; RefundNotAllowed saying why not."""
    _was_paid(booking_id)
    return payments.payment_refund_left(booking_id=booking_id)


def _was_paid(booking_id: int) -> None:
    booking = Booking.objects.get(pk=booking_id)
    if booking.status not in WAS_PAID_STATUSES:
        raise payments.RefundNotAllowed(
            _("A booking that is %(status)s was not paid.") % {"status": booking.get_status_display().lower()}
        )


def booking_refund(*, booking_id: int, amount_minor: int, reason: str, actor: str, key: str) -> Refund:
    """Staff give back part of what was paid, at most what is left; the status stays as it is.

    Raises RefundNotAllowed saying why not; the same `key` (one per form) answers the same refund. The
    traveller's refund e-mail goes when Stripe confirms the refund, as for every refund.
    """
    _was_paid(booking_id)
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
        except (CeleryTimeoutError, KombuOperationalError, TaskFailed) as exc:
            logger.warning("availability check for %s unanswered: %r", booking.reference, exc)
            raise payments.PaymentNotAllowed(
                _(
                    "%(operator)s could not confirm this sailing just now. Nothing was charged and your places are "
                    "still held: please try again in a moment."
                )
                % {"operator": sailing.route.operator.name}
            ) from None
        if verdict["status"] != "available":
            raise payments.PaymentNotAllowed(verdict["message"])
    return payments.payment_start(booking_id=booking_id)


def booking_payments_cancel(*, booking_id: int) -> int:
    """The booking can no longer be paid: cancel its PaymentIntents that may still take money. One that took money
    meanwhile is acted on at once (given back, since the booking cannot be sold). Answers how many were open."""
    open_payments = payments.payments_open(booking_id=booking_id)
    for payment in open_payments:
        intent = payments.payment_cancel(payment=payment)
        with transaction.atomic():
            _intent_changed(intent)
    return len(open_payments)


def payment_event_process(*, event_id: str) -> None:
    """A Stripe event, once: fetch what it is about from Stripe, then apply it with the booking's consequences.

    An event of a type we do not act on is closed and staff are told; one about an object that neither Stripe nor
    we know is tried WEBHOOK_ATTEMPTS times (EventNotYetResolved), then closed with its reason.
    """
    try:
        facts = webhooks.webhook_event_facts(event_id=event_id)
    except webhooks.MalformedEvent as exc:
        _event_closed(event_id, outcome=f"not processed: {exc}", alert=f"Stripe event {event_id} malformed")
        return
    except webhooks.ObjectUnknown as exc:
        _event_unresolved(event_id, webhooks.webhook_event_attempts(event_id=event_id), f"Stripe: {exc}")
        return
    if facts is None:
        return  # processed already
    if not facts.handled:
        _event_closed(
            event_id,
            outcome="not handled: a type Maritime does not act on; staff alerted",
            alert=f"Stripe event type {facts.event_type} not handled",
        )
        return
    with transaction.atomic():
        if not webhooks.webhook_event_claim(event_id=event_id):
            return
        unknown = [fact for fact in facts.objects if not _fact_applied(fact)]
        if unknown:
            ids = ", ".join(fact.id for fact in unknown)
            _event_unresolved(event_id, facts.attempts, f"no payment of ours for {ids}", facts=unknown)
            return
        webhooks.webhook_event_done(event_id=event_id)


def _fact_applied(fact: Intent | RefundInfo | DisputeInfo) -> bool:
    if isinstance(fact, Intent):
        return _intent_changed(fact)
    if isinstance(fact, RefundInfo):
        return _refund_changed(fact)
    return _dispute_changed(fact)


def _event_unresolved(event_id: str, attempts: int, why: str, facts: list | None = None) -> None:
    """Try again shortly, or, once the attempts are spent, close the event with its reason — telling staff when
    money may be involved (a PaymentIntent that took money, a refund or a dispute)."""
    if attempts < WEBHOOK_ATTEMPTS:
        raise EventNotYetResolved(why)
    involves_money = facts is None or any(not isinstance(f, Intent) or f.status == "succeeded" for f in facts)
    alert = f"Stripe event {event_id} not ours" if involves_money else ""
    _event_closed(event_id, outcome=f"closed after {attempts} attempts: {why}", alert=alert)


def _event_closed(event_id: str, *, outcome: str, alert: str = "") -> None:
    with transaction.atomic():
        webhooks.webhook_event_done(event_id=event_id, outcome=outcome)
        if alert:
            _alert_staff(alert, f"Stripe event {event_id}: {outcome}. It is kept in the admin (Webhook events).")


def payment_reconcile(*, payment_id: int) -> None:
    """Ask Stripe where a payment stands when its webhook may have been lost."""
    intent = payments.payment_fetch(payment_id=payment_id)
    with transaction.atomic():
        _intent_changed(intent)


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
        if payment.status == Payment.Status.MISMATCHED:
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
    email_enqueue(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)
    booking_paid(booking_id=booking.pk)
    return True


def _give_back(payment: Payment, booking: Booking, cause: str, why: str) -> None:
    payments.refund_request(
        payment=payment, amount_minor=payment.taken_minor, reason=why,
        key=f"payment-{payment.pk}-not-sellable", cause=cause,
    )  # fmt: skip
    taken = format_money(payment.taken_minor, payment.taken_currency)
    _alert_staff(
        f"Payment for {booking.reference} refunded",
        f"Payment {payment.intent_id} took {taken} for booking {booking.reference} ({booking.status}), which it "
        f"cannot pay for: {why}. It is being refunded in full.",
    )


def refund_send(*, refund_id: int) -> None:
    info = payments.refund_send(refund_id=refund_id)
    if info:
        with transaction.atomic():
            _refund_changed(info)


def refund_failed(*, refund_id: int, error: Exception) -> None:
    """Stripe would not make the refund. If that is because the money was already given back outside Maritime (the
    Stripe dashboard), those refunds are recorded and nothing is owed; otherwise staff are asked to act."""
    payments.refund_failed(refund_id=refund_id, error=error)
    payment = payments.refund_payment(refund_id=refund_id)
    for info in payments.payment_provider_refunds(payment=payment):
        with transaction.atomic():
            _refund_changed(info)
    if payments.payment_refundable(payment=payment) == 0:
        logger.info("refund %s not made: everything paid was already refunded at Stripe", refund_id)
        with transaction.atomic():
            _refunded_when_done(services.booking_lock(booking_id=payment.booking_id), reason=f"refund {refund_id}")
        return
    _alert_staff(
        f"Refund {refund_id} failed", f"Stripe did not accept refund {refund_id}: {error}. Please refund by hand."
    )


def payments_sweep(*, quiet_for: dt.timedelta = STALLED_AFTER) -> int:
    """Enqueue again (beat): webhook events not processed, payments not heard of, money taken and not acted on,
    PaymentIntents still open on bookings that can no longer be paid, refunds not sent."""
    before = timezone.now() - quiet_for
    queued = 0
    for event_id in webhooks.webhook_events_unprocessed(received_before=before):
        enqueue_on_commit("payments.tasks.process_payment_webhook_task", event_id=event_id)
        queued += 1
    for payment_id in payments.payments_in_doubt(before=before, booking_statuses=[Booking.Status.HELD]):
        enqueue_on_commit("payments.tasks.reconcile_payment_task", payment_id=payment_id)
        queued += 1
    for payment_id in payments.payments_unsettled(before=before):
        enqueue_on_commit("payments.tasks.settle_payment_task", payment_id=payment_id)
        queued += 1
    not_payable = [status for status in Booking.Status if status != Booking.Status.HELD]
    for booking_id in payments.bookings_with_open_payments(before=before, booking_statuses=not_payable):
        enqueue_on_commit("payments.tasks.cancel_open_payments_task", booking_id=booking_id)
        queued += 1
    for refund_id in payments.refunds_pending(before=before):
        enqueue_on_commit("payments.tasks.send_refund_task", refund_id=refund_id)
        queued += 1
    return queued


def _locked_booking_of(intent_id: str) -> Booking | None:
    """The booking a PaymentIntent of ours pays for, its row locked before its payment's (the order every flow
    keeps); None when the intent is not ours."""
    booking_id = payments.payment_booking_id(intent_id=intent_id)
    return services.booking_lock(booking_id=booking_id) if booking_id else None


def _intent_changed(intent: Intent) -> bool:
    """Apply what Stripe says of a PaymentIntent, and act on money taken; False when the intent is not ours."""
    if _locked_booking_of(intent.id) is None:
        return False
    change = payments.payment_apply(intent=intent)
    if change is None:
        return False
    if change.newly_succeeded or change.newly_mismatched:
        payment_settle(payment_id=change.payment.pk)
    return True


def _refund_changed(info: RefundInfo) -> bool:
    """Apply what Stripe says of a refund: e-mail the traveller once it is made; a refund of everything made in the
    Stripe dashboard cancels the booking. False when the refund is of no payment of ours."""
    booking = _locked_booking_of(info.payment_intent)
    if booking is None:
        return False
    change = payments.refund_apply(info=info)
    if change is None:
        return False
    refund = change.refund
    if change.created:
        _alert_staff(
            f"Refund made in Stripe for {booking.reference}",
            f"Refund {info.id} of {format_money(refund.amount_minor, refund.currency)} was made outside Maritime "
            f"(the Stripe dashboard). It is recorded, and counts against what booking {booking.reference} can still "
            "be refunded.",
        )
    if change.newly_succeeded:
        email_enqueue(
            booking=booking, kind=Email.Kind.REFUND, key=info.id,
            details={"refund_minor": refund.amount_minor, "currency": refund.currency, "cause": refund.cause},
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
    if booking.may_become(Booking.Status.REFUNDED) and payments.booking_refunded_in_full(booking_id=booking.pk):
        services.booking_transition(booking_id=booking.pk, to=Booking.Status.REFUNDED, actor="stripe", reason=reason)


def _refunded_in_full_at_stripe(booking: Booking, refund: Refund) -> bool:
    """Everything the booking's payment took was given back outside Maritime: the booking can no longer travel."""
    payment = refund.payment
    return (
        refund.cause == Refund.Cause.PROVIDER
        and booking.is_active
        and payment.status == Payment.Status.SUCCEEDED
        and payments.payment_refunded(payment=payment) >= payment.taken_minor
    )


def _dispute_changed(info: DisputeInfo) -> bool:
    """Record a dispute and tell staff of each change, with the date by which to answer; False when not ours."""
    booking = _locked_booking_of(info.payment_intent)
    if booking is None:
        return False
    change = payments.dispute_apply(info=info)
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
        _alert_staff(
            f"Dispute {dispute.dispute_id} on {booking.reference}: {dispute.status}",
            f"The bank of the traveller who paid booking {booking.reference} disputes "
            f"{format_money(dispute.amount_minor, dispute.currency)} (reason: {dispute.reason or 'not given'}); the "
            f"dispute is now {dispute.status}.{respond} The disputed amount cannot be refunded meanwhile.",
        )
    return True


def _alert_staff(subject: str, message: str) -> None:
    logger.error("%s: %s", subject, message)
    # Through the outbox: sent after commit by the emails queue, retried, and at most once an hour per subject.
    staff_alert_enqueue(condition=subject, subject=subject, message=message)


def _release_remote_holds(booking_id: int) -> None:
    if services.booking_has_remote_holds(booking_id=booking_id):
        enqueue_on_commit("bookings.tasks.release_booking_holds_task", booking_id=booking_id)
