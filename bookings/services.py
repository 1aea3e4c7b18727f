"""Every write to bookings: create with capacity held, change status, cancel, expire, confirm with the operator.

Capacity of our own inventory is taken and given back in the booking's transaction, so a booking and
its places change together or not at all. Remote operators are called outside any transaction: their
holds are taken before the booking's transaction starts and given back if the rest fails, and they are
released and confirmed after commit (`booking_release_remote_legs`, `booking_confirm_with_operator`).
"""

import datetime as dt
import hashlib
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings import orders, promotions
from bookings.access import new_access_salt
from bookings.models import Booking, BookingEvent, BookingLeg, BookingVehicle, Passenger
from bookings.policy import PAID_STATUSES, refund_due, refundable_minor
from bookings.requests import BookingRequest
from bookings.selectors import made_whole
from ferries.errors import OperatorError, OperatorRefused
from ferries.models import Sailing
from ferries.operators import adapter_for
from ferries.operators.base import Hold, LegOrder
from ferries.operators.local import LocalInventoryOperator
from ferries.pricing import Quote
from ferries.services import new_ref
from kernel.metrics import BOOKING_HOLDS, count_on_commit

logger = logging.getLogger(__name__)

# Which request field an operator's refusal is about.
# The field of the request an operator's refusal is about ({leg}: outbound or return); else the leg's sailing.
REFUSAL_FIELDS = {
    "vehicle_too_tall": "{vehicle}.height_cm",
    "unknown_fare_family": "{leg}_fare_family",
    "extra_not_offered": "{leg}_extras",
    "priority_boarding_sold_out": "{leg}_extras.priority_boarding",
}


class TransitionNotAllowed(Exception):
    pass


class OperatorUnavailable(Exception):
    """An operator could not be reached while booking; nothing was kept. Worth trying again shortly."""


class PaymentNotAllowed(Exception):
    """This booking cannot be paid now (expired, cancelled, already paid, a sailing no longer as booked…); the
    message says why, for the traveller."""


class PromoCodeUsedUp(Exception):
    """A booking paid after its hold expired cannot take its promo code's use again: the code has no room left."""


class IdempotencyConflict(Exception):
    """An Idempotency-Key was used before for a different request."""


@dataclass(frozen=True)
class Cancellation:
    booking: Booking
    refund_minor: int
    changed: bool  # False when the booking was already cancelled


# --- status -------------------------------------------------------------------------------------


def booking_lock(*, booking_id: int) -> Booking:
    """The booking with its row locked until the caller's transaction ends: taken first by every flow that also
    locks its payments, so that two flows never wait on each other."""
    return Booking.objects.select_for_update().get(pk=booking_id)


def booking_manifest_send(*, booking_id: int) -> int:
    """Send remote operators the booking's passenger list again (a change touched it); answers to how many legs.
    OperatorError propagates, to be tried again; sending twice is harmless."""
    booking = Booking.objects.get(pk=booking_id)
    if booking.status != Booking.Status.CONFIRMED:
        return 0
    manifest, sent = orders.booking_manifest(booking), 0
    for leg in booking.legs.select_related("sailing__route__operator"):
        adapter = adapter_for(leg.sailing.route.operator)
        if adapter.is_remote:
            adapter.send_manifest(leg.operator_hold_ref, manifest)
            sent += 1
    return sent


def booking_give_to(*, booking_id: int, user) -> bool:
    """The booking becomes the account's (a guest booking claimed with its code); False if an account has it."""
    return Booking.objects.filter(pk=booking_id, owner__isnull=True).update(owner=user) == 1


@transaction.atomic
def booking_transition(*, booking_id: int, to: str, actor: str, reason: str) -> Booking:
    """Move the booking to `to` under its row lock, with an event; a no-op when it is already there."""
    booking = Booking.objects.select_for_update().get(pk=booking_id)
    if booking.status == to:
        return booking
    if not booking.may_become(to):
        raise TransitionNotAllowed(f"{booking.reference}: {booking.status} → {to} is not allowed")
    BookingEvent.objects.create(booking=booking, from_status=booking.status, to_status=to, actor=actor, reason=reason)
    if to in {Booking.Status.EXPIRED, Booking.Status.FAILED} or (
        to == Booking.Status.CANCELLED and booking.status == Booking.Status.HELD
    ):  # it ends without a trip sold: its promo code is free again
        promotions.promo_release(booking_id=booking.pk)
    booking.status = to
    booking.save(update_fields=["status", "updated_at"])
    return booking


