"""A disruption: a sailing retimed (delayed), or cancelled by its operator — the travellers told at once, offered
re-routing or a refund of the leg, and what they choose (or the default at the deadline) carried out.

    sailing_retimed       new times → every traveller e-mailed in the same transaction (the outbox), the choice
                          offered when the departure is more than 90 minutes late
    booking_disrupted     (a task per booking) the choice offered: re-routing held, the e-mail; a cancelled leg
                          with nowhere to go is refunded at once
    disruption_choose     re-route (the change made, free), refund the leg (all it was sold for; the whole booking
                          when it is its only leg), or keep the delayed sailing
    disruptions_expire    (beat) past the deadline: a cancelled leg refunded, a delayed one kept
    compensation_approve  staff approve a late arrival's compensation (proposed at each retiming): it is refunded
                          and e-mailed; compensation_reject records why not
"""

import datetime as dt
import logging

from django.db import transaction

from bookings import compensations, disruptions, selectors
from bookings.change_requests import ChangeRefused
from bookings.disruptions import DisruptionRefused
from bookings.flows import cancelling, changing
from bookings.flows.quotes import disruption_refund_minor
from bookings.models import Booking, BookingChange, Compensation, Disruption
from bookings.services import OperatorUnavailable
from bookings.tasks import offer_disruption_task
from ferries.models import SailingRetiming
from ferries.services import sailing_retime
from notifications.models import Email
from notifications.services import email_enqueue, staff_alert_enqueue
from payments import refunds as payment_refunds
from payments.models import Refund

logger = logging.getLogger(__name__)
TOLD = (Booking.Status.PAID, Booking.Status.CONFIRMED)


def sailing_retimed(
    *, sailing_id: int, departs_at: dt.datetime, arrives_at: dt.datetime, reason: str, actor: str
) -> tuple[SailingRetiming | None, int]:
    """Give the sailing its new times and tell every traveller booked on it, in one transaction: the e-mails are
    outbox rows, sent at once and swept if a message is lost. Answers the retiming (None: the times were already
    these) and how many bookings were told."""
    with transaction.atomic():
        retiming = sailing_retime(sailing_id=sailing_id, departs_at=departs_at, arrives_at=arrives_at, reason=reason,
                                  actor=actor)  # fmt: skip
        if retiming is None:
            return None, 0
        bookings = Booking.objects.filter(pk__in=selectors.bookings_on_sailing(sailing_id=sailing_id), status__in=TOLD)
        told = 0
        for booking in bookings:
            email_enqueue(booking=booking, kind=Email.Kind.SAILING_RETIMED, key=f"retimed:{retiming.pk}",
                          details={"sailing_id": sailing_id, "retiming_id": retiming.pk})  # fmt: skip
            told += 1
            if booking.status == Booking.Status.CONFIRMED and disruptions.disruption_cause(retiming.sailing):
                offer_disruption_task.delay_on_commit(booking_id=booking.pk, sailing_id=sailing_id)
        _propose_compensations(retiming.sailing)
    return retiming, told


def _propose_compensations(sailing) -> None:
    """A late arrival: the compensations due, proposed to staff (an alert an hour at most per sailing)."""
    proposed = compensations.compensations_propose(sailing_id=sailing.pk)
    waiting = [c for c in proposed if c.status == Compensation.Status.PROPOSED]
    if waiting:
        staff_alert_enqueue(
            condition=f"compensation:{sailing.ref}",
            subject=f"Compensation to approve: {sailing.ref} arrives {sailing.arrival_delay_minutes} minutes late",
            message=f"{len(waiting)} booking(s) on {sailing.ref} are owed compensation for the late arrival. Approve "
            "or reject each in the admin (Compensations): an approved one is refunded and e-mailed.",
        )


def compensation_approve(*, compensation_id: int, actor: str) -> Compensation:
    """Staff approve: the compensation is refunded to the card that paid (spread over the booking's payments, once),
    and the traveller e-mailed. CompensationRefused when it was decided already."""
    with transaction.atomic():
        compensation = compensations.compensation_decide(compensation_id=compensation_id, approve=True, actor=actor)
        compensation_pay(compensation_id=compensation.pk)
    compensation.refresh_from_db()
    return compensation


def compensation_pay(*, compensation_id: int) -> None:
    """Refund an approved compensation and e-mail it; asking again refunds nothing more (the refunds' key)."""
    with transaction.atomic():
        compensation = Compensation.objects.select_related("booking", "sailing").get(pk=compensation_id)
        if compensation.status != Compensation.Status.APPROVED:
            return
        refunds = payment_refunds.booking_refund_request(
            booking_id=compensation.booking_id, amount_minor=compensation.amount_minor,
            reason=f"compensation: {compensation.sailing.ref} arrived {compensation.late_minutes} minutes late",
            key=f"compensation-{compensation.pk}", cause=Refund.Cause.COMPENSATION,
        )  # fmt: skip
        paid = sum(refund.amount_minor for refund in refunds)
        compensations.compensation_mark_paid(compensation=compensation, refunded_minor=paid)
        email_enqueue(booking=compensation.booking, kind=Email.Kind.COMPENSATION, key=str(compensation.pk),
                      details={"compensation_id": compensation.pk, "refund_minor": paid})  # fmt: skip


