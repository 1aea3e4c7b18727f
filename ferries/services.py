"""Writes to the ferry network: scheduling sailings and taking or giving back their capacity.

Capacity is decided here, in PostgreSQL, never from the cache: each resource is taken with a
conditional UPDATE (`taken + n <= capacity`), in one transaction, resources in a fixed order so
two holds can never deadlock; the inventory's CHECK constraint is the backstop.
"""

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

import redis
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ferries.cache import cache_service
from ferries.choices import Resource
from ferries.errors import OperatorRefused
from ferries.models import CapacityHold, Route, Sailing, SailingInventory, SailingRetiming, Vessel
from ferries.party import NO_EXTRAS, Extras, Party
from ferries.selectors import bookable_after

logger = logging.getLogger(__name__)

REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: safe to read out


def new_ref(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(REF_ALPHABET) for _ in range(length))


def availability_changed(*, sailing_id: int) -> None:
    """The hook for every change of a sailing's capacity: drops its cached availability after commit."""
    transaction.on_commit(lambda: cache_service.invalidate_availability(sailing_id))


def sailing_schedule(
    *, route: Route, vessel: Vessel, ref: str, departs_at: dt.datetime, arrives_at: dt.datetime
) -> Sailing:
    """A new sailing, its inventory sized from the vessel."""
    sailing = Sailing(route=route, vessel=vessel, ref=ref, departs_at=departs_at, arrives_at=arrives_at)
    sailings_schedule(sailings=[sailing])
    return sailing


@transaction.atomic
def sailings_schedule(*, sailings: list[Sailing]) -> list[Sailing]:
    """Save new sailings in bulk, each with its inventory sized from its vessel (accommodations prefetched)."""
    created = Sailing.objects.bulk_create(sailings)
    rows = []
    for sailing in created:
        vessel = sailing.vessel
        rows.append(SailingInventory(sailing=sailing, resource=Resource.PASSENGERS, capacity=vessel.passenger_capacity))
        if vessel.lane_metres:
            rows.append(SailingInventory(sailing=sailing, resource=Resource.LANE_CM, capacity=vessel.lane_metres * 100))
        if vessel.priority_boarding_places:
            rows.append(
                SailingInventory(
                    sailing=sailing, resource=Resource.PRIORITY_BOARDING, capacity=vessel.priority_boarding_places
                )
            )
        if vessel.kennels:
            rows.append(SailingInventory(sailing=sailing, resource=Resource.KENNELS, capacity=vessel.kennels))
        rows += [
            SailingInventory(sailing=sailing, resource=a.kind, capacity=a.units) for a in vessel.accommodations.all()
        ]
    SailingInventory.objects.bulk_create(rows)
    return created


def capacity_hold(
    *, sailing: Sailing, party: Party, minutes: int, extras: Extras = NO_EXTRAS, savepoint: bool = True
) -> CapacityHold:
    """Take what the party and its extras need from the sailing, or raise OperatorRefused and take nothing.

    Inside a transaction, a refusal rolls back to a savepoint taken for this; with `savepoint` False there is none,
    for a caller whose transaction rolls back whole on a refusal (one statement less each way)."""
    _check_fits(sailing, party)
    with transaction.atomic(savepoint=savepoint):
        return _hold(sailing, party.needs() | extras.needs(), minutes)


def _check_fits(sailing: Sailing, party: Party) -> None:
    """OperatorRefused unless the sailing is on sale and its vessel takes each of the party's vehicles
    (with what is on its roof)."""
    if sailing.status != Sailing.Status.SCHEDULED or sailing.departs_at < bookable_after():
        raise OperatorRefused("not_bookable", _("This sailing can no longer be booked."))
    if party.too_tall(sailing.vessel.max_vehicle_height_cm) is not None:
        raise OperatorRefused(
            "vehicle_too_tall",
            _("Vehicles up to %(max)d cm high fit on %(vessel)s.")
            % {"max": sailing.vessel.max_vehicle_height_cm, "vessel": sailing.vessel.name},
        )


def _hold(sailing: Sailing, needs: dict[str, int], minutes: int) -> CapacityHold:
    for resource in sorted(needs):
        _take(sailing, resource, needs[resource])
    hold = CapacityHold.objects.create(
        ref=new_ref("H"),
        sailing=sailing,
        quantities=needs,
        expires_at=timezone.now() + dt.timedelta(minutes=minutes),
    )
    availability_changed(sailing_id=sailing.pk)
    return hold


