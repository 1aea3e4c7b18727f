"""Cancelling part of a confirmed booking: one leg of a return, or one passenger — each refunded by its leg's fare
rules (the cancellation policy as sold, or cancellation protection), the rest of the booking travelling on.

A cancelled leg gives its places back and leaves the booking. A cancelled passenger leaves every leg repriced for
the party without them (their fare, their share of the cabins, their meals and protection); the refund is the
refundable part of the difference, at the percentage cancelling the leg would give back now. Each is recorded as a
change of the booking (its history), made at once. Places are never given up before the smaller party's are
secured: our own inventory swaps in one transaction (the smaller party always fits in what the larger gives back);
a remote operator holds and confirms the smaller party first, and its old places are released after commit.
"""

import datetime as dt
from dataclasses import dataclass, replace

from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.change_requests import PREFIX, ChangeRefused, booked_legs
from bookings.changes import old_leg, replace_pending
from bookings.models import Booking, BookingChange, BookingLeg, Passenger
from bookings.orders import booking_manifest, booking_party, leg_order
from bookings.policy import leg_refund_due, refund_percent, refundable_minor
from bookings.services import booking_lock, give_back, operator_unavailable
from ferries.errors import OperatorError, OperatorRefused
from ferries.operators import adapter_for
from ferries.operators.base import LegOrder
from ferries.party import party_problem
from ferries.queries import LegQuery

CANCELLABLE = Booking.Status.CONFIRMED


@dataclass(frozen=True)
class PartQuote:
    """What cancelling a part gives back now, leg by leg (direction → amount), and in all."""

    refunds: dict[str, int]
    currency: str

    @property
    def refund_minor(self) -> int:
        return sum(self.refunds.values())


def _check(booking: Booking) -> dict[str, BookingLeg]:
    if booking.status != CANCELLABLE:
        raise ChangeRefused(
            "booking_not_changeable",
            _("Only part of a confirmed booking can be cancelled; this one is %(status)s.")
            % {"status": booking.get_status_display().lower()},
        )
    legs = booked_legs(booking)
    now = timezone.now()
    if all(leg.sailing.departs_at <= now for leg in legs.values()):
        raise ChangeRefused("change_cutoff_passed", _("Every sailing of this booking has left."))
    return legs


# --- one leg --------------------------------------------------------------------------------------------------------


def leg_cancel_quote(*, booking: Booking, direction: str) -> PartQuote:
    """What cancelling the leg now gives back; ChangeRefused when it cannot be cancelled alone."""
    leg = _cancellable_leg(booking, direction)
    return PartQuote({PREFIX[leg.direction]: leg_refund_due(leg=leg, at=timezone.now())}, booking.currency)


def _cancellable_leg(booking: Booking, direction: str, *, disrupted: bool = False) -> BookingLeg:
    legs = booked_legs(booking) if disrupted else _check(booking)
    if direction not in legs:
        raise ChangeRefused("no_such_leg", _("This booking has no such leg: %(leg)s.") % {"leg": direction})
    if len(legs) < 2:
        raise ChangeRefused("last_leg", _("This is the booking's only sailing: cancel the booking instead."))
    leg = legs[direction]
    if leg.sailing.departs_at <= timezone.now() and not disrupted:  # a cancelled sailing never left
        raise ChangeRefused("change_cutoff_passed", _("This sailing has left."))
    return leg


def leg_cancel(*, booking_id: int, direction: str, actor: str, disrupted: bool = False) -> BookingChange:
    """Cancel one leg of the booking (in the caller's transaction, which the flow opens): its places go back (ours
    here, a remote operator's after commit), the leg leaves the booking and the change records what it refunds —
    what its fare's conditions give back now, or (`disrupted`: the operator cancelled or delayed its sailing) all it
    was sold for."""
    booking = booking_lock(booking_id=booking_id)
    if disrupted and booking.status != CANCELLABLE:
        raise ChangeRefused("booking_not_changeable", _("This booking is no longer confirmed."))
    leg = _cancellable_leg(booking, direction, disrupted=disrupted)
    replace_pending(booking)
    refund = leg.price_minor if disrupted else leg_refund_due(leg=leg, at=timezone.now())
    adapter = adapter_for(leg.sailing.route.operator)
    old = old_leg(leg) | {"released": not adapter.is_remote}
    if not adapter.is_remote:
        adapter.cancel(leg.operator_hold_ref)
    leg.delete()
    change = _record(
        booking, BookingChange.Kind.LEG_CANCELLED, actor, f"{leg.get_direction_display()} cancelled",
        old_legs=[old], new_legs=[], difference=-leg.price_minor, refund=refund,
    )  # fmt: skip
    _reprice(booking)
    return change


