"""Promo codes: whether a code applies to a booking, what it takes off each leg, and its uses.

A code is checked twice. Before any place is held, `promo_precheck` refuses a code that cannot apply whatever the
prices (unknown, stopped, out of its dates, not for these routes or days, not for this e-mail): a wrong guess holds
nothing. Then, in the booking's own transaction and with the legs priced, `promo_apply` locks the code's row, checks
everything again (its limits counted under that lock, so that twenty bookings at once never use it more often than
allowed) and records the use; the discount is written into each leg's price lines as a line of its own
(`promo:<CODE>`, a negative amount), so that the leg's price, its invoice and what cancelling it refunds are all
of the discounted price. Protection is never discounted, and no leg goes below zero.

A use counts until its booking ends with no trip sold (expired unpaid, cancelled while held, refused by the operator
and refunded): `promo_release` gives it back. Money arriving after the hold expired takes the use again only if the
code still has room (`promo_retake`), as the places themselves are taken again only if still free.

Changes and partial cancellations price the changed leg afresh, at today's price, without the code.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import Booking, BookingEvent, PromoCode, PromoCodeUse
from kernel.money import format_money, money

FIELD = "promo_code"
LINE_PREFIX = "promo:"


@dataclass(frozen=True)
class PricedLeg:
    """What a code asks of a leg: its route, its day (at the departure port) and what of its price may be
    discounted (everything but cancellation protection)."""

    route_id: int
    day: dt.date
    discountable_minor: int


def refused(message: str) -> ValidationError:
    return ValidationError({FIELD: [message]})


def promo_precheck(*, code: str, email: str, legs: Sequence[tuple[int, dt.date]], at: dt.datetime | None = None):
    """The code, if it may apply to legs (route id, day) booked under `email`; else ValidationError on `promo_code`.
    Limits and amounts are checked by `promo_apply`."""
    promo = PromoCode.objects.filter(code=code.upper()).prefetch_related("routes").first()
    _check_usable(promo, at or timezone.now())
    _check_email(promo, email, booking=None)
    if not any(_applies(promo, route_id, day) for route_id, day in legs):
        raise refused(_("This promo code is not valid for these sailings."))
    return promo


def promo_apply(*, code: str, booking: Booking, legs: Sequence[PricedLeg], currency: str) -> list[int]:
    """Lock the code, check it against the booking's priced legs and its limits, and record its use; answers what
    it takes off each leg, in `legs`' order. Runs in the booking's transaction: a refusal (ValidationError on
    `promo_code`) undoes the booking with it."""
    promo = PromoCode.objects.select_for_update().filter(code=code.upper()).first()
    now = timezone.now()
    _check_usable(promo, now)
    email = booking.contact_email.lower()
    _check_email(promo, email, booking=booking)
    total = sum(leg.discountable_minor for leg in legs)
    if promo.min_total_minor and total < promo.min_total_minor:
        raise refused(
            _("This promo code is for bookings of %(minimum)s or more.")
            % {"minimum": format_money(promo.min_total_minor, currency)}
        )
    if promo.kind == PromoCode.Kind.AMOUNT and promo.currency != currency:
        raise refused(_("This promo code is not valid for prices in %(currency)s.") % {"currency": currency})
    eligible = [leg.discountable_minor if _applies(promo, leg.route_id, leg.day) else 0 for leg in legs]
    if not any(eligible):
        raise refused(_("This promo code is not valid for these sailings."))
    _check_limits(promo, email)
    discounts = _discounts(promo, eligible)
    PromoCodeUse.objects.create(
        promo_code=promo, booking=booking, email=email, discount_minor=sum(discounts), currency=currency
    )
    return discounts


def promo_line(code: str, discount_minor: int, currency: str) -> dict:
    """The price line of a discount, in the wire form of a leg's lines."""
    amount = money(-discount_minor, currency)
    return {"code": LINE_PREFIX + code.upper(), "quantity": 1, "unit": amount, "total": amount}


def promo_release(*, booking_id: int, at: dt.datetime | None = None) -> bool:
    """The booking ended unpaid: its use of a code no longer counts. True if it had one."""
    uses = PromoCodeUse.objects.filter(booking_id=booking_id, released_at__isnull=True)
    return uses.update(released_at=at or timezone.now()) > 0


def promo_retake(*, booking_id: int) -> bool:
    """Take a released use again for a booking paid after its hold expired, if its code still has room; True when
    the booking has no released use. Runs in the caller's transaction."""
    use = PromoCodeUse.objects.filter(booking_id=booking_id, released_at__isnull=False).first()
    if use is None:
        return True
    promo = PromoCode.objects.select_for_update().get(pk=use.promo_code_id)
    try:
        _check_limits(promo, use.email)
    except ValidationError:
        return False
    use.released_at = None
    use.save(update_fields=["released_at"])
    return True


# --- the rules -----------------------------------------------------------------------------------------------------


def _check_usable(promo: PromoCode | None, now: dt.datetime) -> None:
    if promo is None or not promo.active:
        raise refused(_("This promo code is not valid."))
    if promo.starts_at and now < promo.starts_at:
        raise refused(_("This promo code is not valid yet."))
    if promo.ends_at and now >= promo.ends_at:
        raise refused(_("This promo code has expired."))


def _check_email(promo: PromoCode, email: str, *, booking: Booking | None) -> None:
    """A first-booking code: the e-mail has never paid for a booking, nor holds one made with this code."""
    if not promo.first_booking_only:
        return
    others = Booking.objects.filter(contact_email__iexact=email)
    if booking is not None:
        others = others.exclude(pk=booking.pk)
    paid = BookingEvent.objects.filter(booking__in=others, to_status=Booking.Status.PAID).exists()
    if paid or PromoCodeUse.objects.filter(promo_code=promo, email=email.lower(), released_at__isnull=True).exists():
        raise refused(_("This promo code is for a first booking only."))


def _check_limits(promo: PromoCode, email: str) -> None:
    """Under the code's row lock: its uses so far, in all and by this e-mail."""
    counting = PromoCodeUse.objects.filter(promo_code=promo, released_at__isnull=True)
    if promo.max_uses is not None and counting.count() >= promo.max_uses:
        raise refused(_("This promo code has been used as often as it may be."))
    if promo.max_uses_per_email is not None and counting.filter(email=email).count() >= promo.max_uses_per_email:
        raise refused(_("You have already used this promo code as often as it may be."))


def _applies(promo: PromoCode, route_id: int, day: dt.date) -> bool:
    routes = {route.pk for route in promo.routes.all()}
    if routes and route_id not in routes:
        return False
    return (promo.travel_from is None or day >= promo.travel_from) and (
        promo.travel_to is None or day <= promo.travel_to
    )


def _discounts(promo: PromoCode, eligible: list[int]) -> list[int]:
    """What the code takes off each leg, given what of each may be discounted (0: the code does not apply to it).

    A percentage is taken off each leg, rounded down to the minor unit. A fixed amount — no more than the legs come
    to — is shared between them in proportion to their prices, the rounding left on the dearest."""
    if promo.kind == PromoCode.Kind.PERCENT:
        return [amount * promo.percent // 100 for amount in eligible]
    total = sum(eligible)
    off = min(promo.amount_minor, total)
    shares = [off * amount // total for amount in eligible]
    dearest = max(range(len(eligible)), key=eligible.__getitem__)
    shares[dearest] += off - sum(shares)
    return shares
