"""Prices computed on the server from a route's fares; a client never supplies a price."""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ferries.choices import CABIN_BERTHS, Accommodation, PassengerType
from ferries.models import Fare, Route
from ferries.party import Party
from kernel.money import money


class NotPriced(Exception):
    """The route has no price for this party on this date (no fare, unknown band, accommodation not sold)."""


@dataclass(frozen=True)
class PriceLine:
    code: str  # a passenger type, "vehicle:<category>", "accommodation:<kind>" or "pets"
    quantity: int
    unit_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_minor


@dataclass(frozen=True)
class Quote:
    """A price as it travels inside Maritime: from the fares or an operator's API to the search and the booking.
    `as_dict` is its wire form (the operators' APIs, the search answer, a leg's stored lines), `from_dict` reads it."""

    lines: tuple[PriceLine, ...]
    currency: str
    policy: dict  # the fare's cancellation policy, sold with the price
    fare_id: int | None = None  # ours, when priced from our own fares

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    def as_dict(self) -> dict:
        return {
            "total": money(self.total_minor, self.currency),
            "cancellation_policy": self.policy,
            "lines": [
                {
                    "code": line.code,
                    "quantity": line.quantity,
                    "unit": money(line.unit_minor, self.currency),
                    "total": money(line.total_minor, self.currency),
                }
                for line in self.lines
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Quote":
        lines = tuple(
            PriceLine(str(line["code"]), int(line["quantity"]), int(line["unit"]["amount_minor"]))
            for line in data["lines"]
        )
        return cls(lines=lines, currency=str(data["total"]["currency"]), policy=dict(data["cancellation_policy"]))


def fares_for_routes(*, route_ids: list[int], dates: list[dt.date]) -> dict[int, list[Fare]]:
    """The fares of these routes valid on any of these dates, with their price rows, in one go."""
    fares = (
        Fare.objects.filter(route_id__in=route_ids, valid_from__lte=max(dates), valid_to__gte=min(dates))
        .prefetch_related("passenger_fares", "vehicle_fares", "accommodation_fares")
        .order_by("-valid_from")
    )
    by_route: dict[int, list[Fare]] = {}
    for fare in fares:
        by_route.setdefault(fare.route_id, []).append(fare)
    return by_route


def fare_on(fares: list[Fare], day: dt.date) -> Fare:
    """The fare valid on `day`; the most recently started one if seasons overlap."""
    for fare in fares:
        if fare.valid_from <= day <= fare.valid_to:
            return fare
    raise NotPriced(_("No fare for this date."))


def quote(*, fare: Fare, party: Party) -> Quote:
    """The price of the party's journey on one leg under `fare`."""
    lines = [_passenger_line(fare, kind, n) for kind, n in party.counts.items()]
    lines.append(_accommodation_line(fare, party))
    if party.vehicle:
        lines.append(_vehicle_line(fare, party))
    if party.pets:
        lines.append(PriceLine("pets", party.pets, fare.pet_amount_minor))
    policy = {
        "refund_full_days": fare.refund_full_days,
        "refund_partial_hours": fare.refund_partial_hours,
        "refund_partial_percent": fare.refund_partial_percent,
    }
    lines = tuple(line for line in lines if line.quantity)
    return Quote(lines=lines, currency=fare.currency, fare_id=fare.pk, policy=policy)


def route_quote(*, route: Route, day: dt.date, party: Party) -> Quote:
    return quote(fare=fare_on(fares_for_routes(route_ids=[route.pk], dates=[day]).get(route.pk, []), day), party=party)


def _passenger_line(fare: Fare, kind: str, count: int) -> PriceLine:
    amounts = {row.passenger_type: row.amount_minor for row in fare.passenger_fares.all()}
    if kind not in amounts:
        if kind != PassengerType.INFANT:
            raise NotPriced(_("No fare for %(kind)s passengers.") % {"kind": kind})
        return PriceLine(kind, count, 0)  # infants travel free unless the fare says otherwise
    return PriceLine(kind, count, amounts[kind])


def _accommodation_line(fare: Fare, party: Party) -> PriceLine:
    amounts = {row.accommodation: row.amount_minor for row in fare.accommodation_fares.all()}
    if party.accommodation not in amounts:
        if party.accommodation != Accommodation.DECK:
            raise NotPriced(_("This accommodation is not sold on this route."))
        return PriceLine(f"accommodation:{Accommodation.DECK}", 0, 0)
    quantity = party.cabins if party.accommodation in CABIN_BERTHS else party.occupants
    return PriceLine(f"accommodation:{party.accommodation}", quantity, amounts[party.accommodation])


def _vehicle_line(fare: Fare, party: Party) -> PriceLine:
    vehicle = party.vehicle
    bands = sorted(
        (row for row in fare.vehicle_fares.all() if row.category == vehicle.category), key=lambda r: r.max_length_cm
    )
    if not bands:
        raise NotPriced(_("Vehicles of this kind are not carried on this route."))
    for band in bands:
        if vehicle.length_cm <= band.max_length_cm:
            return PriceLine(f"vehicle:{vehicle.category}", 1, band.amount_minor)
    raise NotPriced(_("No fare for a vehicle this long on this route."))
