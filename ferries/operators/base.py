"""What Maritime asks of a ferry operator, whoever answers: our own inventory or the operator's API."""

import abc
import datetime as dt
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _

from ferries.choices import Assistance, VehicleLoad
from ferries.errors import OperatorError, OperatorRefused, OperatorTimeout
from ferries.party import NO_EXTRAS, Extras, Party
from ferries.pricing import DEFAULT_FAMILY, ExtraNotSold, Quote, default_quote, extra_lines
from ferries.queries import CalendarQuery, LegQuery
from kernel.money import money

__all__ = ["Hold", "LegOrder", "Offer", "OperatorAdapter", "OperatorError", "OperatorRefused", "OperatorTimeout"]


@dataclass(frozen=True)
class Offer:
    """One sailing as an operator offers it to a party."""

    sailing_ref: str
    departs_at: dt.datetime
    arrives_at: dt.datetime
    vessel: str
    max_vehicle_height_cm: int
    fares: tuple[Quote, ...]  # the price in each fare family it is sold in, in the operator's order
    availability: dict  # {"status": sailing status, "remaining": {resource: amount}}
    sailing_id: int | None = None  # ours, when the operator is our own inventory
    extras: dict[str, int] = field(default_factory=dict)  # extras sold, by line code: unit price (minor units)
    amenities: tuple[str, ...] = ()  # on board, as our vessel records say (ferries.search fills them for remote ones)
    # What the party's journey costs in each accommodation the sailing sells (its default family): kind → minor units.
    accommodations: dict[str, int] = field(default_factory=dict)

    @property
    def price(self) -> Quote:
        """The price shown first, and booked when no family is named."""
        return default_quote(self.fares)