@transaction.atomic
def capacity_top_up(*, hold_ref: str, party: Party, extras: Extras, minutes: int) -> CapacityHold | None:
    """For a party changing on the sailing of hold `hold_ref`: hold what it and its extras need beyond what that hold
    has (None when it needs nothing more). OperatorRefused, taking nothing, when the sailing has not that much left."""
    old = _locked_hold(hold_ref)
    needs = party.needs() | extras.needs()
    more = {r: n - old.quantities.get(r, 0) for r, n in needs.items() if n > old.quantities.get(r, 0)}
    _check_fits(old.sailing, party)
    return _hold(old.sailing, more, minutes) if more else None


@transaction.atomic
def capacity_swap(*, hold_ref: str, top_up_ref: str, party: Party, extras: Extras) -> CapacityHold:
    """The changed party's whole needs, sold, in place of hold `hold_ref` and its top-up: both released and the new
    hold taken and confirmed in one transaction, so the places are never free in between (and always fit)."""
    sailing = _locked_hold(hold_ref).sailing
    for ref in filter(None, (hold_ref, top_up_ref)):
        capacity_release(hold_ref=ref)
    hold = _hold(sailing, party.needs() | extras.needs(), minutes=1)
    return capacity_confirm(hold_ref=hold.ref)


@transaction.atomic
def capacity_confirm(*, hold_ref: str) -> CapacityHold:
    """Held → confirmed (the capacity stays taken). Confirming again is a no-op."""
    hold = _locked_hold(hold_ref)
    if hold.status == CapacityHold.Status.CONFIRMED:
        return hold
    if hold.status == CapacityHold.Status.RELEASED:
        raise OperatorRefused("hold_released", _("This hold was released; its places may have been sold."))
    hold.status = CapacityHold.Status.CONFIRMED
    hold.confirmation_ref = new_ref("C")
    hold.save(update_fields=["status", "confirmation_ref", "updated_at"])
    return hold


@transaction.atomic
def capacity_release(*, hold_ref: str) -> CapacityHold:
    """Give the capacity back to the sailing. Releasing again is a no-op."""
    hold = _locked_hold(hold_ref)
    if hold.status == CapacityHold.Status.RELEASED:
        return hold
    for resource in sorted(hold.quantities):
        SailingInventory.objects.filter(sailing_id=hold.sailing_id, resource=resource).update(
            taken=F("taken") - hold.quantities[resource]
        )
    hold.status = CapacityHold.Status.RELEASED
    hold.save(update_fields=["status", "updated_at"])
    availability_changed(sailing_id=hold.sailing_id)
    return hold


def _take(sailing: Sailing, resource: str, amount: int) -> None:
    taken = SailingInventory.objects.filter(
        sailing=sailing, resource=resource, taken__lte=F("capacity") - amount
    ).update(taken=F("taken") + amount)
    if taken:
        return
    exists = SailingInventory.objects.filter(sailing=sailing, resource=resource).exists()
    if resource == Resource.PRIORITY_BOARDING:
        code = "priority_boarding_sold_out" if exists else "extra_not_offered"
        raise OperatorRefused(code, _("Priority boarding is sold out on this sailing."))
    if exists:
        label = str(Resource(resource).label).lower()
        raise OperatorRefused("sold_out", _("Sold out: not enough %(what)s left on this sailing.") % {"what": label})
    raise OperatorRefused(
        "not_offered", _("%(what)s are not offered on this sailing.") % {"what": Resource(resource).label}
    )


def _locked_hold(hold_ref: str) -> CapacityHold:
    try:
        return CapacityHold.objects.select_for_update().get(ref=hold_ref)
    except CapacityHold.DoesNotExist:
        raise OperatorRefused("unknown_hold", _("No hold %(ref)s.") % {"ref": hold_ref}) from None


def capacity_holds_expire(*, grace: dt.timedelta) -> int:
    """Release holds still held `grace` after their deadline, as an operator expires holds nobody confirmed.

    Bookings release their holds themselves; this frees what a crash or a lost message left behind.
    """
    stale = CapacityHold.objects.filter(status=CapacityHold.Status.HELD, expires_at__lt=timezone.now() - grace)
    released = 0
    for ref in stale.values_list("ref", flat=True)[:500]:
        capacity_release(hold_ref=ref)
        released += 1
    return released


# --- cancelling a sailing -----------------------------------------------------------------------


class SailingNotCancellable(Exception):
    """The sailing has left: it can no longer be cancelled."""


@dataclass(frozen=True)
class SailingCancellation:
    sailing: Sailing
    changed: bool  # False when the sailing was already cancelled