def compensation_reject(*, compensation_id: int, actor: str, reason: str) -> Compensation:
    """Staff reject (weather endangering the ship, extraordinary circumstances): nothing is paid; the reason kept."""
    return compensations.compensation_decide(compensation_id=compensation_id, approve=False, actor=actor, note=reason)


def booking_disrupted(*, booking_id: int, sailing_id: int) -> Disruption | None:
    """Offer the choice for the booking's leg on the disrupted sailing (once), and e-mail it; a cancelled leg that
    cannot be re-routed is refunded at once (there is nothing to choose)."""
    offer = disruptions.disruption_offer(booking_id=booking_id, sailing_id=sailing_id)
    if offer is None:
        return None
    disruption = offer.disruption
    if offer.created:
        if disruption.reroute is None and disruption.cause == Disruption.Cause.CANCELLED:
            return disruption_choose(disruption_id=disruption.pk, choice="refund", actor="operator")
        with transaction.atomic():
            # The refund on offer, worked out as choosing it will make it: the e-mail promises what is refunded.
            refund = disruption_refund_minor(booking=disruption.booking, direction=disruption.direction)
            email_enqueue(booking=disruption.booking, kind=Email.Kind.SAILING_DISRUPTED,
                          key=f"disruption:{disruption.pk}",
                          details={"disruption_id": disruption.pk, "refund_minor": refund})  # fmt: skip
    return disruption


def disruption_choose(*, disruption_id: int, choice: str, actor: str) -> Disruption:
    """Carry out the traveller's choice — "reroute", "refund" or "keep" — once: the disruption is claimed under the
    booking's lock first, and given back to the traveller if the choice cannot be carried out (DisruptionRefused)."""
    status = {"reroute": Disruption.Status.REROUTED, "refund": Disruption.Status.REFUNDED,
              "keep": Disruption.Status.KEPT}[choice]  # fmt: skip
    with transaction.atomic():
        disruption = disruptions.disruption_lock(disruption_id=disruption_id)
        disruptions.disruption_check_choice(disruption, choice)
        disruptions.disruption_decide(disruption=disruption, status=status, actor=actor)
    try:
        if choice == "reroute":
            _reroute(disruption)
        else:
            _drop_reroute(disruption)
            if choice == "refund":
                _refund_leg(disruption, actor)
    except (ChangeRefused, OperatorUnavailable) as refusal:
        with transaction.atomic():
            disruption = disruptions.disruption_lock(disruption_id=disruption_id)
            disruptions.disruption_decide(disruption=disruption, status=Disruption.Status.OFFERED, actor="")
        message = getattr(refusal, "message", str(refusal))
        raise DisruptionRefused(getattr(refusal, "code", "operator_unavailable"), message) from refusal
    disruption.refresh_from_db()
    return disruption


def _reroute(disruption: Disruption) -> None:
    change, _payment = changing.change_confirm(change=disruption.reroute)  # nothing to pay: made now, or retried
    if change.status not in {BookingChange.Status.CONFIRMED, BookingChange.Status.PAID}:
        raise ChangeRefused("reroute_failed", change.note or "the re-routing could not be made")


def _drop_reroute(disruption: Disruption) -> None:
    if disruption.reroute_id and disruption.reroute.is_pending:
        with transaction.atomic():
            changing.changes_drop_open(booking_id=disruption.booking_id, reason="the traveller chose otherwise")


def _refund_leg(disruption: Disruption, actor: str) -> None:
    """All the leg was sold for; the whole booking (everything paid) when it is its only leg."""
    booking = disruption.booking
    if booking.legs.count() > 1:
        cancelling.leg_cancel(booking_id=booking.pk, direction=disruption.direction, actor=actor, disrupted=True)
        return
    cause = Disruption.Cause(disruption.cause).label
    cancelling.booking_cancel(booking_id=booking.pk, actor=actor, reason=f"{disruption.sailing.ref}: {cause}",
                              full_refund=True, cause=Refund.Cause.SAILING_CANCELLED)  # fmt: skip


def disruptions_expire() -> int:
    """Past the deadline: a cancelled leg is refunded, a delayed one kept. Answers how many were decided."""
    decided = 0
    for disruption_id in disruptions.disruptions_overdue():
        cause = Disruption.objects.values_list("cause", flat=True).get(pk=disruption_id)
        choice = "refund" if cause == Disruption.Cause.CANCELLED else "keep"
        try:
            disruption_choose(disruption_id=disruption_id, choice=choice, actor="system")
            decided += 1
        except DisruptionRefused as refusal:
            logger.warning("disruption %s: default %s not made: %s", disruption_id, choice, refusal.message)
    return decided
