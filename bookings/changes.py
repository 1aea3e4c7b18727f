"""Every write of a booking's changes: quote (new places held), confirm, swap the legs, expire or drop.

A quote holds the new places of every leg it sells again, by the same inventory rules as a new booking, until its
deadline. Making the change swaps the legs in one transaction under the booking's lock: the new holds become sales
and the old places are given back in that transaction (our own inventory), or after it (remote operators, whose new
holds are confirmed first, outside any transaction). The old capacity is never released before the new is secured.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.change_requests import ChangePlan, ChangeRefused, change_plan, check_leg_rules
from bookings.models import Booking, BookingChange, BookingLeg, BookingVehicle, Passenger
from bookings.orders import party_manifest, party_vehicles
from bookings.policy import leg_refund_due
from bookings.services import booking_lock, give_back, operator_unavailable
from ferries.errors import OperatorError, OperatorRefused
from ferries.models import Sailing
from ferries.operators import adapter_for
from ferries.operators.base import LegOrder
from ferries.pricing import change_fee

logger = logging.getLogger(__name__)


def _adapter(sailing_id: int):
    return adapter_for(Sailing.objects.select_related("route__operator").get(pk=sailing_id).route.operator)


# --- quoting ------------------------------------------------------------------------------------


def change_quote(
    *, plan: ChangePlan, wanted: dict, actor: str, kind: str = BookingChange.Kind.CHANGE, minutes: int | None = None
) -> BookingChange:
    """Hold the new places of every leg the plan sells again and record the quote: the difference, the fee, what is
    due or refunded, and its deadline. A quote still pending for the booking is replaced (its places given back);
    one being paid for is not: ChangeRefused. Operators' refusals are ChangeRefused with their code.

    Only a traveller's change (`kind` CHANGE) is bound by the fare's rules and fee. A re-routing (REROUTED, offered
    when the operator cancels or delays a sailing) is free: the legs keep the price and conditions they were sold
    with. A vehicle measured larger at the quay (REMEASURED) costs the difference in price, one measured smaller keeps
    its price and gives back the space. Places are held for `minutes`."""
    remote: list[tuple] = []
    ruled = kind == BookingChange.Kind.CHANGE
    minutes = minutes or settings.BOOKING_HOLD_MINUTES
    try:
        # Remote operators first, outside any transaction: no row of ours waits on the network.
        holds = _hold(plan, remote=True, taken=remote, minutes=minutes)
        with transaction.atomic():
            booking = booking_lock(booking_id=plan.booking.pk)
            plan = _recheck(plan, booking) if ruled else _recheck_as_planned(plan, booking)
            replace_pending(booking)
            holds += _hold(plan, remote=False, taken=remote, minutes=minutes)
            change = _record(plan, booking, holds, wanted, actor, kind=kind, minutes=minutes)
    except BaseException:
        give_back(remote)
        raise
    return change


def _recheck_as_planned(plan: ChangePlan, booking: Booking) -> ChangePlan:
    """A change no fare rule binds needs the booking confirmed and its legs where they were when it was planned."""
    if booking.status != Booking.Status.CONFIRMED:
        raise ChangeRefused("booking_not_changeable", _("This booking is no longer confirmed."))
    if any(c.status == BookingChange.Status.PAID for c in booking.changes.all()):
        raise ChangeRefused("change_in_progress", _("A change of this booking is being made; try again in a moment."))
    for item in plan.legs:
        if not booking.legs.filter(pk=item.leg.pk, sailing_id=item.leg.sailing_id).exists():
            raise ChangeRefused("booking_changed", _("The booking was changed meanwhile; please look at it again."))
    return plan


def _recheck(plan: ChangePlan, booking: Booking) -> ChangePlan:
    """The plan again under the booking's lock: a change made meanwhile may have used the last change allowed."""
    if any(c.status == BookingChange.Status.PAID for c in booking.changes.all()):
        raise ChangeRefused("change_in_progress", _("A change of this booking is being made; try again in a moment."))
    fresh = change_plan(booking, plan.wanted)
    if [(c.leg.pk, c.leg.sailing_id, c.leg.changes_made) for c in fresh.legs] != [
        (c.leg.pk, c.leg.sailing_id, c.leg.changes_made) for c in plan.legs
    ]:
        raise ChangeRefused("booking_changed", _("The booking was changed meanwhile; please look at it again."))
    return fresh