# --- one passenger --------------------------------------------------------------------------------------------------


def passenger_cancel_quote(*, booking: Booking, passenger_id: int) -> PartQuote:
    """What cancelling the passenger now gives back, each leg priced for the party without them (by its operator,
    holding nothing); ChangeRefused when they cannot be cancelled alone."""
    legs, passenger = _cancellable_passenger(booking, passenger_id)
    orders = _smaller_orders(booking, legs, passenger)
    now = timezone.now()
    refunds = {}
    for direction, leg in legs.items():
        route = leg.sailing.route
        query = LegQuery(route.origin.code, route.destination.code, leg.sailing.local_day, orders[direction].party)
        try:
            price = adapter_for(route.operator).price(query=query, sailing_ref=leg.sailing.ref, order=orders[direction])
        except OperatorRefused as refusal:
            raise ChangeRefused(refusal.code, refusal.message, leg=PREFIX[direction]) from None
        except OperatorError as exc:
            raise operator_unavailable(adapter_for(route.operator), exc) from None
        refunds[PREFIX[direction]] = _share_refund(leg, price.as_dict()["lines"], now)
    return PartQuote(refunds, booking.currency)


def _cancellable_passenger(booking: Booking, passenger_id: int) -> tuple[dict[str, BookingLeg], Passenger]:
    legs = _check(booking)
    passengers = list(booking.passengers.all())
    passenger = next((p for p in passengers if p.pk == passenger_id), None)
    if passenger is None:
        raise ChangeRefused("no_such_passenger", _("No such passenger on this booking."))
    if len(passengers) == 1:
        raise ChangeRefused("last_passenger", _("This is the booking's only passenger: cancel the booking instead."))
    party = booking_party(booking)
    counts = party.counts
    counts[passenger.type] -= 1
    grown_ups = counts.get("adult", 0) + counts.get("senior", 0)
    if problem := party_problem(grown_ups=grown_ups, infants=counts.get("infant", 0)):
        raise ChangeRefused("party_problem", problem)
    if any(leg.sailing.departs_at <= timezone.now() for leg in legs.values()):
        raise ChangeRefused("change_cutoff_passed", _("A sailing of this booking has left: cancel the passenger by "
                                                      "phone with the operator."))  # fmt: skip
    return legs, passenger


def _smaller_orders(booking: Booking, legs: dict[str, BookingLeg], passenger: Passenger) -> dict[str, LegOrder]:
    """Each leg's order for the party without the passenger: one fewer of their type, meals at most one each."""
    party = booking_party(booking)
    field = {"adult": "adults", "child": "children", "infant": "infants", "senior": "seniors"}[passenger.type]
    smaller = replace(party, **{field: getattr(party, field) - 1})
    orders = {}
    for direction, leg in legs.items():
        order = leg_order(leg, party)
        extras = replace(
            order.extras,
            dinners=min(order.extras.dinners, smaller.persons),
            breakfasts=min(order.extras.breakfasts, smaller.persons),
        )
        orders[direction] = LegOrder(smaller, order.fare_family, extras)
    return orders


def _share_refund(leg: BookingLeg, new_lines: list[dict], at: dt.datetime) -> int:
    """The refundable part of what the leg no longer costs, at the percentage cancelling the leg gives back now."""
    share = max(refundable_minor(leg.price_lines) - refundable_minor(new_lines), 0)
    return share * refund_percent(leg=leg, at=at) // 100