def booking_lock_payable(*, booking_id: int) -> Booking:
    """The booking, locked in the caller's transaction, if it may be paid now: held, and its hold not run out.
    Raises PaymentNotAllowed saying why not."""
    booking = booking_lock(booking_id=booking_id)
    if booking.status != Booking.Status.HELD:
        raise PaymentNotAllowed(
            _("This booking is %(status)s and cannot be paid.") % {"status": booking.get_status_display().lower()}
        )
    if booking.hold_expires_at <= timezone.now():
        raise PaymentNotAllowed(_("The hold on these places has expired; please search again."))
    return booking


# --- creation -----------------------------------------------------------------------------------


def booking_create(
    *, request: BookingRequest, owner=None, language: str = "en", idempotency_key: str | None = None
) -> Booking:
    """Hold the places of every leg and record the booking, or raise ValidationError naming the field.

    With an `idempotency_key`, the same key answers the booking it created the first time. A booking made here
    comes with its legs, passengers, vehicles and events as `selectors.booking_details` reads them (`made_whole`).
    """
    fingerprint = _fingerprint(request)
    if idempotency_key and (existing := _replayed(idempotency_key, fingerprint)):
        return existing
    if request.promo_code:  # a code that cannot apply holds nothing
        legs = [(sailing.route_id, sailing.local_day) for sailing in request.sailings]
        promotions.promo_precheck(code=request.promo_code, email=request.contact.email, legs=legs)
    remote_holds: list[tuple] = []
    try:
        # Remote operators first, outside any transaction: no row of ours waits on the network.
        remote_legs = _hold_legs(request, remote=True, taken=remote_holds)
        # Our own fares read before the transaction too: the booking's row is written with its totals at once.
        booking = _book(request, remote_legs, _priced_local_legs(request), owner, language, idempotency_key,
                        fingerprint)  # fmt: skip
    except IntegrityError:
        give_back(remote_holds)
        if idempotency_key and (existing := _replayed(idempotency_key, fingerprint)):
            return existing  # a concurrent request with the same key won the race
        raise
    except BaseException:
        give_back(remote_holds)
        raise
    count_on_commit(BOOKING_HOLDS, outcome="created")
    return booking


def _fingerprint(request: BookingRequest) -> str:
    """Every field of the request, as parsed: a repeat with the same key must be the same request in every respect
    (a different document number or vehicle height is a different booking, not a retry)."""
    parts = {
        "sailings": [s.pk for s in request.sailings],
        "passengers": [vars(p) for p in request.passengers],
        "vehicles": [vars(vehicle) for vehicle in request.vehicles],
        "accommodation": request.accommodation,
        "fare_families": [request.outbound_fare_family, request.return_fare_family if request.inbound else None],
        "extras": [vars(request.outbound_extras), vars(request.return_extras) if request.inbound else None],
        "cancellation_protection": request.cancellation_protection,
        "pets": [request.pets, request.dogs, request.cats],
        "contact": {**vars(request.contact), "email": request.contact.email.lower()},
        "billing": request.billing and vars(request.billing),
        "promo_code": request.promo_code,
    }
    if request.leg_accommodations:
        parts["leg_accommodations"] = dict(request.leg_accommodations)
    if request.onward:
        parts["onward"] = [[leg.sailing.pk, leg.fare_family, vars(leg.extras)] for leg in request.onward]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(key: str, fingerprint: str) -> Booking | None:
    booking = Booking.objects.filter(idempotency_key=key).first()
    if booking and booking.idempotency_fingerprint != fingerprint:
        raise IdempotencyConflict(_("This Idempotency-Key was used for a different booking."))
    return booking


@dataclass(frozen=True)
class _LocalLeg:
    """A leg of our own inventory, priced before the booking's transaction and held in it."""

    direction: str
    sailing: Sailing
    adapter: LocalInventoryOperator
    order: LegOrder
    quote: Quote


