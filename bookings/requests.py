"""A booking request, read and checked once for the website and the API.

`parse_booking_request(data)` takes plain JSON-like data (the API body, or what the website's form
collected) and returns a `BookingRequest` with the sailings loaded, or raises a ValidationError
whose keys name the field: `outbound_sailing_id`, `passengers.0.last_name`, `vehicle.height_cm`,
`contact.email`… Everything is checked and reported at once; nothing is written.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django_countries import countries

from ferries.choices import GROWN_UPS, MAX_PASSENGERS, VEHICLE_LIMITS, Accommodation, PassengerType, VehicleCategory
from ferries.models import Sailing
from ferries.party import Party, Vehicle
from ferries.returns import Crossing, return_problem
from ferries.selectors import bookable_after

MAX_PETS = 4
NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")  # letters of any alphabet, with spaces, ' - .
DOCUMENT = re.compile(r"^[A-Z0-9]{4,20}$")
REGISTRATION = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{0,14}[A-Z0-9]$")
PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]{5,22}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# Age on the day of departure, by passenger type (from, to inclusive).
AGES = {
    PassengerType.INFANT: (0, 3),
    PassengerType.CHILD: (4, 11),
    PassengerType.ADULT: (12, 64),
    PassengerType.SENIOR: (65, 130),
}


@dataclass(frozen=True)
class PassengerDetails:
    type: str
    first_name: str
    last_name: str
    date_of_birth: dt.date
    nationality: str
    document_number: str


@dataclass(frozen=True)
class VehicleDetails:
    category: str
    registration: str
    length_cm: int
    height_cm: int


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class BookingRequest:
    outbound: Sailing
    inbound: Sailing | None
    passengers: tuple[PassengerDetails, ...]
    vehicle: VehicleDetails | None
    accommodation: str
    pets: int
    contact: Contact

    @property
    def sailings(self) -> list[Sailing]:
        return [self.outbound] + ([self.inbound] if self.inbound else [])

    @property
    def party(self) -> Party:
        counts = {kind: sum(1 for p in self.passengers if p.type == kind) for kind in PassengerType.values}
        vehicle = self.vehicle and Vehicle(self.vehicle.category, self.vehicle.length_cm, self.vehicle.height_cm)
        return Party(
            adults=counts[PassengerType.ADULT],
            children=counts[PassengerType.CHILD],
            infants=counts[PassengerType.INFANT],
            seniors=counts[PassengerType.SENIOR],
            vehicle=vehicle,
            accommodation=self.accommodation,
            pets=self.pets,
        )


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def parse_booking_request(data: dict) -> BookingRequest:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    errors = _Errors()
    outbound = _sailing(data, "outbound_sailing_id", errors, required=True)
    inbound = _sailing(data, "return_sailing_id", errors, required=False)
    if outbound and inbound:
        _check_return(outbound, inbound, errors)
    travel_day = outbound.departs_at.astimezone(outbound.route.origin.tz).date() if outbound else None
    passengers = _passengers(data.get("passengers"), travel_day, errors)
    vehicle = _vehicle(data.get("vehicle"), errors)
    accommodation = _choice(data.get("accommodation", Accommodation.DECK), Accommodation, "accommodation", errors)
    pets = _whole(data.get("pets", 0), "pets", errors, maximum=MAX_PETS)
    contact = _contact(data.get("contact"), errors)
    if errors:
        raise ValidationError(dict(errors))
    return BookingRequest(outbound, inbound, tuple(passengers), vehicle, accommodation, pets, contact)


def _text(value, field: str, errors: _Errors, *, pattern=None, max_length: int = 100, message: str = "") -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add(field, _("This field is required."))
        return ""
    if not isinstance(value, str):
        errors.add(field, _("Must be text."))
        return ""
    value = " ".join(value.split())
    if len(value) > max_length:
        errors.add(field, _("At most %(n)d characters.") % {"n": max_length})
    elif any(unicodedata.category(char) == "Cc" for char in value):
        # Control characters are never part of a name or an address; PostgreSQL refuses NUL outright.
        errors.add(field, _("Remove the control characters."))
    elif pattern and not pattern.match(value):
        errors.add(field, message or _("Not valid."))
    return value


def _whole(value, field: str, errors: _Errors, *, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.add(field, _("Enter a whole number."))
        return 0
    try:
        number = int(value)
    except ValueError:
        errors.add(field, _("Enter a whole number."))
        return 0
    if number < minimum or (maximum is not None and number > maximum):
        errors.add(field, _("Must be between %(min)d and %(max)d.") % {"min": minimum, "max": maximum})
    return number


def _choice(value, choices, field: str, errors: _Errors) -> str:
    if not isinstance(value, str) or value.lower() not in choices.values:
        errors.add(field, _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)})
        return ""
    return value.lower()


def _sailing(data: dict, field: str, errors: _Errors, *, required: bool) -> Sailing | None:
    value = data.get(field)
    if value in (None, ""):
        if required:
            errors.add(field, _("Choose a sailing."))
        return None
    number = _whole(value, field, errors, minimum=1, maximum=2**31 - 1)
    if field in errors:
        return None
    sailing = (
        Sailing.objects.select_related("route__origin", "route__destination", "route__operator", "vessel")
        .filter(pk=number)
        .first()
    )
    if sailing is None:
        errors.add(field, _("No such sailing."))
    elif sailing.status != Sailing.Status.SCHEDULED or sailing.departs_at < bookable_after():
        errors.add(field, _("This sailing can no longer be booked."))
    else:
        return sailing
    return None


def _check_return(outbound: Sailing, inbound: Sailing, errors: _Errors) -> None:
    if problem := return_problem(outbound=Crossing.of_sailing(outbound), inbound=Crossing.of_sailing(inbound)):
        errors.add("return_sailing_id", problem)


def _passengers(value, travel_day: dt.date | None, errors: _Errors) -> list[PassengerDetails]:
    if not isinstance(value, list) or not value:
        errors.add("passengers", _("Add at least one passenger."))
        return []
    if len(value) > MAX_PASSENGERS:
        errors.add("passengers", _("At most %(max)d passengers per booking.") % {"max": MAX_PASSENGERS})
        return []
    passengers = [_passenger(item, f"passengers.{i}", travel_day, errors) for i, item in enumerate(value)]
    passengers = [p for p in passengers if p]
    grown_ups = sum(1 for p in passengers if p.type in GROWN_UPS)
    if len(passengers) == len(value):
        if not grown_ups:
            errors.add("passengers", _("At least one adult or senior must travel."))
        elif sum(1 for p in passengers if p.type == PassengerType.INFANT) > grown_ups:
            errors.add("passengers", _("Each infant travels on the lap of an adult or a senior."))
    return passengers


def _passenger(item, prefix: str, travel_day: dt.date | None, errors: _Errors) -> PassengerDetails | None:
    if not isinstance(item, dict):
        errors.add(prefix, _("Each passenger is an object."))
        return None
    before = len(errors)
    kind = _choice(item.get("type", ""), PassengerType, f"{prefix}.type", errors)
    name_message = _("Use letters, spaces, hyphens and apostrophes.")
    first = _text(item.get("first_name"), f"{prefix}.first_name", errors, pattern=NAME, message=name_message)
    last = _text(item.get("last_name"), f"{prefix}.last_name", errors, pattern=NAME, message=name_message)
    born = _birth_date(item.get("date_of_birth"), f"{prefix}.date_of_birth", kind, travel_day, errors)
    nationality = _nationality(item.get("nationality"), f"{prefix}.nationality", errors)
    document = _text(
        _upper(item.get("document_number")), f"{prefix}.document_number", errors, pattern=DOCUMENT,
        message=_("4 to 20 letters and digits, as printed on the passport or identity card."),
    )  # fmt: skip
    if len(errors) != before:
        return None
    return PassengerDetails(kind, first, last, born, nationality, document.replace(" ", ""))


def _nationality(value, field: str, errors: _Errors) -> str:
    """A country of ISO 3166-1 by its alpha-2 code, as django-countries lists them: the format alone would let ZZ
    or XX through."""
    # Exactly as ISO writes them (capitals, nothing around), as the schema's list of codes says.
    if not isinstance(value, str) or not COUNTRY.fullmatch(value):
        errors.add(field, _("A two-letter country code in capitals, such as TN or FR."))
        return ""
    if value not in countries:
        errors.add(field, _("%(code)s is not a country code of ISO 3166-1, such as TN or FR.") % {"code": value})
    return value


def _birth_date(value, field: str, kind: str, travel_day: dt.date | None, errors: _Errors) -> dt.date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        errors.add(field, _("Enter a date as YYYY-MM-DD."))
        return None
    try:
        born = dt.date.fromisoformat(value)
    except ValueError:
        errors.add(field, _("Enter a date as YYYY-MM-DD."))
        return None
    if travel_day is None or kind not in AGES:
        return born
    if born > travel_day:
        errors.add(field, _("The date of birth is after the day of travel."))
        return born
    age = travel_day.year - born.year - ((travel_day.month, travel_day.day) < (born.month, born.day))
    low, high = AGES[kind]
    if not low <= age <= high:
        errors.add(
            field,
            _("A passenger of this type is %(low)d to %(high)d years old on the day of travel; this one is %(age)d.")
            % {"low": low, "high": high, "age": age},
        )
    return born


def _vehicle(value, errors: _Errors) -> VehicleDetails | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        errors.add("vehicle", _("The vehicle is an object, or null for none."))
        return None
    before = len(errors)
    category = _choice(value.get("category", ""), VehicleCategory, "vehicle.category", errors)
    registration = _text(
        _upper(value.get("registration")), "vehicle.registration", errors, pattern=REGISTRATION, max_length=16,
        message=_("Letters, digits, spaces and hyphens, as on the number plate."),
    )  # fmt: skip
    if category:
        limits = VEHICLE_LIMITS[category]
        length = _whole(value.get("length_cm", limits.default_length_cm), "vehicle.length_cm", errors,
                        minimum=limits.min_length_cm, maximum=limits.max_length_cm)  # fmt: skip
        height = _whole(value.get("height_cm", limits.default_height_cm), "vehicle.height_cm", errors,
                        minimum=50, maximum=limits.max_height_cm)  # fmt: skip
    if len(errors) != before:
        return None
    return VehicleDetails(category, registration, length, height)


def _contact(value, errors: _Errors) -> Contact | None:
    if not isinstance(value, dict):
        errors.add("contact", _("Give a contact name, e-mail and phone."))
        return None
    name = _text(value.get("name"), "contact.name", errors, max_length=150)
    email = _text(value.get("email"), "contact.email", errors, max_length=254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("contact.email", _("Enter a valid e-mail address."))
    phone = _text(
        value.get("phone"), "contact.phone", errors, pattern=PHONE, max_length=32,
        message=_("A phone number with its country code, e.g. +216 71 000 000."),
    )  # fmt: skip
    return Contact(name, email, phone)


def _upper(value):
    return value.upper() if isinstance(value, str) else value