def passenger_hold_remote(*, booking: Booking, passenger_id: int) -> dict[str, tuple]:
    """For each remote leg, the smaller party held and confirmed at its operator, outside any transaction:
    {direction: (adapter, hold, confirmation)}. Raises ChangeRefused (the operator will not) or OperatorUnavailable;
    what was taken is given back."""
    legs, passenger = _cancellable_passenger(booking, passenger_id)
    orders = _smaller_orders(booking, legs, passenger)
    manifest = booking_manifest(booking, without=passenger.pk)
    taken, remote = [], {}
    try:
        for direction, leg in legs.items():
            adapter = adapter_for(leg.sailing.route.operator)
            if not adapter.is_remote:
                continue
            hold = adapter.hold(sailing_ref=leg.sailing.ref, order=orders[direction],
                                minutes=settings.BOOKING_HOLD_MINUTES)  # fmt: skip
            taken.append((adapter, hold.hold_ref))
            remote[direction] = (adapter, hold, adapter.confirm(hold.hold_ref, manifest))
    except OperatorRefused as refusal:
        give_back(taken)
        raise ChangeRefused(refusal.code, refusal.message) from None
    except OperatorError as exc:
        give_back(taken)
        raise operator_unavailable(adapter, exc) from None
    return remote


def passenger_cancel(*, booking_id: int, passenger_id: int, actor: str, remote: dict[str, tuple]) -> BookingChange:
    """Cancel one passenger (in the caller's transaction): every leg sold again for the smaller party — our own
    inventory swapped here, remote operators' already held and confirmed (`remote`), their old places released after
    commit — the passenger removed, and the change recorded with what it refunds."""
    booking = booking_lock(booking_id=booking_id)
    legs, passenger = _cancellable_passenger(booking, passenger_id)
    orders = _smaller_orders(booking, legs, passenger)
    replace_pending(booking)
    now = timezone.now()
    olds, news, refund, difference = [], [], 0, 0
    for direction, leg in legs.items():
        adapter = adapter_for(leg.sailing.route.operator)
        if adapter.is_remote:
            _adapter, hold, reference = remote[direction]
        else:
            adapter.cancel(leg.operator_hold_ref)  # the smaller party fits in what this gives back
            hold = adapter.hold(sailing_ref=leg.sailing.ref, order=orders[direction],
                                minutes=settings.BOOKING_HOLD_MINUTES)  # fmt: skip
            reference = adapter.confirm(hold.hold_ref)
        olds.append(old_leg(leg) | {"released": not adapter.is_remote})
        refund += _share_refund(leg, hold.price["lines"], now)
        difference += hold.quote.total_minor - leg.price_minor
        BookingLeg.objects.filter(pk=leg.pk).update(
            operator_hold_ref=hold.hold_ref, operator_booking_ref=reference, price_minor=hold.quote.total_minor,
            price_lines=hold.price["lines"],
        )  # fmt: skip
        news.append({**olds[-1], "hold_ref": hold.hold_ref, "operator_booking_ref": reference,
                     "price_minor": hold.quote.total_minor, "price_lines": hold.price["lines"]})  # fmt: skip
    name = f"{passenger.first_name} {passenger.last_name}"
    passenger.delete()
    change = _record(
        booking, BookingChange.Kind.PASSENGER_CANCELLED, actor, f"passenger {name} cancelled",
        old_legs=olds, new_legs=news, difference=difference, refund=refund,
    )  # fmt: skip
    _reprice(booking)
    return change


# --- both -----------------------------------------------------------------------------------------------------------


def _record(booking, kind, actor, summary, *, old_legs, new_legs, difference, refund) -> BookingChange:
    now = timezone.now()
    number = (booking.changes.aggregate(last=Max("number"))["last"] or 0) + 1
    return BookingChange.objects.create(
        booking=booking, number=number, kind=kind, status=BookingChange.Status.CONFIRMED, actor=actor[:64],
        summary=summary[:255], wanted={}, party={}, old_legs=old_legs, new_legs=new_legs,
        difference_minor=difference, fee_minor=0, due_minor=0, refund_minor=refund, currency=booking.currency,
        expires_at=now, confirmed_at=now, remote_pending=any(leg["remote"] for leg in old_legs),
    )  # fmt: skip


def _reprice(booking: Booking) -> None:
    """The booking's total is its legs' again; its e-tickets are reissued (the old codes stop boarding)."""
    booking.total_minor = sum(BookingLeg.objects.filter(booking=booking).values_list("price_minor", flat=True))
    booking.tickets_version += 1
    booking.save(update_fields=["total_minor", "tickets_version", "updated_at"])
