"""A search query, declared once for the website, the API, its OpenAPI schema and the operator simulator.

`SearchQuerySerializer` reads query parameters (a form's data or an API request's) into a normalised
`SearchQuery`; `parse_search_query` is it, raising a `ValidationError` whose keys are the public field names.
Equal queries produce equal objects, whatever the order, case or spelling of defaults. Search is the busiest
endpoint: its fields are plain text read by hand-sized code, and one serializer serves every request.
"""

import datetime as dt
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from ferries.choices import (
    GROWN_UPS,
    MAX_PASSENGERS,
    MAX_PETS,
    MAX_VEHICLES,
    MIN_HEIGHT_CM,
    VEHICLE_LIMITS,
    Accommodation,
    VehicleCategory,
    VehicleLoad,
)
from ferries.party import Party, Vehicle, party_problem, pet_problem
from kernel.api import InputSerializer, add_error, validation_error

COUNT_FIELDS = ("adults", "children", "infants", "seniors")
# Each vehicle's parameters: `vehicle` (its type) and `vehicle_length_cm`, `vehicle_height_cm`, `vehicle_load` for
# the first; the same with a number for the others (`vehicle2`, `vehicle2_height_cm`…).
VEHICLE_PREFIXES = ("vehicle", *(f"vehicle{n}" for n in range(2, MAX_VEHICLES + 1)))
VEHICLE_SIZES = ("length_cm", "height_cm")
DIMENSIONS = tuple(f"vehicle_{size}" for size in VEHICLE_SIZES)
PORT_CODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The "no vehicle" spelling, besides leaving the parameter out.
NO_VEHICLE = "none"


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

    def search_params(self) -> dict:
        """The search page's parameters that ask this question (one way)."""
        return {"from": self.origin, "to": self.destination, "date": self.day.isoformat(), "trip": "one_way"} | (
            party_params(self.party)
        )

    def days_of(self) -> "CalendarQuery":
        """The same question as a run of one day."""
        return CalendarQuery(self.origin, self.destination, self.day, self.day, self.party)


def party_params(party: Party) -> dict:
    """The party as the search's parameters, as the results page passes it on."""
    params = {"adults": party.adults, "children": party.children, "infants": party.infants, "seniors": party.seniors}
    for prefix, vehicle in zip(VEHICLE_PREFIXES, party.vehicles, strict=False):
        params |= {
            prefix: vehicle.category,
            f"{prefix}_length_cm": vehicle.length_cm,
            f"{prefix}_height_cm": vehicle.height_cm,
        } | ({f"{prefix}_load": vehicle.load} if vehicle.load else {})
    params["accommodation"] = party.accommodation
    pets = {"pets": party.pets, "dogs": party.dogs, "cats": party.cats}
    return params | {name: n for name, n in pets.items() if n}