def sailing_cancel(*, sailing_id: int, reason: str) -> SailingCancellation:
    """Take a scheduled sailing off sale for good, under its row lock; cancelling again is a no-op.

    Its bookings are not touched here: `bookings.sailing_cancellation.sailing_cancelled` cancels them. Cached
    availability and the searches that list the sailing are dropped after commit, so it leaves the
    results at once rather than when the cache expires.
    """
    with transaction.atomic():
        sailing = (
            Sailing.objects.select_for_update(of=("self",))
            .select_related("route__origin", "route__destination")
            .get(pk=sailing_id)
        )
        if sailing.status == Sailing.Status.CANCELLED:
            return SailingCancellation(sailing, changed=False)
        if sailing.status != Sailing.Status.SCHEDULED:
            raise SailingNotCancellable(
                _("Sailing %(ref)s has %(status)s and cannot be cancelled.")
                % {"ref": sailing.ref, "status": sailing.get_status_display().lower()}
            )
        sailing.status = Sailing.Status.CANCELLED
        sailing.save(update_fields=["status"])
        availability_changed(sailing_id=sailing.pk)
        searches_changed(sailing=sailing)
    logger.info("sailing %s cancelled: %s", sailing.ref, reason)
    return SailingCancellation(sailing, changed=True)


class SailingNotRetimable(Exception):
    """The sailing has left or is cancelled, or the new times do not make sense; the message says which."""


def sailing_retime(
    *, sailing_id: int, departs_at: dt.datetime, arrives_at: dt.datetime, reason: str, actor: str
) -> SailingRetiming | None:
    """Give a scheduled sailing new times (a delay), under its row lock, keeping the timetable's first; None when the
    times are already these. Cached availability and searches are dropped after commit."""
    if arrives_at <= departs_at:
        raise SailingNotRetimable(_("A sailing arrives after it departs."))
    with transaction.atomic():
        sailing = (
            Sailing.objects.select_for_update(of=("self",))
            .select_related("route__origin", "route__destination")
            .get(pk=sailing_id)
        )
        if sailing.status != Sailing.Status.SCHEDULED:
            raise SailingNotRetimable(
                _("Sailing %(ref)s has %(status)s and cannot be retimed.")
                % {"ref": sailing.ref, "status": sailing.get_status_display().lower()}
            )
        if (sailing.departs_at, sailing.arrives_at) == (departs_at, arrives_at):
            return None
        retiming = SailingRetiming.objects.create(
            sailing=sailing, departs_at=departs_at, arrives_at=arrives_at, previous_departs_at=sailing.departs_at,
            previous_arrives_at=sailing.arrives_at, reason=reason[:255], actor=actor[:64],
        )  # fmt: skip
        searches_changed(sailing=sailing)  # the day it was listed on
        sailing.scheduled_departs_at = sailing.timetabled_departs_at
        sailing.scheduled_arrives_at = sailing.timetabled_arrives_at
        sailing.departs_at, sailing.arrives_at = departs_at, arrives_at
        sailing.save(update_fields=["departs_at", "arrives_at", "scheduled_departs_at", "scheduled_arrives_at"])
        availability_changed(sailing_id=sailing.pk)
        searches_changed(sailing=sailing)  # and the day it leaves on now
    logger.info("sailing %s retimed (%+d min): %s", sailing.ref, sailing.departure_delay_minutes, reason)
    return retiming


def searches_changed(*, sailing: Sailing) -> None:
    """Drop, after commit, the cached searches that may list the sailing: its route on its day, port time."""
    day = sailing.departs_at.astimezone(sailing.route.origin.tz).date().isoformat()
    _drop_searches_on_commit(route=sailing.route, day=day)


def fares_changed(*, route: Route) -> None:
    """Drop, after commit, the cached searches (and fare calendars) of the route, whose prices a fare gives."""
    _drop_searches_on_commit(route=route)


def operator_shown_changed(*, operator) -> None:
    """Drop, after commit, the cached searches of the operator's routes, whose rows show it (its name, its logo)."""
    for route in operator.routes.all():
        _drop_searches_on_commit(route=route)


def _drop_searches_on_commit(*, route: Route, day: str | None = None) -> None:
    name = f"{route.origin.code}-{route.destination.code}"

    def drop() -> None:
        try:
            cache_service.clear_ferry_searches(route=name, date=day)
        except redis.RedisError as exc:
            # The change is committed; a search cached meanwhile lasts at most SEARCH_TTL.
            logger.warning("could not drop cached searches of %s on %s: %r", name, day or "any day", exc)

    transaction.on_commit(drop)