class _BookingRowRefused(Exception):
    """The booking's row was refused by a unique index: its reference drawn again, or its Idempotency-Key used."""


def _book(request: BookingRequest, remote_legs: list[tuple[str, Sailing, Hold]], local_legs: list[_LocalLeg], owner,
          language: str, key: str | None, fingerprint: str) -> Booking:  # fmt: skip
    """The booking's transaction: its row first, then our own places, its legs and parties, its event.

    The row is inserted first so that a concurrent request with the same Idempotency-Key waits on the unique index
    before taking any capacity. A reference drawn twice (rare) rolls the transaction back and draws again, rather
    than paying a savepoint around every insert.
    """
    quotes = [hold.quote for _d, _s, hold in remote_legs] + [leg.quote for leg in local_legs]
    currency = _one_currency(quotes, remote_legs, local_legs)
    hold_until = min(
        [timezone.now() + dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES)]
        + [hold.expires_at for _d, _s, hold in remote_legs]
    )  # our own holds, taken after this, last at least as long
    for _attempt in range(5):
        try:
            with transaction.atomic():
                booking = _new_booking(request, owner, language, key, fingerprint, currency, hold_until, quotes)
                held = [(leg.direction, leg.sailing, _hold_local(request, leg)) for leg in local_legs]
                _complete(booking, request, remote_legs + held, currency)
                return booking
        except _BookingRowRefused:
            if key and Booking.objects.filter(idempotency_key=key).exists():
                raise IntegrityError("Idempotency-Key already used") from None
    raise IntegrityError("could not find a free booking reference")


def _one_currency(quotes: list[Quote], remote_legs: list, local_legs: list[_LocalLeg]) -> str:
    """The currency every leg is sold in; a ValidationError on the last leg's sailing when they differ."""
    currencies = {quote.currency for quote in quotes}
    if len(currencies) > 1:
        legs = [(direction, sailing) for direction, sailing, _h in remote_legs] + [
            (leg.direction, leg.sailing) for leg in local_legs
        ]
        last = max(legs, key=lambda leg: leg[1].departs_at)[0]  # the leg that brought another currency, or one of them
        raise ValidationError({f"{last}_sailing_id": [_("Every leg must be sold in the same currency.")]})
    return currencies.pop()


def _new_booking(request: BookingRequest, owner, language: str, key: str | None, fingerprint: str, currency: str,
                 hold_until: dt.datetime, quotes: list[Quote]) -> Booking:  # fmt: skip
    booking = Booking(
        reference=new_ref("", 6),
        owner=owner,
        access_salt=new_access_salt(),
        idempotency_key=key,
        idempotency_fingerprint=fingerprint if key else "",
        contact_name=request.contact.name,
        contact_email=request.contact.email,
        contact_phone=request.contact.phone,
        billing=vars(request.billing) if request.billing else {},
        language=language,
        accommodation=request.accommodation,
        pets=request.pets,
        dogs=request.dogs,
        cats=request.cats,
        cancellation_protection=request.cancellation_protection,
        total_minor=sum(quote.total_minor for quote in quotes),  # before a promo code's discount, if any
        currency=currency,
        hold_expires_at=hold_until,
    )
    try:
        booking.save(force_insert=True)
    except IntegrityError as exc:
        # A reference drawn twice, or the Idempotency-Key of a concurrent request; anything else is told as it is.
        if "reference" in str(exc) or "idempotency_key" in str(exc):
            raise _BookingRowRefused from exc
        raise
    return booking


def _priced_local_legs(request: BookingRequest) -> list[_LocalLeg]:
    """The legs of our own inventory with their price (the sailings as the request read them), in sailing order."""
    priced = []
    for leg in sorted(request.legs, key=lambda leg: leg.sailing.pk):
        adapter = adapter_for(leg.sailing.route.operator)
        if adapter.is_remote:
            continue
        order = LegOrder(
            request.leg_party(leg.direction), fare_family=leg.fare_family, extras=request.extras(leg.direction)
        )
        with _refusals(request, adapter, leg.sailing, leg.direction):
            quote = adapter.quote(sailing=leg.sailing, order=order)
        priced.append(_LocalLeg(leg.direction, leg.sailing, adapter, order, quote))
    return priced


