"""Prices computed on the server from a route's fares; a client never supplies a price."""

import datetime as dt
import functools
from dataclasses import dataclass, field, replace

from django.db import router
from django.utils.translation import gettext as _

from ferries.choices import CABIN_BERTHS, Accommodation, Extra, PassengerType
from ferries.models import Fare, FareFamily, Route
from ferries.party import NO_EXTRAS, Extras, Party, Vehicle
from kernel.compiled import Compiled, compile_read, id_marks, id_values, keep_rows_of, rows_of
from kernel.money import money

# The family a price is quoted in when none is named: the one policy of earlier fares became the Standard family.
DEFAULT_FAMILY = "standard"
# Changes, when an operator's answer says nothing of them: none.
NO_CHANGES = {"allowed": False, "until_hours": 0, "fee_fixed_minor": 0, "fee_percent": 0, "fee_min_minor": 0,
              "max_changes": 0}  # fmt: skip


class NotPriced(Exception):
    """The route has no price for this party on this date (no fare, unknown band, accommodation not sold)."""


class UnknownFareFamily(NotPriced):
    """The fare is not sold in the family asked for."""


class ExtraNotSold(NotPriced):
    """An extra asked for is not sold with this fare."""


@dataclass(frozen=True)
class PriceLine:
    code: str  # a passenger type, "vehicle:<category>" (one line per vehicle), "accommodation:<kind>" or "pet:<kind>"
    quantity: int
    unit_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_minor