def _hold(plan: ChangePlan, *, remote: bool, taken: list, minutes: int) -> list[tuple]:
    held = []
    for item in sorted(plan.legs, key=lambda c: c.sailing.pk):  # in sailing order, as bookings hold
        adapter = adapter_for(item.sailing.route.operator)
        if adapter.is_remote != remote:
            continue
        # On the sailing it holds already, our own inventory holds only what the changed party needs beyond it.
        top_up = not remote and item.sailing.pk == item.leg.sailing_id
        try:
            if top_up:
                hold = adapter.top_up(
                    hold_ref=item.leg.operator_hold_ref, sailing_ref=item.sailing.ref, order=item.order, minutes=minutes
                )
            else:
                hold = adapter.hold(sailing_ref=item.sailing.ref, order=item.order, minutes=minutes)
        except OperatorRefused as refusal:
            raise ChangeRefused(refusal.code, refusal.message, leg=item.prefix) from None
        except OperatorError as exc:
            raise operator_unavailable(adapter, exc) from None
        if remote:
            taken.append((adapter, hold.hold_ref))
        held.append((item, hold, remote, top_up))
    return held


def replace_pending(booking: Booking) -> None:
    """Quotes still pending are replaced (their places given back): the booking is about to change otherwise."""
    for change in booking.changes.select_for_update().filter(status__in=BookingChange.PENDING):
        _drop(change, BookingChange.Status.SUPERSEDED, "replaced by a later quote")


def _record(
    plan: ChangePlan, booking: Booking, holds: list[tuple], wanted: dict, actor: str, *, kind: str, minutes: int
) -> BookingChange:
    now = timezone.now()
    ruled, free = kind == BookingChange.Kind.CHANGE, kind == BookingChange.Kind.REROUTED
    if not free and any(hold.quote.currency != booking.currency for _item, hold, *_rest in holds):
        raise ChangeRefused("currency_differs", _("The new sailing is sold in another currency than this booking."))
    difference = 0 if free else sum(hold.quote.total_minor - item.leg.price_minor for item, hold, *_rest in holds)
    fee = sum(change_fee(item.leg.change_policy, item.leg.price_minor) for item in plan.legs) if ruled else 0
    # A cheaper change gives back the saving, less the fee, and never more than cancelling those legs would; a change
    # no fare rule binds gives nothing back: cheaper, the legs keep the price they were sold at.
    refundable = sum(leg_refund_due(leg=item.leg, at=now) for item in plan.legs) if ruled else 0
    keep_prices = free or (not ruled and difference <= 0)
    difference = 0 if keep_prices else difference
    amount = difference + fee
    number = (booking.changes.aggregate(last=Max("number"))["last"] or 0) + 1
    expires = min([now + dt.timedelta(minutes=minutes)] + [h[1].expires_at for h in holds])
    new_legs = [_new_leg(*held) for held in sorted(holds, key=lambda h: h[0].prefix)]
    if keep_prices:  # the traveller keeps what they bought: its price and its conditions
        new_legs = [{**new, **_as_sold(plan, new["direction"])} for new in new_legs]
    return BookingChange.objects.create(
        booking=booking,
        number=number,
        kind=kind,
        actor=actor[:64],
        summary=plan.summary,
        wanted=wanted,
        party=_party_json(plan),
        old_legs=[old_leg(item.leg) for item in plan.legs],
        new_legs=new_legs,
        difference_minor=difference,
        fee_minor=fee,
        due_minor=max(amount, 0),
        refund_minor=min(max(-amount, 0), refundable),
        currency=booking.currency,
        expires_at=expires,
    )


def _as_sold(plan: ChangePlan, direction: str) -> dict:
    leg = next(item.leg for item in plan.legs if item.leg.direction == direction)
    return {
        "price_minor": leg.price_minor, "price_lines": leg.price_lines, "fare_family": leg.fare_family,
        "fare_family_name": leg.fare_family_name, "change_rules": leg.change_rules, "policy": leg.cancellation_policy,
    }  # fmt: skip


def _party_json(plan: ChangePlan) -> dict:
    wanted = plan.wanted
    return {
        "passengers": [{**vars(p), "date_of_birth": p.date_of_birth.isoformat()} for p in wanted.passengers],
        "vehicles": [vars(vehicle) for vehicle in wanted.vehicles],
        "accommodation": wanted.accommodation,
        "pets": wanted.pets,
        "dogs": wanted.dogs,
        "cats": wanted.cats,
    }


