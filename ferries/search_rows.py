"""A sailing as the search answers it, on the website and in the API: one row, with its price in every fare family
and the extras it sells. Rows are cached and answered as they are, so everything in them is plain data."""

import datetime as dt

from ferries.choices import Accommodation
from ferries.models import Operator, Port
from ferries.operators.base import Offer
from kernel.money import money


def sailing_row(sailing_id: int, operator: Operator, offer: Offer, origin: Port, destination: Port) -> dict:
    departs, arrives = offer.departs_at.astimezone(dt.UTC), offer.arrives_at.astimezone(dt.UTC)
    wires = {id(quote): quote.as_dict() for quote in offer.fares}  # the price shown first is one of them: made once
    return {
        "sailing_id": sailing_id,
        "sailing_ref": offer.sailing_ref,
        "operator": {"code": operator.code, "name": operator.name, "logo_url": operator.logo_url},
        "vessel": offer.vessel,
        "from": {"code": origin.code, "name": origin.name, "time_zone": origin.time_zone},
        "to": {"code": destination.code, "name": destination.name, "time_zone": destination.time_zone},
        "departs_at": departs.isoformat(),
        "arrives_at": arrives.isoformat(),
        "departs_local": departs.astimezone(origin.tz).isoformat(),
        "arrives_local": arrives.astimezone(destination.tz).isoformat(),
        "duration_minutes": int((arrives - departs).total_seconds() // 60),
        "max_vehicle_height_cm": offer.max_vehicle_height_cm,
        **_price(wires.get(id(offer.price)) or offer.price.as_dict()),
        "fares": [_fare(wires[id(quote)]) for quote in offer.fares],
        "extras": [{"code": code, "unit": money(unit, offer.price.currency)} for code, unit in offer.extras.items()],
        "amenities": list(offer.amenities),
        # Deck, seats and cabins side by side; whether each has room for the party is laid over at each read.
        "accommodations": [
            {"kind": kind, "price": money(offer.accommodations[kind], offer.price.currency)}
            for kind in Accommodation.values
            if kind in offer.accommodations
        ],
    }


def _price(wire: dict) -> dict:
    """A search row's price and its lines, from a quote's wire form (the row is cached and answered as it is)."""
    return {"price": wire["total"], "price_lines": wire["lines"]}


def _fare(wire: dict) -> dict:
    """The sailing's price in one fare family (its quote's wire form), with the family's rules."""
    rules = {key: wire[key] for key in ("fare_family", "cancellation_policy", "change_policy")}
    return rules | _price(wire)