@dataclass(frozen=True)
class Quote:
    """A price as it travels inside Maritime: from the fares or an operator's API to the search and the booking.
    `as_dict` is its wire form (the operators' APIs, the search answer, a leg's stored lines), `from_dict` reads it.

    It is the price in one fare family (`family`: code and name), with the family's rules sold with it: `policy`
    for cancelling (refund bands), `changes` for changing (whether, until when, the fee, how many times)."""

    lines: tuple[PriceLine, ...]
    currency: str
    policy: dict  # {"refund_full_days": days or None, "refund_partial_hours", "refund_partial_percent"}
    fare_id: int | None = None  # ours, when priced from our own fares
    family: dict = field(default_factory=lambda: {"code": DEFAULT_FAMILY, "name": "Standard"})
    changes: dict = field(default_factory=lambda: dict(NO_CHANGES))  # NO_CHANGES's keys, amounts in minor units

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    def as_dict(self) -> dict:
        return {
            "total": money(self.total_minor, self.currency),
            "fare_family": dict(self.family),
            "cancellation_policy": self.policy,
            "change_policy": change_policy_wire(self.changes, self.currency),
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
        policy = data["cancellation_policy"]
        policy = {
            "refund_full_days": None if policy["refund_full_days"] is None else _count(policy, "refund_full_days"),
            "refund_partial_hours": _count(policy, "refund_partial_hours"),
            "refund_partial_percent": _count(policy, "refund_partial_percent", most=100),
        }
        quote = cls(lines=lines, currency=str(data["total"]["currency"]), policy=policy)
        if family := data.get("fare_family"):
            quote = replace(quote, family={"code": str(family["code"]), "name": str(family["name"])})
        if changes := data.get("change_policy"):
            if not isinstance(changes["allowed"], bool):
                raise ValueError(f"change_policy.allowed: {changes['allowed']!r} is not true or false")
            rules = {
                "allowed": changes["allowed"],
                "until_hours": _count(changes, "until_hours"),
                "fee_percent": _count(changes, "fee_percent", most=100),
                "max_changes": _count(changes, "max_changes"),
                "fee_fixed_minor": int(changes["fee_fixed"]["amount_minor"]),
                "fee_min_minor": int(changes["fee_minimum"]["amount_minor"]),
            }
            quote = replace(quote, changes=rules)
        return quote


def _count(rules: dict, name: str, *, most: int | None = None) -> int:
    """A rule's whole number (days, hours, a percent, changes) as an operator sent it: refunds and fees are computed
    from these in whole minor units, so a fraction, a string or a number out of range is a malformed reply
    (ValueError naming the rule), never rounded into a refund."""
    value = rules[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (most is not None and value > most):
        raise ValueError(f"{name}: {value!r} is not a whole number" + (f" from 0 to {most}" if most else " from 0"))
    return value


def change_policy_wire(changes: dict, currency: str) -> dict:
    """Rules for changes (NO_CHANGES's keys, amounts in minor units) in their wire form, amounts as money."""
    wire = {key: value for key, value in changes.items() if not key.endswith("_minor")}
    return wire | {
        "fee_fixed": money(changes["fee_fixed_minor"], currency),
        "fee_minimum": money(changes["fee_min_minor"], currency),
    }


def change_fee(rules: dict, price_minor: int) -> int:
    """The fee for changing a leg sold at `price_minor` under `rules` (a change policy in its wire form): the fixed
    part plus the percentage of the leg's price, at least the minimum."""
    fee = rules["fee_fixed"]["amount_minor"] + price_minor * rules["fee_percent"] // 100
    return max(fee, rules["fee_minimum"]["amount_minor"])


def fares_for_routes(*, route_ids: list[int], dates: list[dt.date]) -> dict[int, list[Fare]]:
    """The fares of these routes valid on any of these dates, with their price rows and families, in one query."""
    read = _fares_read(router.db_for_read(Fare), len(route_ids))
    values = id_values("route", route_ids) | {"first": min(dates), "last": max(dates)}
    by_route: dict[int, list[Fare]] = {}
    for fare in Fare.objects.using(read.alias).raw(read.sql, read.params(values)):
        _keep_price_rows(fare)
        by_route.setdefault(fare.route_id, []).append(fare)
    return by_route


@functools.lru_cache(maxsize=32)
def _fares_read(alias: str, route_count: int) -> Compiled:
    """The read of `fares_for_routes` for this many routes, compiled once per process: the ORM takes about 8 ms of
    CPU to resolve and compile its four JSON subqueries — a third of a hold's — and they are the same at every
    call."""
    marks = id_marks("route", route_count) | {"first": dt.date(1, 1, 1), "last": dt.date(1, 1, 2)}
    routes = list(id_marks("route", route_count).values())
    fares = Fare.objects.using(alias).filter(route_id__in=routes, valid_from__lte=marks["last"],
                                             valid_to__gte=marks["first"])  # fmt: skip
    rows = {f"{relation}_rows": rows_of(Fare, relation) for relation in PRICE_RELATIONS}
    return compile_read(fares.annotate(**rows).order_by("-valid_from"), marks)


# Read with the fare rather than prefetched: one query for a price instead of five.
PRICE_RELATIONS = ("passenger_fares", "vehicle_fares", "accommodation_fares", "families")


def _keep_price_rows(fare: Fare) -> None:
    """The fare's JSON rows made its prefetched relations, as a prefetch would leave them."""
    for relation in PRICE_RELATIONS:
        keep_rows_of(fare, relation, getattr(fare, f"{relation}_rows"))
        delattr(fare, f"{relation}_rows")


def fare_on(fares: list[Fare], day: dt.date) -> Fare:
    """The fare valid on `day`; the most recently started one if seasons overlap."""
    for fare in fares:
        if fare.valid_from <= day <= fare.valid_to:
            return fare
    raise NotPriced(_("No fare for this date."))


def quotes(*, fare: Fare, party: Party, extras: Extras = NO_EXTRAS) -> tuple[Quote, ...]:
    """The price of the party's journey on one leg under `fare`, in each of its families, in their order; the
    extras at the fare's prices, whatever the family."""
    families = list(fare.families.all())
    if not families:
        raise NotPriced(_("This fare is not on sale in any fare family."))
    base, added = _base_lines(fare, party), _extra_lines(fare, party, extras)
    return tuple(_in_family(fare, family, base, added) for family in families)


def extra_prices(fare: Fare) -> dict[str, int]:
    """The extras sold with the fare, by their price line's code: the unit price in minor units (per person for
    meals and protection, per party for priority boarding)."""
    prices = {
        Extra.DINNER: fare.dinner_amount_minor,
        Extra.BREAKFAST: fare.breakfast_amount_minor,
        Extra.PRIORITY_BOARDING: fare.priority_amount_minor,
        Extra.PROTECTION: fare.protection_amount_minor,
    }
    return {str(code): amount for code, amount in prices.items() if amount is not None}


def quote(*, fare: Fare, party: Party, family: str = DEFAULT_FAMILY, extras: Extras = NO_EXTRAS) -> Quote:
    """The price of the party's journey on one leg under `fare`, in the family coded `family`, with `extras`."""
    for priced in quotes(fare=fare, party=party, extras=extras):
        if priced.family["code"] == family:
            return priced
    raise UnknownFareFamily(_("This sailing is not sold in the fare family “%(family)s”.") % {"family": family})


def accommodation_prices(*, fare: Fare, party: Party) -> dict[str, int]:
    """What the party's journey costs under `fare` in each accommodation it sells (the default family's price), by
    kind, in minor units: deck, seats and cabins side by side."""
    families = list(fare.families.all())
    if not families:
        return {}
    family = next((f for f in families if f.code == DEFAULT_FAMILY), families[0])  # as default_quote chooses
    prices = {}
    for row in fare.accommodation_fares.all():
        staying = replace(party, accommodation=row.accommodation)
        try:
            base = _base_lines(fare, staying)
        except NotPriced:
            continue
        prices[row.accommodation] = _in_family(fare, family, base, ()).total_minor  # no extras asked
    return prices


def default_quote(priced: tuple[Quote, ...]) -> Quote:
    """The price shown first and booked when no family is named: the Standard family's, else the first."""
    return next((q for q in priced if q.family["code"] == DEFAULT_FAMILY), priced[0])


def route_quote(
    *, route: Route, day: dt.date, party: Party, family: str = DEFAULT_FAMILY, extras: Extras = NO_EXTRAS
) -> Quote:
    fare = fare_on(fares_for_routes(route_ids=[route.pk], dates=[day]).get(route.pk, []), day)
    return quote(fare=fare, party=party, family=family, extras=extras)


def _base_lines(fare: Fare, party: Party) -> tuple[PriceLine, ...]:
    lines = [_passenger_line(fare, kind, n) for kind, n in party.counts.items()]
    lines.append(_accommodation_line(fare, party))
    lines.extend(_vehicle_line(fare, vehicle) for vehicle in party.vehicles)
    lines.extend(PriceLine(f"pet:{kind}", n, fare.pet_price(kind)) for kind, n in party.pet_counts.items())
    return tuple(line for line in lines if line.quantity)


def _extra_lines(fare: Fare, party: Party, extras: Extras) -> tuple[PriceLine, ...]:
    return extra_lines(extra_prices(fare), party, extras)


def extra_lines(prices: dict[str, int], party: Party, extras: Extras) -> tuple[PriceLine, ...]:
    """The extras' lines at these unit prices (by line code); ExtraNotSold naming the first one asked for that is not
    sold."""
    wanted = {
        Extra.DINNER: extras.dinners,
        Extra.BREAKFAST: extras.breakfasts,
        Extra.PRIORITY_BOARDING: int(extras.priority_boarding),
        Extra.PROTECTION: party.persons if extras.protection else 0,
    }
    lines = []
    for code, quantity in wanted.items():
        if not quantity:
            continue
        if code not in prices:
            raise ExtraNotSold(_("%(extra)s is not sold on this sailing.") % {"extra": Extra(code).label})
        lines.append(PriceLine(str(code), quantity, prices[code]))
    return tuple(lines)


def _in_family(fare: Fare, family: FareFamily, base: tuple[PriceLine, ...], added: tuple[PriceLine, ...]) -> Quote:
    """The fare's lines at the family's percentage (each unit price rounded to the minor unit, halves up), then
    the extras' `added` lines as they are, with the family's rules."""
    scaled = tuple(replace(line, unit_minor=(line.unit_minor * family.price_percent + 50) // 100) for line in base)
    lines = scaled + added
    policy = {
        "refund_full_days": family.refund_full_days,
        "refund_partial_hours": family.refund_partial_hours,
        "refund_partial_percent": family.refund_partial_percent,
    }
    changes = {
        "allowed": family.changes_allowed,
        "until_hours": family.change_until_hours,
        "fee_fixed_minor": family.change_fee_minor,
        "fee_percent": family.change_fee_percent,
        "fee_min_minor": family.change_fee_min_minor,
        "max_changes": family.max_changes,
    }
    return Quote(
        lines=lines,
        currency=fare.currency,
        policy=policy,
        fare_id=fare.pk,
        family={"code": family.code, "name": family.name},
        changes=changes,
    )


def _passenger_line(fare: Fare, kind: str, count: int) -> PriceLine:
    amounts = {row.passenger_type: row.amount_minor for row in fare.passenger_fares.all()}
    if kind not in amounts:
        if kind != PassengerType.INFANT:
            raise NotPriced(_("No fare for this type of passenger: %(kind)s.") % {"kind": PassengerType(kind).label})
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


def _vehicle_line(fare: Fare, vehicle: Vehicle) -> PriceLine:
    """One vehicle's line, in the shortest band of its category that its overall length (a rear rack included)
    fits."""
    bands = sorted(
        (row for row in fare.vehicle_fares.all() if row.category == vehicle.category), key=lambda r: r.max_length_cm
    )
    if not bands:
        raise NotPriced(_("Vehicles of this kind are not carried on this route."))
    for band in bands:
        if vehicle.overall_length_cm <= band.max_length_cm:
            return PriceLine(f"vehicle:{vehicle.category}", 1, band.amount_minor)
    raise NotPriced(_("No fare for a vehicle this long on this route."))