def old_leg(leg: BookingLeg) -> dict:
    return {
        "direction": leg.direction, "sailing_id": leg.sailing_id, "sailing_ref": leg.sailing.ref,
        "hold_ref": leg.operator_hold_ref, "operator_booking_ref": leg.operator_booking_ref,
        "remote": adapter_for(leg.sailing.route.operator).is_remote, "price_minor": leg.price_minor,
        "price_lines": leg.price_lines, "fare_family": leg.fare_family, "fare_family_name": leg.fare_family_name,
        "released": False,
    }  # fmt: skip


def _new_leg(item, hold, remote: bool, top_up: bool) -> dict:
    """A leg as quoted. `top_up`: on the sailing the leg holds already, `hold_ref` holding only what the changed party
    needs beyond it ("" for nothing); made by swapping the two for the whole order (our own inventory)."""
    return {
        "direction": item.leg.direction, "sailing_id": item.sailing.pk, "sailing_ref": item.sailing.ref,
        "hold_ref": hold.hold_ref, "operator_booking_ref": "", "remote": remote, "top_up": top_up,
        "order": item.order.as_dict(),
        "expires_at": hold.expires_at.isoformat(), "price_minor": hold.quote.total_minor,
        "price_lines": hold.price["lines"], "fare_family": hold.quote.family["code"],
        "fare_family_name": hold.quote.family["name"], "change_rules": hold.price["change_policy"],
        "policy": hold.quote.policy, "released": False,
    }  # fmt: skip


# --- confirming ---------------------------------------------------------------------------------


def change_lock(*, booking_id: int, change_id: int) -> BookingChange:
    """The change with its booking's row locked, then its own (the order every flow keeps)."""
    booking_lock(booking_id=booking_id)
    return BookingChange.objects.select_for_update().select_related("booking").get(pk=change_id, booking_id=booking_id)


def change_confirm(*, change: BookingChange) -> BookingChange:
    """The traveller accepts the quote: awaiting payment when something is due, else paid (nothing to pay) and to be
    made. Confirming again answers the change as it stands; a quote no longer pending is ChangeRefused."""
    with transaction.atomic():
        change = change_lock(booking_id=change.booking_id, change_id=change.pk)
        if change.status in {BookingChange.Status.AWAITING_PAYMENT, BookingChange.Status.PAID,
                             BookingChange.Status.CONFIRMED}:  # fmt: skip
            return change
        change_check_pending(change)
        if change.booking.status != Booking.Status.CONFIRMED:
            raise ChangeRefused("booking_not_changeable", _("This booking is no longer confirmed."))
        for item in change.old_legs:  # the fare's cut-off counts when the change is made, too (a traveller's change)
            if change.kind == BookingChange.Kind.CHANGE:
                check_leg_rules(change.booking.legs.get(direction=item["direction"]), now=timezone.now())
        paid = change.due_minor == 0
        change.status = BookingChange.Status.PAID if paid else BookingChange.Status.AWAITING_PAYMENT
        change.save(update_fields=["status", "updated_at"])
    return change


def change_check_pending(change: BookingChange) -> None:
    """ChangeRefused unless the change may still be paid for or made: pending, and before its deadline (one past it
    is expired on the spot)."""
    if change.status == BookingChange.Status.SUPERSEDED:
        raise ChangeRefused("change_superseded", _("A later quote replaced this one."))
    if change.status == BookingChange.Status.FAILED:
        raise ChangeRefused("change_failed", _("The operator refused this change: %(why)s") % {"why": change.note})
    if change.status == BookingChange.Status.EXPIRED or change.expires_at <= timezone.now():
        raise ChangeRefused("change_expired", _("This quote has expired and its places were given back; ask again."))


def change_mark_paid(*, change: BookingChange) -> BookingChange:
    """Money for the difference arrived for a change awaiting it (caller's transaction, change locked)."""
    change.status = BookingChange.Status.PAID
    change.save(update_fields=["status", "updated_at"])
    return change


# --- making the change --------------------------------------------------------------------------


