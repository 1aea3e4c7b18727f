"""What cancelling a booking gives back: the one number the pages, the API, the admin and the e-mails show, and
the refund a cancellation asks for."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import Booking
from bookings.policy import WAS_PAID_STATUSES, refund_due
from kernel.money import format_money
from payments import refunds as payment_refunds
from payments.models import Refund

# Refunds of what a change or a partial cancellation took off the booking: the legs' prices already leave it out, so
# cancelling what remains does not count them as given back.
# Given back for part of a booking, or on top of it: cancelling the rest later still refunds what its conditions give.
PARTS_REFUNDED = (Refund.Cause.CHANGE, Refund.Cause.PARTIAL, Refund.Cause.COMPENSATION)


@dataclass(frozen=True)
class RefundQuote:
    """What cancelling gives back, and why: the one number the page, the API, the admin and the e-mail show."""

    amount_minor: int
    currency: str
    reason: str  # not_active, not_paid, policy, policy_none, reduced_by_refunds, already_refunded, disputed
    message: str


def booking_refund_quote(*, booking: Booking, at: dt.datetime | None = None) -> RefundQuote:
    """What cancelling the booking at `at` (now) gives back: what the fare's conditions allow, less what was already
    given back, and never more than is left of the payment."""
    if not booking.is_active:
        message = _("This booking no longer travels, so there is nothing to cancel.")
        return RefundQuote(0, booking.currency, "not_active", message)
    return refund_quote(booking, refund_due(booking=booking, at=at or timezone.now()))


def _refunded_in_all(booking: Booking) -> int:
    return payment_refunds.booking_refunded(booking_id=booking.pk)


def refund_quote(booking: Booking, due: int) -> RefundQuote:
    """`due` (what the fare's conditions give back for the legs as they stand) less what was given back already —
    what changes and partial cancellations refunded aside (PARTS_REFUNDED) — and never more than is left of the
    booking's payments."""
    money = payment_refunds.booking_money(booking_id=booking.pk) if booking.status in WAS_PAID_STATUSES else None
    if money is None:
        return RefundQuote(0, booking.currency, "not_paid", _("Nothing has been paid, so there is nothing to refund."))
    given_back = payment_refunds.booking_refunded(booking_id=booking.pk, but=PARTS_REFUNDED)
    amount = max(min(due - given_back, money.left_minor), 0)
    refunded = format_money(given_back, money.currency)
    if due == 0:
        reason, message = "policy_none", _("Under the fare's conditions, nothing is refunded this close to departure.")
    elif amount == due:
        reason, message = "policy", _("What the fare's conditions give back.")
    elif given_back >= due:
        reason = "already_refunded"
        message = _("%(refunded)s was already refunded: all that the fare's conditions give back.") % {
            "refunded": refunded
        }
    elif amount < due - given_back and money.paid_minor - _refunded_in_all(booking) > money.left_minor:
        reason, message = "disputed", _("Less the amount your bank holds in a dispute about this payment.")
    elif amount < due - given_back:  # what is left of the payments, after refunds of parts or compensation
        reason = "reduced_by_refunds"
        message = _("What the fare's conditions give back, less %(refunded)s already refunded.") % {
            "refunded": format_money(_refunded_in_all(booking), money.currency)
        }
    else:
        reason = "reduced_by_refunds"
        message = _("What the fare's conditions give back, less %(refunded)s already refunded.") % {
            "refunded": refunded
        }
    return RefundQuote(amount, money.currency, reason, message)


def disruption_refund_minor(*, booking: Booking, direction: str) -> int:
    """What choosing the refund of a disrupted leg gives back, as `disruption.disruption_choose` makes it: all the leg
    was sold for (no more than is left of the payments), or — its only leg — everything the booking's payments took
    and were not given back yet (change fees included)."""
    money = payment_refunds.booking_money(booking_id=booking.pk)
    if money is None:
        return 0
    legs = {leg.direction: leg for leg in booking.legs.all()}
    if len(legs) > 1 and direction in legs:
        return min(legs[direction].price_minor, money.left_minor)
    return refund_quote(booking, money.paid_minor).amount_minor