def _hold_local(request: BookingRequest, leg: _LocalLeg) -> Hold:
    with _refusals(request, leg.adapter, leg.sailing, leg.direction):
        return leg.adapter.hold_priced(
            sailing=leg.sailing, order=leg.order, quote=leg.quote, minutes=settings.BOOKING_HOLD_MINUTES,
            savepoint=False,  # a refusal rolls the booking's whole transaction back
        )  # fmt: skip


def _hold_legs(request: BookingRequest, *, remote: bool, taken: list) -> list[tuple[str, Sailing, Hold]]:
    """Hold the legs of remote operators (or of our own inventory), in sailing order so that two bookings
    never wait on each other; remote holds are added to `taken`, to be given back if the rest fails."""
    held = []
    for leg in sorted(request.legs, key=lambda leg: leg.sailing.pk):
        direction, sailing = leg.direction, leg.sailing
        adapter = adapter_for(sailing.route.operator)
        if adapter.is_remote != remote:
            continue
        with _refusals(request, adapter, sailing, direction):
            order = LegOrder(
                request.leg_party(direction), fare_family=leg.fare_family, extras=request.extras(direction)
            )
            hold = adapter.hold(sailing_ref=sailing.ref, order=order, minutes=settings.BOOKING_HOLD_MINUTES)
        if remote:
            taken.append((adapter, hold.hold_ref))
        held.append((direction, sailing, hold))
    return held


@contextmanager
def _refusals(request: BookingRequest, adapter, sailing: Sailing, direction: str):
    """An operator's refusal of a leg becomes a ValidationError naming the leg's field; an operator not answering,
    OperatorUnavailable."""
    try:
        yield
    except OperatorRefused as refusal:
        BOOKING_HOLDS.labels(outcome="refused").inc()  # counted now: the booking's transaction rolls back
        field = _refusal_field(refusal.code, request, sailing, direction)
        raise ValidationError({field: [refusal.message]}) from None
    except OperatorError as exc:
        BOOKING_HOLDS.labels(outcome="unavailable").inc()
        raise operator_unavailable(adapter, exc) from None


def _refusal_field(code: str, request: BookingRequest, sailing: Sailing, leg: str) -> str:
    """The request's field an operator's refusal is about: a vehicle too tall is the first the vessel cannot take."""
    too_tall = request.party.too_tall(sailing.vessel.max_vehicle_height_cm) or 0
    return REFUSAL_FIELDS.get(code, "{leg}_sailing_id").format(leg=leg, vehicle=request.vehicle_field(too_tall))


def operator_unavailable(adapter, error: OperatorError) -> OperatorUnavailable:
    """What the traveller is told when an operator does not answer while places are being held (logged)."""
    logger.warning("operator %s unavailable: %s", adapter.operator.code, error)
    return OperatorUnavailable(_("%(name)s is not answering; please try again.") % {"name": adapter.operator.name})


def _complete(booking: Booking, request: BookingRequest, legs: list[tuple[str, Sailing, Hold]], currency: str) -> None:
    """The booking's legs, passengers, vehicles and first event, kept on it as `selectors.booking_details` reads
    them, so that the answer to whoever booked needs no second read."""
    prices = [(hold.quote.total_minor, hold.price["lines"]) for _d, _s, hold in legs]  # lines in their wire form
    if request.promo_code:
        prices = _discounted(booking, request.promo_code, legs, currency)
        booking.total_minor = sum(price_minor for price_minor, _lines in prices)
        booking.save(update_fields=["total_minor", "updated_at"])
    booking_legs = BookingLeg.objects.bulk_create(
        BookingLeg(
            booking=booking,
            direction=direction,
            sailing=sailing,
            accommodation=request.accommodation_of(direction),
            operator_hold_ref=hold.hold_ref,
            price_minor=price_minor,
            price_lines=lines,
            fare_family=hold.quote.family["code"],
            fare_family_name=hold.quote.family["name"],
            change_rules=hold.price["change_policy"],
            **hold.quote.policy,
        )
        for (direction, sailing, hold), (price_minor, lines) in zip(legs, prices, strict=True)
    )
    passengers = Passenger.objects.bulk_create(
        Passenger(booking=booking, **vars(passenger)) for passenger in request.passengers
    )
    vehicles = BookingVehicle.objects.bulk_create(BookingVehicle(booking=booking, **vars(v)) for v in request.vehicles)
    event = BookingEvent.objects.create(
        booking=booking, from_status="", to_status=Booking.Status.HELD, actor="traveller", reason="places held"
    )
    if not request.promo_code:  # a code's use is read with the booking
        made_whole(booking, legs=booking_legs, passengers=passengers, vehicles=vehicles, events=[event])