def change_confirm_remote_legs(*, change_id: int) -> None:
    """Turn the remote operators' new holds into sales, outside any transaction; done legs are skipped. Raises
    OperatorRefused (the operator will not sell: the change fails) or OperatorError (to be tried again)."""
    change = BookingChange.objects.get(pk=change_id)
    if change.status != BookingChange.Status.PAID:
        return
    for index, leg in enumerate(change.new_legs):
        if leg["remote"] and not leg["operator_booking_ref"]:
            reference = _adapter(leg["sailing_id"]).confirm(leg["hold_ref"], party_manifest(change.party))
            with transaction.atomic():
                locked = BookingChange.objects.select_for_update().get(pk=change_id)
                locked.new_legs[index]["operator_booking_ref"] = reference
                locked.save(update_fields=["new_legs", "updated_at"])


def change_swap(*, change_id: int, booking_id: int) -> tuple[BookingChange, bool]:
    """Make a paid change, in the caller's transaction: every new hold becomes a sale and replaces its leg, our own old
    places are given back, the party becomes the change's; the e-tickets' version goes up (old codes stop boarding).
    Remote operators' old places are given back after commit (`change_release_remote`). Answers the change and
    whether it was made now."""
    change = change_lock(booking_id=booking_id, change_id=change_id)
    booking = change.booking
    if change.status != BookingChange.Status.PAID or booking.status != Booking.Status.CONFIRMED:
        return change, False
    legs = {leg.direction: leg for leg in booking.legs.select_for_update().select_related("sailing__route__operator")}
    for new in change.new_legs:
        leg = legs[new["direction"]]
        if new["remote"] and not new["operator_booking_ref"]:
            raise OperatorError(f"{new['hold_ref']} is not confirmed by its operator yet")
        hold_ref = new["hold_ref"]
        if new.get("top_up"):  # the same sailing: the old hold and its top-up become the changed order's, sold
            order = LegOrder.from_dict(new["order"])
            hold_ref, reference = _adapter(new["sailing_id"]).swap(
                hold_ref=leg.operator_hold_ref, top_up_ref=new["hold_ref"], order=order
            )
        else:
            reference = new["operator_booking_ref"] or _adapter(new["sailing_id"]).confirm(
                new["hold_ref"], party_manifest(change.party)
            )
            old_adapter = adapter_for(leg.sailing.route.operator)
            if not old_adapter.is_remote:
                old_adapter.cancel(leg.operator_hold_ref)
        BookingLeg.objects.filter(pk=leg.pk).update(
            sailing_id=new["sailing_id"], operator_hold_ref=hold_ref, operator_booking_ref=reference,
            accommodation=LegOrder.from_dict(new["order"]).party.accommodation,
            price_minor=new["price_minor"], price_lines=new["price_lines"], fare_family=new["fare_family"],
            fare_family_name=new["fare_family_name"], change_rules=new["change_rules"], released_at=None,
            changes_made=F("changes_made") + int(change.kind == BookingChange.Kind.CHANGE), **new["policy"],
            # A leg moved to another sailing is reminded of that one afresh.
            reminded=Case(When(sailing_id=new["sailing_id"], then=F("reminded")), default=Value("")),
        )  # fmt: skip
    for old in change.old_legs:
        old["released"] = not old["remote"]
    _party_swap(booking, change.party, measured=change.kind == BookingChange.Kind.REMEASURED, actor=change.actor)
    booking.total_minor = sum(BookingLeg.objects.filter(booking=booking).values_list("price_minor", flat=True))
    booking.tickets_version += 1
    booking.save(
        update_fields=["total_minor", "tickets_version", "accommodation", "pets", "dogs", "cats", "updated_at"]
    )
    change.status, change.confirmed_at = BookingChange.Status.CONFIRMED, timezone.now()
    change.remote_pending = any(old["remote"] for old in change.old_legs)
    change.save(update_fields=["status", "confirmed_at", "old_legs", "remote_pending", "updated_at"])
    return change, True


def _party_swap(booking: Booking, party: dict, *, measured: bool = False, actor: str = "") -> None:
    booking.accommodation, booking.pets = party["accommodation"], party["pets"]
    booking.dogs, booking.cats = party.get("dogs", 0), party.get("cats", 0)  # none before pets had kinds
    fields = ("type", "first_name", "last_name", "date_of_birth", "nationality", "document_number")
    as_booked = [{f: str(getattr(p, f)) for f in fields} for p in booking.passengers.order_by("pk")]
    wanted = [{f: str(p[f]) for f in fields} for p in party["passengers"]]
    if as_booked != wanted:  # unchanged passengers keep their rows, and what the quay recorded of them
        booking.passengers.all().delete()
        Passenger.objects.bulk_create(Passenger(booking=booking, **passenger) for passenger in party["passengers"])
    _vehicles_swap(booking, party_vehicles(party), measured=measured, actor=actor)