@dataclass(frozen=True)
class LegOrder:
    """What a booking asks of an operator for one leg: who travels, in which fare family, with which extras."""

    party: Party
    fare_family: str = DEFAULT_FAMILY
    extras: Extras = NO_EXTRAS

    def as_dict(self) -> dict:
        return {"party": self.party.as_dict(), "fare_family": self.fare_family, "extras": self.extras.as_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "LegOrder":
        return cls(
            party=Party.from_dict(data["party"]),
            fare_family=str(data.get("fare_family", DEFAULT_FAMILY)),
            extras=Extras.from_dict(data.get("extras")),
        )


MANIFEST_REQUIRED = ("type", "first_name", "last_name", "date_of_birth", "nationality", "document_number")
# With the help a passenger asks for (wheelchair, reduced_mobility, visual, hearing), empty for none.
MANIFEST_PASSENGER = (*MANIFEST_REQUIRED, "assistance")
MANIFEST_VEHICLE = ("category", "registration", "length_cm", "height_cm")
# With what it carries on the roof or at the back (roof_box, roof_bikes, rear_rack), empty for nothing.
MANIFEST_VEHICLE_FIELDS = (*MANIFEST_VEHICLE, "load")


@dataclass(frozen=True)
class PartyManifest:
    """Who and what boards, as operators' APIs carry it with a confirmation (their passenger list): each passenger's
    type, names, date of birth (ISO), nationality, document and the assistance they need; each vehicle's category,
    registration, own size and load."""

    passengers: tuple[dict, ...]
    vehicles: tuple[dict, ...] = ()

    def as_dict(self) -> dict:
        return {"passengers": [dict(p) for p in self.passengers], "vehicles": [dict(v) for v in self.vehicles]}

    @classmethod
    def from_dict(cls, data) -> "PartyManifest":
        """The manifest a client sent; ValueError naming what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("passengers"), list) or not data["passengers"]:
            raise ValueError("manifest.passengers: a list of at least one passenger")
        passengers = []
        for index, passenger in enumerate(data["passengers"]):
            if not isinstance(passenger, dict) or any(not isinstance(passenger.get(f), str) or not passenger.get(f)
                                                      for f in MANIFEST_REQUIRED):  # fmt: skip
                raise ValueError(f"manifest.passengers.{index}: {', '.join(MANIFEST_REQUIRED)}, as text")
            assistance = passenger.get("assistance", "")
            if assistance not in Assistance.values:
                raise ValueError(f"manifest.passengers.{index}.assistance: one of {', '.join(Assistance.values[1:])}")
            passengers.append({f: passenger[f] for f in MANIFEST_REQUIRED} | {"assistance": assistance})
        return cls(tuple(passengers), _manifest_vehicles(data))


def _manifest_vehicles(data: dict) -> tuple[dict, ...]:
    """The manifest's vehicles: a list, or (as manifests were before parties had several) one `vehicle` or null."""
    vehicles = data.get("vehicles")
    if vehicles is None:
        vehicles = [data["vehicle"]] if data.get("vehicle") is not None else []
    if not isinstance(vehicles, list):
        raise ValueError("manifest.vehicles: a list")
    for index, vehicle in enumerate(vehicles):
        if not isinstance(vehicle, dict) or set(MANIFEST_VEHICLE) - vehicle.keys():
            raise ValueError(f"manifest.vehicles.{index}: {', '.join(MANIFEST_VEHICLE)}")
        if vehicle.get("load", "") not in VehicleLoad.values:
            raise ValueError(f"manifest.vehicles.{index}.load: one of {', '.join(VehicleLoad.values[1:])}")
    return tuple({f: v[f] for f in MANIFEST_VEHICLE} | {"load": v.get("load", "")} for v in vehicles)


@dataclass(frozen=True)
class SailingTimes:
    """A sailing as its operator runs it now: its times, or cancelled."""

    departs_at: dt.datetime
    arrives_at: dt.datetime
    cancelled: bool = False


@dataclass(frozen=True)
class Hold:
    hold_ref: str
    expires_at: dt.datetime
    quote: Quote

    @property
    def price(self) -> dict:
        """The price in its wire form, as the operators' APIs carry it."""
        return self.quote.as_dict()


class OperatorAdapter(abc.ABC):
    # Remote operators are reached over the network: never call them inside a database transaction.
    is_remote = False

    def __init__(self, operator):
        self.operator = operator

    @abc.abstractmethod
    def search(self, query: LegQuery) -> list[Offer]:
        """Sailings from query.origin to query.destination leaving on query.day (port time), priced for the party."""

    def search_days(self, query: CalendarQuery, *, routes: list | None = None) -> dict[dt.date, list[Offer]]:
        """Each of the query's days searched: {day: offers}. An operator that can answer them at once says so;
        `routes`, when given, are the operator's routes between the query's ports, read already."""
        return {day: self.search(query.leg(day)) for day in query.days}

    @abc.abstractmethod
    def availability(self, sailing_refs: list[str]) -> dict[str, dict]:
        """{ref: {"status": ..., "remaining": {resource: amount}}} for the refs the operator knows."""

    @abc.abstractmethod
    def hold(self, *, sailing_ref: str, order: LegOrder, minutes: int) -> Hold:
        """Take capacity for the order's party and extras until confirmed, cancelled or expired, priced in its
        fare family. Raises OperatorRefused ("unknown_fare_family" when the sailing is not sold in that family,
        "extra_not_offered", "priority_boarding_sold_out", "sold_out", …)."""

    def price(self, *, query: LegQuery, sailing_ref: str, order: LegOrder) -> Quote:
        """What the order would cost on the sailing now, without holding anything: the sailing's price for the
        query's party in the order's family (as the operator's search answers it), with its extras. OperatorRefused
        when the sailing, the family or an extra is not sold."""
        offer = next((o for o in self.search(query) if o.sailing_ref == sailing_ref), None)
        if offer is None:
            raise OperatorRefused("not_offered", _("This sailing is not sold for this party."))
        priced = next((q for q in offer.fares if q.family["code"] == order.fare_family), None)
        if priced is None:
            raise OperatorRefused("unknown_fare_family", _("This sailing is not sold in this fare family."))
        try:
            return replace(priced, lines=priced.lines + extra_lines(offer.extras, order.party, order.extras))
        except ExtraNotSold as exc:
            raise OperatorRefused("extra_not_offered", str(exc)) from None

    @abc.abstractmethod
    def confirm(self, hold_ref: str, manifest: PartyManifest | None = None) -> str:
        """Turn a hold into a sale, with the party's manifest (operators need their passenger list); answers the
        operator's booking reference."""

    @abc.abstractmethod
    def sailing_times(self, sailing_refs: list[str]) -> dict[str, SailingTimes]:
        """The operator's times (and cancellations) of these sailings, by reference; those it does not know are left
        out."""

    @abc.abstractmethod
    def send_manifest(self, hold_ref: str, manifest: PartyManifest) -> None:
        """The party's manifest again, after a change touched it (names corrected, a passenger cancelled, a vehicle
        measured). Sending the same manifest twice is harmless."""

    @abc.abstractmethod
    def cancel(self, hold_ref: str) -> None:
        """Give the capacity back. Cancelling twice is harmless."""


def offer_to_wire(offer: Offer) -> dict:
    """An offer as operators' JSON APIs carry it (no id of ours)."""
    return {
        "sailing_ref": offer.sailing_ref,
        "departs_at": offer.departs_at.isoformat(),
        "arrives_at": offer.arrives_at.isoformat(),
        "vessel": offer.vessel,
        "max_vehicle_height_cm": offer.max_vehicle_height_cm,
        "price": offer.price.as_dict(),
        "fares": [fare.as_dict() for fare in offer.fares],
        "extras": {code: money(unit, offer.price.currency) for code, unit in offer.extras.items()},
        "accommodations": {kind: money(total, offer.price.currency) for kind, total in offer.accommodations.items()},
        "availability": offer.availability,
    }


def offer_from_wire(data: dict) -> Offer:
    return Offer(
        sailing_ref=str(data["sailing_ref"]),
        departs_at=dt.datetime.fromisoformat(data["departs_at"]),
        arrives_at=dt.datetime.fromisoformat(data["arrives_at"]),
        vessel=str(data["vessel"]),
        max_vehicle_height_cm=int(data["max_vehicle_height_cm"]),
        # An operator that sells one way only sends its price; several families come as "fares".
        fares=tuple(Quote.from_dict(fare) for fare in data.get("fares") or [data["price"]]),
        availability=dict(data["availability"]),
        extras={str(code): int(unit["amount_minor"]) for code, unit in (data.get("extras") or {}).items()},
        # An operator that prices one accommodation only (the party's) sends none.
        accommodations={
            str(kind): int(total["amount_minor"]) for kind, total in (data.get("accommodations") or {}).items()
        },
    )
