"""How much of a booking is refunded when it is cancelled: one rule for the website, the API and the admin."""

import datetime as dt

from bookings.models import Booking, BookingLeg
from ferries.choices import PROTECTION_HOURS, Extra

# Only what was paid can be refunded.
PAID_STATUSES = {Booking.Status.PAID, Booking.Status.CONFIRMED}
# Bookings that were paid, whatever happened since: staff may give back what is left of their payment.
WAS_PAID_STATUSES = {*PAID_STATUSES, Booking.Status.CANCELLED, Booking.Status.REFUNDED, Booking.Status.FAILED}


def refund_percent(*, leg: BookingLeg, at: dt.datetime) -> int:
    """How much of the leg's refundable price cancelling at `at` gives back, in percent: all of it until
    `refund_full_days` before departure (never when it has none), then `refund_partial_percent` until
    `refund_partial_hours` before, then nothing. With cancellation protection, all of it until PROTECTION_HOURS
    before, whatever the fare. Each limit counts as the earlier band: exactly 7 days before is still a full refund."""
    before = leg.sailing.departs_at - at
    if leg.booking.cancellation_protection and before >= dt.timedelta(hours=PROTECTION_HOURS):
        return 100
    if leg.refund_full_days is not None and before >= dt.timedelta(days=leg.refund_full_days):
        return 100
    if before >= dt.timedelta(hours=leg.refund_partial_hours):
        return leg.refund_partial_percent
    return 0


def refundable_minor(price_lines: list[dict]) -> int:
    """A leg's price as its lines say, cancellation protection aside: the protection itself is never refunded."""
    return sum(line["total"]["amount_minor"] for line in price_lines if line["code"] != Extra.PROTECTION)


def leg_refund_due(*, leg: BookingLeg, at: dt.datetime) -> int:
    """What cancelling the leg at `at` gives back: its refundable price at its `refund_percent`."""
    return refundable_minor(leg.price_lines) * refund_percent(leg=leg, at=at) // 100


def refund_due(*, booking: Booking, at: dt.datetime) -> int:
    """What cancelling the booking at `at` gives back, in minor units of the booking's currency."""
    if booking.status not in PAID_STATUSES:
        return 0
    return sum(leg_refund_due(leg=leg, at=at) for leg in booking.legs.select_related("sailing"))