def _vehicles_swap(booking: Booking, wanted: list[dict], *, measured: bool, actor: str) -> None:
    """The booking's vehicles become `wanted`, in order: a vehicle as it was keeps its row (and what the quay
    recorded of it); one measured at the quay is stamped."""
    rows = list(BookingVehicle.objects.filter(booking=booking).order_by("pk"))
    BookingVehicle.objects.filter(pk__in=[row.pk for row in rows[len(wanted) :]]).delete()
    stamp = {"measured_at": timezone.now(), "measured_by": actor[:64]} if measured else {}
    for row, vehicle in zip(rows, wanted, strict=False):
        if any(getattr(row, name) != value for name, value in vehicle.items()):
            BookingVehicle.objects.filter(pk=row.pk).update(**vehicle, **stamp)
    BookingVehicle.objects.bulk_create(BookingVehicle(booking=booking, **vehicle) for vehicle in wanted[len(rows) :])


# --- dropping -----------------------------------------------------------------------------------


def change_fail(*, change_id: int, booking_id: int, reason: str) -> tuple[BookingChange, bool]:
    """The change cannot be made (an operator will not, the booking was cancelled): it fails, its new places are
    given back; the booking stays as it was. Answers the change and whether it failed now."""
    with transaction.atomic():
        change = change_lock(booking_id=booking_id, change_id=change_id)
        if change.status not in BookingChange.OPEN:
            return change, False
        _drop(change, BookingChange.Status.FAILED, reason)
    return change, True


def changes_expire_overdue(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    """Expire quotes and unpaid changes past their deadline, our own new places given back; answers their ids."""
    now = now or timezone.now()
    overdue = BookingChange.objects.filter(status__in=BookingChange.PENDING, expires_at__lt=now)
    expired = []
    for change_id, booking_id in overdue.order_by("expires_at").values_list("pk", "booking_id")[:limit]:
        with transaction.atomic():
            change = change_lock(booking_id=booking_id, change_id=change_id)
            if change.status in BookingChange.PENDING and change.expires_at < now:
                _drop(change, BookingChange.Status.EXPIRED, "not paid in time")
                expired.append(change_id)
    return expired


def _drop(change: BookingChange, status: str, note: str) -> None:
    for leg in change.new_legs:
        if not leg["remote"] and not leg["released"]:
            if leg["hold_ref"]:  # a top-up that needed nothing more holds nothing
                _adapter(leg["sailing_id"]).cancel(leg["hold_ref"])
            leg["released"] = True
    change.status, change.note = status, note[:255]
    change.remote_pending = any(leg["remote"] and not leg["released"] for leg in change.new_legs)
    change.save(update_fields=["status", "note", "new_legs", "remote_pending", "updated_at"])


def change_remote_holds(change: BookingChange) -> list[dict]:
    """The remote operators' holds the change still has to give back: the old legs' once it is made, its new legs'
    once it is dropped."""
    if change.status == BookingChange.Status.CONFIRMED:
        legs = change.old_legs
    elif change.status not in BookingChange.OPEN:
        legs = change.new_legs
    else:
        return []
    return [leg for leg in legs if leg["remote"] and not leg["released"]]


def change_release_remote(*, change_id: int) -> None:
    """Give remote operators the places the change no longer needs. Raises OperatorError to be retried."""
    change = BookingChange.objects.get(pk=change_id)
    failures = []
    for leg in change_remote_holds(change):
        try:
            _adapter(leg["sailing_id"]).cancel(leg["hold_ref"])
        except OperatorRefused as refusal:
            logger.info("hold %s already gone: %s", leg["hold_ref"], refusal.code)
        except OperatorError as exc:
            failures.append(exc)
            continue
        with transaction.atomic():
            locked = BookingChange.objects.select_for_update().get(pk=change_id)
            for field in ("old_legs", "new_legs"):
                for item in getattr(locked, field):
                    if item["hold_ref"] == leg["hold_ref"]:
                        item["released"] = True
            locked.remote_pending = bool(change_remote_holds(locked))
            locked.save(update_fields=["old_legs", "new_legs", "remote_pending", "updated_at"])
    if failures:
        raise failures[0]