# How the sailings found can be ordered, and the parts of the day (port time, hours from–to) they can be kept to.
SORTS = ("departure", "price", "duration")
TIME_BANDS = {"night": (0, 6), "morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24)}
# The search's parameters that take a list: comma-separated, or the parameter repeated.
LIST_PARAMETERS = ("operator", "departs")


@dataclass(frozen=True)
class ResultsView:
    """How the sailings found are shown: in which order, and only those of some operators, leaving in some parts of
    the day, or with room for the party. Nothing of it changes what is searched (or cached per leg)."""

    sort: str = "departure"
    operators: tuple[str, ...] = ()  # codes; none: every operator
    departs: tuple[str, ...] = ()  # TIME_BANDS names; none: any time
    available_only: bool = False

    def as_dict(self) -> dict:
        return {
            "sort": self.sort,
            "operators": list(self.operators),
            "departs": list(self.departs),
            "available_only": self.available_only,
        }


@dataclass(frozen=True)
class SearchQuery:
    outbound: LegQuery
    inbound: LegQuery | None = None
    view: ResultsView = ResultsView()


@dataclass(frozen=True)
class CalendarQuery:
    """One direction over a run of days (a month, or the days around one): the lowest price for the party each day."""

    origin: str
    destination: str
    first: dt.date
    last: dt.date
    party: Party

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def leg(self, day: dt.date) -> LegQuery:
        """The search of one of its days."""
        return LegQuery(self.origin, self.destination, day, self.party)

    def as_dict(self) -> dict:
        return {
            "from": self.origin,
            "to": self.destination,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "party": self.party.as_dict(),
        }


# The days either side of a chosen day that a fare strip shows.
STRIP_DAYS = 3

# The days either side of a day with nothing to book on which the search looks for something to book instead (the
# cache drops an answer with the searches of those days too: ferries/cache/keys.py).
NEARBY_DAYS = (-2, -1, 1, 2)


def days_around(
    day: dt.date, *, not_before: dt.date | None = None, not_after: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The fare strip's days around `day`: STRIP_DAYS either side, within the searchable days (and between
    `not_before` and `not_after`: a return's strip does not go before its outbound, nor the outbound's past its
    return), shifted rather than cut where they can be, so the strip keeps its length near the ends."""
    first, last = searchable_days()
    first, last = max(first, not_before or first), min(last, not_after or last)
    width = dt.timedelta(days=2 * STRIP_DAYS)
    start = max(min(day - dt.timedelta(days=STRIP_DAYS), last - width), first)
    return start, min(start + width, last)


def searchable_days() -> tuple[dt.date, dt.date]:
    """The first and last days a search may ask for: today, and the last day sailings are published for."""
    today = timezone.now().date()
    return today, today + dt.timedelta(days=settings.SEARCH_HORIZON_DAYS)


# --- the parameters -------------------------------------------------------------------------------------------


class Parameter(serializers.Field):
    """A query parameter, read as text with spaces around it dropped; sent empty, it is read as left out."""

    def __init__(self, *, required_message=None, **kwargs):
        if required_message:
            kwargs |= {"required": True, "error_messages": {"required": required_message}}
        else:
            kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    # Lean on purpose, search being the busiest endpoint: a parameter is one value (the last one sent), and its
    # `read` is its only check.
    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)

    def run_validation(self, data=empty):
        is_empty, value = self.validate_empty_values(data)
        return value if is_empty else self.to_internal_value(value)

    def validate_empty_values(self, data):
        if data is empty or data is None or not str(data).strip():
            if self.required:
                self.fail("required")
            return True, self.get_default()
        return False, data

    def to_internal_value(self, data):
        return self.read(str(data).strip())

    def read(self, text: str):
        return text


def documented(schema):
    """A parameter class's OpenAPI schema: given to drf-spectacular, and kept on the class (`openapi`) for the
    parameters the schema lists with examples (ferries/api/schema.py)."""

    def decorate(cls):
        cls.openapi = schema
        return extend_schema_field(schema)(cls)

    return decorate


# A UN/LOCODE as the search reads it: either case (PORT_CODE is the upper-case form).
PORT_SCHEMA = {"type": "string", "pattern": "^" + PORT_CODE.pattern.replace("A-Z", "A-Za-z") + "$"}


@documented(PORT_SCHEMA)
class PortField(Parameter):
    def read(self, text: str) -> str:
        code = text.upper()
        if not PORT_CODE.fullmatch(code):
            raise serializers.ValidationError(_("Unknown port %(code)s.") % {"code": code})
        return code


@documented(OpenApiTypes.DATE)
class DayField(Parameter):
    """A day from today up to the search horizon."""

    def read(self, text: str) -> dt.date:
        try:
            if not ISO_DATE.fullmatch(text):  # fromisoformat alone would also take week dates and 20261208
                raise ValueError(text)
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise serializers.ValidationError(_("Enter a date as YYYY-MM-DD.")) from None
        today, horizon = searchable_days()
        if day < today:
            raise serializers.ValidationError(_("This date is in the past."))
        if day > horizon:
            raise serializers.ValidationError(
                _("Sailings are published up to %(date)s.") % {"date": horizon.isoformat()}
            )
        return day


ISO_MONTH = re.compile(r"\d{4}-\d{2}")


@documented({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2027-07"})
class MonthField(Parameter):
    """A month, YYYY-MM, with at least one day from today up to the search horizon: its days within them."""

    def read(self, text: str) -> tuple[dt.date, dt.date]:
        try:
            if not ISO_MONTH.fullmatch(text):
                raise ValueError(text)
            start = dt.date.fromisoformat(f"{text}-01")
        except ValueError:
            raise serializers.ValidationError(_("Enter a month as YYYY-MM.")) from None
        end = (start + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
        today, horizon = searchable_days()
        if end < today:
            raise serializers.ValidationError(_("This month is over."))
        if start > horizon:
            raise serializers.ValidationError(
                _("Sailings are published up to %(date)s.") % {"date": horizon.isoformat()}
            )
        return max(start, today), min(end, horizon)


class ListParameter(Parameter):
    """Several words, comma-separated or the parameter repeated (as a form's checkboxes send them), in either case;
    read as a sorted tuple without repeats."""

    pattern = re.compile(r".*")
    message = ""

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist") and len(values := dictionary.getlist(self.field_name)) > 1:
            return ",".join(values)
        return super().get_value(dictionary)

    def read(self, text: str) -> tuple[str, ...]:
        words = {word.strip() for word in text.split(",") if word.strip()}
        wrong = sorted(word for word in words if not self.pattern.fullmatch(self.normalise(word)))
        if wrong:
            raise serializers.ValidationError(self.message % {"words": ", ".join(wrong)})
        return tuple(sorted({self.normalise(word) for word in words}))

    def normalise(self, word: str) -> str:
        return word.lower()


@documented({"type": "string", "pattern": "^ *[A-Za-z0-9]{2,8}( *, *[A-Za-z0-9]{2,8})* *$", "example": "CTN,GNV"})
class OperatorsField(ListParameter):
    pattern = re.compile(r"[A-Z0-9]{2,8}")
    message = gettext_lazy("Not an operator code: %(words)s.")

    def normalise(self, word: str) -> str:
        return word.upper()


BANDS_PATTERN = "|".join(TIME_BANDS)


@documented({"type": "string", "pattern": f"^ *({BANDS_PATTERN})( *, *({BANDS_PATTERN}))* *$", "example": "morning"})
class TimeBandsField(ListParameter):
    pattern = re.compile(BANDS_PATTERN)
    message = gettext_lazy("Choose among night, morning, afternoon and evening, not: %(words)s.")


@documented({"type": "boolean"})
class YesNoField(Parameter):
    WORDS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}

    def read(self, text: str) -> bool:
        if text.lower() not in self.WORDS:
            raise serializers.ValidationError(_("Enter true or false."))
        return self.WORDS[text.lower()]


@documented({"type": "integer", "minimum": 0, "maximum": MAX_PASSENGERS})
class CountField(Parameter):
    def read(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise serializers.ValidationError(_("Enter a whole number.")) from None
        if value < 0:
            raise serializers.ValidationError(_("Must be 0 or more."))
        return value


@documented({"type": "integer", "minimum": 0, "maximum": MAX_PETS})
class PetsField(CountField):
    def read(self, text: str) -> int:
        value = super().read(text)
        if value > MAX_PETS:
            raise serializers.ValidationError(_("At most %(max)d pets.") % {"max": MAX_PETS})
        return value


class CentimetresField(Parameter):
    """Whole centimetres; the limits are the vehicle type's, checked with the type (`SearchQuerySerializer.check`)."""

    def read(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise serializers.ValidationError(_("Enter a whole number of centimetres.")) from None


class ChoiceParameter(Parameter):
    """One of a list of words, in either case."""

    choices: list[str] = []

    def read(self, text: str) -> str:
        word = text.lower()
        if word not in self.choices:
            raise serializers.ValidationError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(self.choices)})
        return word


# The widest limits of any vehicle type, for the schema (each type has narrower ones).
@documented(
    {
        "type": "integer",
        "minimum": min(limits.min_length_cm for limits in VEHICLE_LIMITS.values()),
        "maximum": max(limits.max_length_cm for limits in VEHICLE_LIMITS.values()),
    }
)
class LengthField(CentimetresField):
    pass


@documented(
    {
        "type": "integer",
        "minimum": MIN_HEIGHT_CM,
        "maximum": max(limits.max_height_cm for limits in VEHICLE_LIMITS.values()),
    }
)
class HeightField(CentimetresField):
    pass


VEHICLE_CHOICES = [NO_VEHICLE, *VehicleCategory.values]


@documented({"type": "string", "enum": sorted(VEHICLE_CHOICES)})
class VehicleField(ChoiceParameter):
    choices = VEHICLE_CHOICES


@documented({"type": "string", "enum": sorted(VehicleLoad.values[1:])})
class LoadField(ChoiceParameter):
    choices = VehicleLoad.values[1:]


@documented({"type": "string", "enum": sorted(Accommodation.values)})
class AccommodationField(ChoiceParameter):
    choices = Accommodation.values


@documented({"type": "string", "enum": list(SORTS)})
class SortField(ChoiceParameter):
    choices = list(SORTS)


def vehicle_parameters(prefix: str, position: int) -> dict[str, Parameter]:
    """The parameters of one of the party's vehicles (`position` from 1)."""
    which = "The vehicle" if position == 1 else f"Vehicle {position} (with `vehicle{position}_…` for its size)"
    return {
        prefix: VehicleField(
            default=NO_VEHICLE if position == 1 else None,
            help_text=f"{which} taken on board, if any; up to {MAX_VEHICLES} vehicles: `vehicle`, `vehicle2`… "
            "(a car and its trailer, motorbikes, bicycles), each taking its length and a gap in the lanes.",
        ),
        f"{prefix}_length_cm": LengthField(
            help_text=f"Only with `{prefix}`. Defaults to a typical length for its type; each type has its limits.",
        ),
        f"{prefix}_height_cm": HeightField(
            help_text=f"Only with `{prefix}`. Defaults to a typical height for its type; a sailing whose vessel "
            "cannot take it (with its roof load) shows as unavailable.",
        ),
        f"{prefix}_load": LoadField(
            help_text=f"Only with `{prefix}`: roof_box (+50 cm high), roof_bikes (+100 cm high), rear_rack (+80 cm "
            "long, in the lanes and the price band).",
        ),
    }


VEHICLE_FIELDS = tuple(
    name for position, prefix in enumerate(VEHICLE_PREFIXES, 1) for name in vehicle_parameters(prefix, position)
)
PARTY_FIELDS = (*COUNT_FIELDS, *VEHICLE_FIELDS, "accommodation", "pets", "dogs", "cats")


class PartyQuerySerializer(InputSerializer):
    """The parameters every question about sailings between two ports shares: the ports and the party."""

    adults = CountField(help_text="Adults (12–64); 1 when no passenger count is given at all.")
    children = CountField(help_text="Children (4–11); they travel with an adult or a senior.")
    infants = CountField(help_text="Infants (0–3); each on the lap of an adult or a senior.")
    seniors = CountField(help_text=f"Seniors (65+). At most {MAX_PASSENGERS} passengers in all.")
    accommodation = AccommodationField(
        default=Accommodation.DECK,
        help_text="Deck passage, a reserved seat or a cabin for the whole party (accessible_2: an accessible cabin; "
        "pet_4: a pet-friendly cabin, where the party's pets travel with it).",
    )
    pets = PetsField(
        help_text=f"Pets taken along in all, at most {MAX_PETS}: each in a kennel on deck (a sailing has a few), or "
        "all in the party's pet-friendly cabin (accommodation pet_4). Each is priced by its kind: `dogs` and `cats` "
        "say how many of them are dogs and cats, the others are of another kind. Left out: the dogs and cats.",
    )
    dogs = PetsField(help_text="How many of the pets are dogs.")
    cats = PetsField(help_text="How many of the pets are cats.")

    def get_fields(self):
        # "from" is a Python keyword, so the port fields cannot be declared as class attributes. The ports come
        # first, then the question's own fields (its dates), then the party.
        fields = super().get_fields()
        for position, prefix in enumerate(VEHICLE_PREFIXES, 1):
            fields |= vehicle_parameters(prefix, position)
        party = {name: fields.pop(name) for name in PARTY_FIELDS}
        ports = {
            "from": PortField(
                required_message=gettext_lazy("Choose a port."),
                help_text="Departure port, by UN/LOCODE (see `/api/v1/ports`). Case does not matter.",
            ),
            "to": PortField(
                required_message=gettext_lazy("Choose a port."),
                help_text="Arrival port, by UN/LOCODE; not the departure port.",
            ),
        }
        return ports | fields | party

    def ports_and_party(self, values: dict, errors: dict) -> tuple[str, str, Party]:
        origin, destination = values.get("from"), values.get("to")
        if origin and origin == destination:
            add_error(errors, "to", _("Choose a destination different from the departure port."))
        accommodation = values.get("accommodation", Accommodation.DECK)
        party = Party(**_counts(values, errors), vehicles=_vehicles(values, errors), accommodation=accommodation,
                      **_pets(values, errors))  # fmt: skip
        return origin, destination, party


class SearchQuerySerializer(PartyQuerySerializer):
    """The sailing search's query parameters, read into a `SearchQuery`."""

    date = DayField(
        required_message=gettext_lazy("Choose a date."),
        help_text="Outbound departure day in the departure port's time, YYYY-MM-DD: from today up to the "
        "search horizon (the error message names its last day).",
    )
    return_date = DayField(
        help_text="For a return journey: the day of the way back, not before `date`. Leave out for one way.",
    )
    return_from = PortField(
        help_text="An open-jaw return: the port the return leaves from, when not `to` (out Marseille → Tunis, back "
        "from Tunis or another port). Only with `return_date`.",
    )
    return_to = PortField(
        help_text="An open-jaw return: the port the return sails to, when not `from` (back Tunis → Genoa). Only with "
        "`return_date`.",
    )
    return_accommodation = AccommodationField(
        help_text="The return's own accommodation, when not `accommodation` (deck passage out, a cabin back): its "
        "sailings are priced and their availability given for the party in it. Only with `return_date`.",
    )
    sort = SortField(
        default="departure",
        help_text="The order of each leg's sailings: by departure, by price (the lowest of its fare families) or by "
        "duration; those the party cannot book come last when sorted by price or duration.",
    )
    operator = OperatorsField(
        help_text="Only these operators' sailings: their codes, comma-separated (or the parameter repeated)."
    )
    departs = TimeBandsField(
        help_text="Only sailings leaving in these parts of the day, port time: night (0–6 h), morning (6–12 h), "
        "afternoon (12–18 h), evening (18–24 h); comma-separated (or the parameter repeated)."
    )
    available_only = YesNoField(
        default=False, help_text="Only sailings the party can book (hiding those full or unable to take it)."
    )

    def check(self, values: dict, errors: dict) -> SearchQuery | None:
        origin, destination, party = self.ports_and_party(values, errors)
        day, return_day = values.get("date"), values.get("return_date")
        if day and return_day and return_day < day:
            add_error(errors, "return_date", _("The return must not be before the outbound date."))
        back_from, back_to = values.get("return_from") or destination, values.get("return_to") or origin
        if (values.get("return_from") or values.get("return_to")) and not return_day and "return_date" not in errors:
            add_error(errors, "return_date", _("Choose the date of the return."))
        elif return_day and back_from and back_from == origin:
            add_error(errors, "return_from", _("The return cannot leave from where the outbound leaves."))
        elif return_day and back_to and back_to == destination:
            add_error(errors, "return_to", _("The return cannot sail to where the outbound arrives."))
        if values.get("return_accommodation") and not return_day and "return_date" not in errors:
            add_error(errors, "return_date", _("Choose the date of the return."))
        if errors:
            return None
        outbound = LegQuery(origin, destination, day, party)
        back_party = replace(party, accommodation=values.get("return_accommodation") or party.accommodation)
        inbound = LegQuery(back_from, back_to, return_day, back_party) if return_day else None
        view = ResultsView(
            sort=values.get("sort") or "departure",
            operators=values.get("operator") or (),
            departs=values.get("departs") or (),
            available_only=bool(values.get("available_only")),
        )
        return SearchQuery(outbound=outbound, inbound=inbound, view=view)


class CalendarQuerySerializer(PartyQuerySerializer):
    """The fare calendar's query parameters, read into a `CalendarQuery`: a month, or the days around a date."""

    month = MonthField(
        help_text="The month, YYYY-MM: its days from today up to the search horizon. Or give `date` instead."
    )
    date = DayField(
        help_text=f"Instead of `month`: the {2 * STRIP_DAYS + 1} days around this one (a fare strip), within the "
        "days that can be searched.",
    )

    def check(self, values: dict, errors: dict) -> CalendarQuery | None:
        origin, destination, party = self.ports_and_party(values, errors)
        month, day = values.get("month"), values.get("date")
        if month and day:
            add_error(errors, "date", _("Give a month or a date, not both."))
        elif not month and not day and "month" not in errors and "date" not in errors:
            add_error(errors, "month", _("Choose a month."))
        if errors:
            return None
        first, last = month or days_around(day)
        return CalendarQuery(origin, destination, first, last, party)


def _counts(values: dict, errors: dict) -> dict[str, int]:
    """Passengers by type: one adult when no count is given at all; a count in error counts as none."""
    given = {name: values.get(name, 0) for name in COUNT_FIELDS}
    if all(count is None for count in given.values()):
        given["adults"] = 1
    counts = {name: count or 0 for name, count in given.items()}
    grown_ups = sum(counts[f"{kind}s"] for kind in GROWN_UPS)
    if sum(counts.values()) > MAX_PASSENGERS:
        add_error(errors, "passengers", _("At most %(max)d passengers per booking.") % {"max": MAX_PASSENGERS})
    if not grown_ups and (counts["children"] or counts["infants"]):
        # Said in the words of the search form, whose counts the traveller sets.
        add_error(errors, "adults", _("Children and infants must travel with an adult or a senior."))
    elif problem := party_problem(grown_ups=grown_ups, infants=counts["infants"]):
        add_error(errors, "adults" if not grown_ups else "infants", problem)
    return counts


def _pets(values: dict, errors: dict) -> dict[str, int]:
    """The pets in all and how many are dogs and cats: in all, the dogs and cats when not given."""
    dogs, cats = values.get("dogs") or 0, values.get("cats") or 0
    pets = values.get("pets")
    problem = pet_problem(pets=pets, dogs=dogs, cats=cats)
    if problem and "pets" not in errors:
        add_error(errors, "pets", problem)
    return {"pets": dogs + cats if pets is None else pets, "dogs": dogs, "cats": cats}


def _vehicles(values: dict, errors: dict) -> tuple[Vehicle, ...]:
    """The vehicles given, in their parameters' order."""
    vehicles = (_vehicle(prefix, values, errors) for prefix in VEHICLE_PREFIXES)
    return tuple(vehicle for vehicle in vehicles if vehicle)


def _vehicle(prefix: str, values: dict, errors: dict) -> Vehicle | None:
    """A vehicle with its size, checked against its type's limits; sizes or a load without a type are refused."""
    category = values.get(prefix) or ""
    details = [f"{prefix}_{size}" for size in VEHICLE_SIZES] + [f"{prefix}_load"]
    if category in (NO_VEHICLE, "") and prefix not in errors:
        for name in details:
            if name in errors or values.get(name) is not None:
                errors[name] = [_("Choose a vehicle type first.")]
        return None
    if not category:  # in error: its sizes cannot be checked
        for name in details:
            errors.pop(name, None)
        return None
    sizes = {f"{prefix}_{name}": limits for name, limits in VEHICLE_LIMITS[category].sizes().items()}
    for name, (default, minimum, maximum) in sizes.items():
        size = values.get(name)
        if size is None and name not in errors:
            values[name] = default
        elif size is not None and not minimum <= size <= maximum:
            message = _("Must be between %(min)d and %(max)d cm for this vehicle.")
            add_error(errors, name, message % {"min": minimum, "max": maximum})
    length, height = (values.get(f"{prefix}_{size}") or 0 for size in VEHICLE_SIZES)
    return Vehicle(category, length, height, values.get(f"{prefix}_load") or "")


# Built once: a serializer copies its fields for each instance, the costly part of reading a query with one.
SEARCH_QUERY = SearchQuerySerializer()


CALENDAR_QUERY = CalendarQuerySerializer()


def parse_search_query(data: Mapping[str, str]) -> SearchQuery:
    """The query the parameters ask for, or a ValidationError naming each parameter in error."""
    try:
        return SEARCH_QUERY.run_validation(data)
    except serializers.ValidationError as error:
        raise validation_error(error) from None


# The searches and calendars read lately, by their query string, so that a repeated one (most are) is not read again:
# a string is read again on another day (the days that may be asked for move) or with another horizon. Only queries
# read without error are remembered.
READ_LATELY = 2000
_read_lately: OrderedDict[tuple[str, str, tuple[dt.date, dt.date]], SearchQuery | CalendarQuery] = OrderedDict()
_read_lately_lock = threading.Lock()


def read_search_query(query_string: str) -> SearchQuery:
    """parse_search_query of what `query_string` says (read as a request's GET is): remembered for the next same
    string, which is then not even split into parameters."""
    return _read_remembered("search", query_string, lambda: parse_search_query(QueryDict(query_string)))


def read_calendar_query(query_string: str) -> CalendarQuery:
    """parse_calendar_query of what `query_string` says, remembered as read_search_query's are."""
    return _read_remembered("calendar", query_string, lambda: parse_calendar_query(QueryDict(query_string)))


def forget_read_queries() -> None:
    """Forget the query strings read lately, as a process that starts knows none: for the benchmarks' readings in one
    process, whose two sides each read the same strings as two processes would, for the first time."""
    with _read_lately_lock:
        _read_lately.clear()


def _read_remembered(kind: str, query_string: str, parse: Callable[[], Any]) -> Any:
    key = (kind, query_string, searchable_days())
    with _read_lately_lock:
        query = _read_lately.get(key)
        if query is not None:
            _read_lately.move_to_end(key)
            return query
    query = parse()
    with _read_lately_lock:
        _read_lately[key] = query
        while len(_read_lately) > READ_LATELY:
            _read_lately.popitem(last=False)
    return query


def parse_calendar_query(data: Mapping[str, str]) -> CalendarQuery:
    """The fare calendar the parameters ask for, or a ValidationError naming each parameter in error."""
    try:
        return CALENDAR_QUERY.run_validation(data)
    except serializers.ValidationError as error:
        raise validation_error(error) from None