def _discounted(booking: Booking, code: str, legs: list[tuple[str, Sailing, Hold]], currency: str) -> list[tuple]:
    """Each leg's price and lines with the promo code's discount (its use recorded, or ValidationError)."""
    priced = [
        promotions.PricedLeg(sailing.route_id, sailing.local_day, refundable_minor(hold.price["lines"]))
        for _d, sailing, hold in legs
    ]
    discounts = promotions.promo_apply(code=code, booking=booking, legs=priced, currency=currency)
    return [
        (
            hold.quote.total_minor - off,
            hold.price["lines"] + ([promotions.promo_line(code, off, currency)] if off else []),
        )
        for (_d, _s, hold), off in zip(legs, discounts, strict=True)
    ]


def give_back(remote_holds: list) -> None:
    """Give remote operators back holds taken for something that failed; their own expiry frees what cannot be."""
    for adapter, hold_ref in remote_holds:
        try:
            adapter.cancel(hold_ref)
        except (OperatorError, OperatorRefused) as exc:
            # The operator's own hold expiry frees the places in the end.
            logger.error("could not give back hold %s to %s: %s", hold_ref, adapter.operator.code, exc)


# --- cancellation and expiry --------------------------------------------------------------------


def booking_mark_cancelled(
    *, booking_id: int, actor: str, reason: str, at: dt.datetime | None = None, full_refund: bool = False
) -> Cancellation:
    """Cancel a held, paid or confirmed booking; answers the refund due: what the policy gives, or with
    `full_refund` (the operator cancelled the sailing, the policy does not apply) everything paid.

    Our own inventory is given back here; remote operators' holds by `booking_release_remote_legs`,
    outside the transaction. Cancelling again is a no-op (refund 0, changed False).
    """
    at = at or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        if booking.status in {Booking.Status.CANCELLED, Booking.Status.REFUNDED}:
            return Cancellation(booking, 0, changed=False)
        if not booking.is_active:  # travellers and staff cancel travel; an expired hold is already over
            raise TransitionNotAllowed(_("A booking that is %(status)s cannot be cancelled.") % {
                "status": booking.get_status_display().lower()
            })  # fmt: skip
        due = refund_due(booking=booking, at=at)
        if full_refund and booking.status in PAID_STATUSES:
            due = booking.total_minor
        booking = booking_transition(booking_id=booking.pk, to=Booking.Status.CANCELLED, actor=actor, reason=reason)
        _release_local_legs(booking)
    return Cancellation(booking, due, changed=True)


