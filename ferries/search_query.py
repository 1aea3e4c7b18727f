"""A search query, read and checked once for the website, the API and the operator simulator.

`parse_search_query` takes the raw strings (a form's data or query parameters) and returns a
normalised `SearchQuery`, or raises a `ValidationError` whose keys are the public field names.
Equal queries produce equal objects, whatever the order, case or spelling of defaults.
"""

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from ferries.choices import GROWN_UPS, MAX_PASSENGERS, VEHICLE_LIMITS, Accommodation, VehicleCategory
from ferries.party import Party, Vehicle

COUNT_FIELDS = ("adults", "children", "infants", "seniors")
PORT_CODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class LegQuery:
    """One direction of a journey: the unit that operators answer and the cache keeps."""

    origin: str
    destination: str
    day: dt.date
    party: Party

    def as_dict(self) -> dict:
        return {
            "from": self.origin,
            "to": self.destination,
            "date": self.day.isoformat(),
            "party": self.party.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LegQuery":
        return cls(data["from"], data["to"], dt.date.fromisoformat(data["date"]), Party.from_dict(data["party"]))


@dataclass(frozen=True)
class SearchQuery:
    outbound: LegQuery
    inbound: LegQuery | None = None


class _Errors:
    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def parse_search_query(data: Mapping[str, str]) -> SearchQuery:
    errors = _Errors()
    origin = _port(data, "from", errors)
    destination = _port(data, "to", errors)
    if origin and origin == destination:
        errors.add("to", _("Choose a destination different from the departure port."))
    day = _date(data, "date", errors, required=True)
    return_day = _date(data, "return_date", errors, required=False)
    if day and return_day and return_day < day:
        errors.add("return_date", _("The return must not be before the outbound date."))
    counts = {name: _count(data, name, errors) for name in COUNT_FIELDS}
    _check_party(counts, errors)
    vehicle = _vehicle(data, errors)
    accommodation = _choice(data, "accommodation", Accommodation, Accommodation.DECK, errors)
    errors.raise_if_any()

    party = Party(**counts, vehicle=vehicle, accommodation=accommodation)
    outbound = LegQuery(origin, destination, day, party)
    inbound = LegQuery(destination, origin, return_day, party) if return_day else None
    return SearchQuery(outbound=outbound, inbound=inbound)


def searchable_days() -> tuple[dt.date, dt.date]:
    """The first and last days a search may ask for: today, and the last day sailings are published for."""
    today = timezone.now().date()
    return today, today + dt.timedelta(days=settings.SEARCH_HORIZON_DAYS)


def _raw(data: Mapping[str, str], name: str) -> str:
    return (data.get(name) or "").strip()


def _port(data, name, errors) -> str:
    code = _raw(data, name).upper()
    if not code:
        errors.add(name, _("Choose a port."))
    elif not PORT_CODE.fullmatch(code):
        errors.add(name, _("Unknown port %(code)s.") % {"code": code})
    return code


def _date(data, name, errors, *, required: bool) -> dt.date | None:
    raw = _raw(data, name)
    if not raw:
        if required:
            errors.add(name, _("Choose a date."))
        return None
    try:
        if not ISO_DATE.fullmatch(raw):  # fromisoformat alone would also take week dates and 20261208
            raise ValueError(raw)
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors.add(name, _("Enter a date as YYYY-MM-DD."))
        return None
    today, horizon = searchable_days()
    if day < today:
        errors.add(name, _("This date is in the past."))
    elif day > horizon:
        errors.add(name, _("Sailings are published up to %(date)s.") % {"date": horizon.isoformat()})
    return day


def _count(data, name, errors) -> int:
    raw = _raw(data, name)
    default = 1 if name == "adults" and not any(_raw(data, other) for other in COUNT_FIELDS) else 0
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, _("Enter a whole number."))
        return 0
    if value < 0:
        errors.add(name, _("Must be 0 or more."))
        return 0
    return value


def _check_party(counts: dict[str, int], errors) -> None:
    grown_ups = sum(counts[f"{kind}s"] for kind in GROWN_UPS)
    if sum(counts.values()) > MAX_PASSENGERS:
        errors.add("passengers", _("At most %(max)d passengers per booking.") % {"max": MAX_PASSENGERS})
    if grown_ups == 0:
        if counts["children"] or counts["infants"]:
            errors.add("adults", _("Children and infants must travel with an adult or a senior."))
        else:
            errors.add("adults", _("At least one adult or senior must travel."))
    elif counts["infants"] > grown_ups:
        errors.add("infants", _("Each infant travels on the lap of an adult or a senior."))


def _choice(data, name, choices, default, errors) -> str:
    raw = _raw(data, name).lower() or default
    if raw not in choices.values:
        errors.add(name, _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)})
        return default
    return raw


def _vehicle(data, errors) -> Vehicle | None:
    category = _raw(data, "vehicle").lower()
    if not category or category == "none":
        for name in ("vehicle_length_cm", "vehicle_height_cm"):
            if _raw(data, name):
                errors.add(name, _("Choose a vehicle type first."))
        return None
    if category not in VehicleCategory.values:
        errors.add("vehicle", _("Choose one of: %(choices)s.") % {"choices": ", ".join(VehicleCategory.values)})
        return None
    limits = VEHICLE_LIMITS[category]
    length = _dimension(data, "vehicle_length_cm", limits.default_length_cm, limits.min_length_cm,
                        limits.max_length_cm, errors)  # fmt: skip
    height = _dimension(data, "vehicle_height_cm", limits.default_height_cm, 50, limits.max_height_cm, errors)
    return Vehicle(category=category, length_cm=length, height_cm=height)


def _dimension(data, name, default, minimum, maximum, errors) -> int:
    raw = _raw(data, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, _("Enter a whole number of centimetres."))
        return default
    if not minimum <= value <= maximum:
        errors.add(
            name, _("Must be between %(min)d and %(max)d cm for this vehicle.") % {"min": minimum, "max": maximum}
        )
    return value
