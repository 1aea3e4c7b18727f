"""Operators whose inventory we keep: answered from our own database."""

import datetime as dt
from dataclasses import replace

from django.utils import timezone

from ferries.choices import Accommodation
from ferries.errors import OperatorRefused
from ferries.models import Fare, Route, Sailing
from ferries.operators.base import Hold, LegOrder, Offer, OperatorAdapter, PartyManifest, SailingTimes
from ferries.party import Party
from ferries.pricing import (
    ExtraNotSold,
    NotPriced,
    Quote,
    UnknownFareFamily,
    accommodation_prices,
    extra_prices,
    fare_on,
    fares_for_routes,
    quotes,
    route_quote,
)
from ferries.queries import CalendarQuery, LegQuery
from ferries.selectors import sailing_availability, sailings_on_days
from ferries.services import capacity_confirm, capacity_hold, capacity_release, capacity_swap, capacity_top_up


class LocalInventoryOperator(OperatorAdapter):
    def search(self, query: LegQuery) -> list[Offer]:
        return self.search_days(query.days_of())[query.day]

    def search_days(self, query: CalendarQuery, *, routes: list[Route] | None = None) -> dict[dt.date, list[Offer]]:
        """Every day's search at once: one read of the sailings and one of the fares for all the days."""
        found: dict[dt.date, list[Offer]] = {day: [] for day in query.days}
        if routes is None:
            routes = list(
                Route.objects.filter(
                    operator=self.operator,
                    active=True,
                    origin__code=query.origin,
                    destination__code=query.destination,
                )
                .select_related("origin")
                .order_by()
            )
        sailings = sailings_on_days(routes=routes, first=query.first, last=query.last)
        if not sailings:
            return found
        fares = fares_for_routes(route_ids=[r.pk for r in routes], dates=[query.first, query.last])
        origin = routes[0].origin  # every route here leaves from the query's port
        one_day = query.first == query.last  # a day's search compares accommodations; a calendar needs the lowest only
        # The sailings a fare prices cost the party the same: priced once per fare.
        priced: dict[int, tuple | None] = {}
        for sailing in sailings:
            day = sailing.departs_at.astimezone(origin.tz).date()
            try:
                fare = fare_on(fares.get(sailing.route_id, []), day)
            except NotPriced:
                continue  # the route does not sell this party's journey on that day
            if fare.pk not in priced:
                priced[fare.pk] = _priced(fare, query.party, accommodations=one_day)
            if priced[fare.pk] is None:
                continue  # nor under this fare
            prices, extras, kinds = priced[fare.pk]
            offer = _offer(sailing, prices, extras)
            if one_day:
                offered = offer.availability["remaining"]
                offer = replace(offer, accommodations={
                    kind: total for kind, total in kinds.items() if kind == Accommodation.DECK or kind in offered
                })  # fmt: skip
            found[day].append(offer)
        return found

    def availability(self, sailing_refs: list[str]) -> dict[str, dict]:
        sailings = Sailing.objects.filter(route__operator=self.operator, ref__in=sailing_refs).prefetch_related(
            "inventory"
        )
        return {sailing.ref: sailing_availability(sailing) for sailing in sailings}

    def hold(self, *, sailing_ref: str, order: LegOrder, minutes: int) -> Hold:
        sailing = self._sailing(sailing_ref)
        return self.hold_priced(sailing=sailing, order=order, quote=self.quote(sailing=sailing, order=order),
                                minutes=minutes)  # fmt: skip

    def hold_priced(
        self, *, sailing: Sailing, order: LegOrder, quote: Quote, minutes: int, savepoint: bool = True
    ) -> Hold:
        """`hold`, for a sailing already read (with its vessel) and priced (`quote`): a booking reads and prices its
        sailings before its transaction. `savepoint` False: the caller's transaction rolls back whole when this
        refuses, so there is no part of it to undo alone."""
        hold = capacity_hold(
            sailing=sailing, party=order.party, minutes=minutes, extras=order.extras, savepoint=savepoint
        )
        return Hold(hold_ref=hold.ref, expires_at=hold.expires_at, quote=quote)

    def price(self, *, query: LegQuery, sailing_ref: str, order: LegOrder) -> Quote:
        return self.quote(sailing=self._sailing(sailing_ref), order=order)

    def quote(self, *, sailing: Sailing, order: LegOrder) -> Quote:
        """What the order costs on `sailing` (read with its route's origin port), or OperatorRefused."""
        day = sailing.departs_at.astimezone(sailing.route.origin.tz).date()
        try:
            return route_quote(
                route=sailing.route, day=day, party=order.party, family=order.fare_family, extras=order.extras
            )
        except UnknownFareFamily as exc:
            raise OperatorRefused("unknown_fare_family", str(exc)) from None
        except ExtraNotSold as exc:
            raise OperatorRefused("extra_not_offered", str(exc)) from None
        except NotPriced as exc:
            raise OperatorRefused("not_offered", str(exc)) from None

    def top_up(self, *, hold_ref: str, sailing_ref: str, order: LegOrder, minutes: int) -> Hold:
        """A change of the party on the sailing it holds already: only what it needs beyond hold `hold_ref` is held
        (`hold_ref` "" when nothing more), priced as a hold of the whole order would be."""
        price = self.quote(sailing=self._sailing(sailing_ref), order=order)
        more = capacity_top_up(hold_ref=hold_ref, party=order.party, extras=order.extras, minutes=minutes)
        expires = more.expires_at if more else timezone.now() + dt.timedelta(minutes=minutes)
        return Hold(hold_ref=more.ref if more else "", expires_at=expires, quote=price)

    def swap(self, *, hold_ref: str, top_up_ref: str, order: LegOrder) -> tuple[str, str]:
        """The changed order sold in place of hold `hold_ref` and its top-up: (its hold, its confirmation)."""
        hold = capacity_swap(hold_ref=hold_ref, top_up_ref=top_up_ref, party=order.party, extras=order.extras)
        return hold.ref, hold.confirmation_ref

    def confirm(self, hold_ref: str, manifest: PartyManifest | None = None) -> str:
        # Our own inventory: the manifest is the booking's own (bookings.manifests), nothing to send.
        return capacity_confirm(hold_ref=hold_ref).confirmation_ref

    def sailing_times(self, sailing_refs: list[str]) -> dict[str, SailingTimes]:
        sailings = Sailing.objects.filter(route__operator=self.operator, ref__in=sailing_refs)
        return {
            s.ref: SailingTimes(s.departs_at, s.arrives_at, cancelled=s.status == Sailing.Status.CANCELLED)
            for s in sailings
        }

    def send_manifest(self, hold_ref: str, manifest: PartyManifest) -> None:
        """Our own inventory keeps no passenger list: the booking's is the manifest (bookings.manifests)."""

    def cancel(self, hold_ref: str) -> None:
        capacity_release(hold_ref=hold_ref)

    def _sailing(self, ref: str) -> Sailing:
        try:
            return Sailing.objects.select_related("vessel", "route__origin").get(route__operator=self.operator, ref=ref)
        except Sailing.DoesNotExist:
            raise OperatorRefused("unknown_sailing", f"No sailing {ref}.") from None


def _priced(fare: Fare, party: Party, *, accommodations: bool) -> tuple | None:
    """(the party's quotes in each family, the extras' prices, each accommodation's price if asked) under `fare`;
    None if the fare does not sell the party's journey."""
    try:
        prices = quotes(fare=fare, party=party)
    except NotPriced:
        return None
    return prices, extra_prices(fare), accommodation_prices(fare=fare, party=party) if accommodations else {}


def _offer(sailing: Sailing, prices: tuple[Quote, ...], extras: dict[str, int]) -> Offer:
    return Offer(
        sailing_ref=sailing.ref,
        sailing_id=sailing.pk,
        departs_at=sailing.departs_at,
        arrives_at=sailing.arrives_at,
        vessel=sailing.vessel.name,
        max_vehicle_height_cm=sailing.vessel.max_vehicle_height_cm,
        fares=prices,
        extras=extras,
        availability=sailing_availability(sailing),
        amenities=tuple(sailing.vessel.amenities),
    )