def bookings_expire_overdue(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    """Expire held bookings past their deadline and give our own inventory back; answers the ids expired.

    Rows another worker is already expiring are skipped, not waited for.
    """
    now = now or timezone.now()
    with transaction.atomic():
        overdue = list(
            Booking.objects.select_for_update(skip_locked=True)
            .filter(status=Booking.Status.HELD, hold_expires_at__lt=now)
            .order_by("hold_expires_at")[:limit]
        )
        for booking in overdue:
            booking_transition(booking_id=booking.pk, to=Booking.Status.EXPIRED, actor="system", reason="hold expired")
            _release_local_legs(booking)
    return [booking.pk for booking in overdue]


def _release_local_legs(booking: Booking) -> None:
    """Our own inventory is given back in the same transaction as the status change."""
    for leg in booking.legs.select_related("sailing__route__operator").filter(released_at__isnull=True):
        adapter = adapter_for(leg.sailing.route.operator)
        if not adapter.is_remote:
            adapter.cancel(leg.operator_hold_ref)
            BookingLeg.objects.filter(pk=leg.pk).update(released_at=timezone.now())


def booking_release_remote_legs(*, booking_id: int) -> None:
    """Give remote operators their places back. Raises OperatorError to be retried; done legs are skipped."""
    legs = BookingLeg.objects.select_related("sailing__route__operator").filter(
        booking_id=booking_id, released_at__isnull=True
    )
    failures = []
    for leg in legs:
        adapter = adapter_for(leg.sailing.route.operator)
        try:
            adapter.cancel(leg.operator_hold_ref)
        except OperatorRefused as refusal:
            logger.info("hold %s already gone at %s: %s", leg.operator_hold_ref, adapter.operator.code, refusal.code)
        except OperatorError as exc:
            failures.append(exc)
            continue
        BookingLeg.objects.filter(pk=leg.pk).update(released_at=timezone.now())
    if failures:
        raise failures[0]


# --- confirmation with the operator -------------------------------------------------------------


def booking_confirm_with_operator(*, booking_id: int) -> Booking:
    """Turn every leg's hold into a sale at its operator and mark the booking confirmed.

    Operators are called outside the row lock; confirming a hold twice answers the same reference,
    so a retry after a crash is harmless. OperatorError propagates (to be retried); OperatorRefused
    means the operator will not sell: the caller fails the booking.
    """
    booking = Booking.objects.get(pk=booking_id)
    if booking.status != Booking.Status.PAID:
        return booking
    manifest = orders.booking_manifest(booking)  # operators need their passenger list with the sale
    for leg in booking.legs.select_related("sailing__route__operator").filter(operator_booking_ref=""):
        reference = adapter_for(leg.sailing.route.operator).confirm(leg.operator_hold_ref, manifest)
        BookingLeg.objects.filter(pk=leg.pk).update(operator_booking_ref=reference)
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        if booking.status != Booking.Status.PAID:  # cancelled meanwhile: its places are given back there
            return booking
        return booking_transition(
            booking_id=booking_id, to=Booking.Status.CONFIRMED, actor="operator", reason="confirmed by the operator"
        )


@transaction.atomic
def booking_fail(*, booking_id: int, reason: str) -> Booking:
    """The operator will not carry a paid booking: mark it failed and give our own inventory back."""
    booking = booking_transition(booking_id=booking_id, to=Booking.Status.FAILED, actor="operator", reason=reason)
    _release_local_legs(booking)
    return booking


def booking_has_remote_holds(*, booking_id: int) -> bool:
    legs = BookingLeg.objects.select_related("sailing__route__operator").filter(
        booking_id=booking_id, released_at__isnull=True
    )
    return any(adapter_for(leg.sailing.route.operator).is_remote for leg in legs)


# --- late payment -------------------------------------------------------------------------------


def booking_rehold(*, booking_id: int) -> bool:
    """Take again the places of an expired booking whose money arrived late: every leg, or none (False).

    Runs in the caller's transaction, with the booking's row locked by the caller.
    """
    booking = Booking.objects.get(pk=booking_id)
    party = orders.booking_party(booking)
    legs = list(booking.legs.select_related("sailing__route__operator", "sailing__vessel").order_by("sailing_id"))
    remote_holds: list = []
    try:
        with transaction.atomic():
            for leg in legs:
                adapter = adapter_for(leg.sailing.route.operator)
                order = orders.leg_order(leg, party)
                hold = adapter.hold(sailing_ref=leg.sailing.ref, order=order, minutes=settings.BOOKING_HOLD_MINUTES)
                if adapter.is_remote:
                    remote_holds.append((adapter, hold.hold_ref))
                BookingLeg.objects.filter(pk=leg.pk).update(operator_hold_ref=hold.hold_ref, released_at=None)
            # After the places, as a booking takes them: sailings' rows are always locked before a code's.
            if not promotions.promo_retake(booking_id=booking.pk):
                raise PromoCodeUsedUp("its promo code was used up meanwhile")
    except (OperatorRefused, OperatorError, PromoCodeUsedUp) as exc:
        give_back(remote_holds)
        logger.warning("booking %s: places not available again after a late payment: %s", booking.reference, exc)
        return False
    return True
