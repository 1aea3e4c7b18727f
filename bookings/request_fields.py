"""The fields of a booking request (`bookings.requests`): each reads its value as the website and the API send it,
by `read`; its DRF type gives the OpenAPI schema only."""

import datetime as dt
import re
import unicodedata

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django_countries import countries
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty

from ferries.models import Sailing
from ferries.pricing import DEFAULT_FAMILY
from ferries.selectors import bookable_after, sailing_with_route

NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")  # letters of any alphabet, with spaces, ' - .
DOCUMENT = re.compile(r"^[A-Z0-9]{4,20}$")
REGISTRATION = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{0,14}[A-Z0-9]$")
PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]{5,22}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FARE_FAMILY = re.compile(r"^[a-z][a-z0-9-]{1,19}$")  # as FareFamily.code
# The highest id PostgreSQL's integer keys take.
MAX_ID = 2**31 - 1


# --- reading values as the website and the API send them ---------------------------------------------------------


def _text(value, *, pattern=None, max_length: int = 100, message: str = "") -> str:
    """Text with its runs of spaces made one, required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(_("This field is required."))
    if not isinstance(value, str):
        raise ValidationError(_("Must be text."))
    value = " ".join(value.split())
    if len(value) > max_length:
        raise ValidationError(_("At most %(n)d characters.") % {"n": max_length})
    if any(unicodedata.category(char) == "Cc" for char in value):
        # Control characters are never part of a name or an address; PostgreSQL refuses NUL outright.
        raise ValidationError(_("Remove the control characters."))
    if pattern and not pattern.match(value):
        raise ValidationError(message or _("Not valid."))
    return value


def whole_number(value, *, minimum: int = 0, maximum: int) -> int:
    """A whole number, as a JSON number or as text (the website's form sends text)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(_("Enter a whole number."))
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(_("Enter a whole number.")) from None
    if not minimum <= number <= maximum:
        raise ValidationError(_("Must be between %(min)d and %(max)d.") % {"min": minimum, "max": maximum})
    return number


def _upper(value):
    return value.upper() if isinstance(value, str) else value


class Read:
    """A field of the request body read by `read(value)` — `value` None when left out, unless the field has a
    default — rather than by its DRF type, which gives it its schema only."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)

    def run_validation(self, data=empty):
        if data is empty:
            if self.default is not empty:
                return self.default
            if not self.required:
                raise SkipField
            data = None
        return self.read(data)


class SailingIdField(Read, serializers.IntegerField):
    """A sailing on sale, loaded with its route, ports, operator and vessel."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def read(self, value) -> Sailing | None:
        if value in (None, ""):
            if self.required:
                raise ValidationError(_("Choose a sailing."))
            return None
        number = whole_number(value, minimum=1, maximum=MAX_ID)
        sailing = sailing_with_route(number)
        if sailing is None:
            raise ValidationError(_("No such sailing."))
        if sailing.status != Sailing.Status.SCHEDULED or sailing.departs_at < bookable_after():
            raise ValidationError(_("This sailing can no longer be booked."))
        return sailing


class AssistanceField(Read, serializers.ChoiceField):
    """One of the choices in either case, or none (empty, null or left out)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, allow_null=True, default="", **kwargs)

    def read(self, value) -> str:
        if value is None or value == "":
            return ""
        values = [choice for choice in self.choices if choice]
        if not isinstance(value, str) or value.lower() not in values:
            raise ValidationError(_("Choose one of: %(choices)s, or none.") % {"choices": ", ".join(values)})
        return value.lower()


class LegAccommodationField(AssistanceField):
    """A leg's own accommodation, one of the choices in either case, or none: the booking's."""


class WordField(Read, serializers.ChoiceField):
    """One of the choices, in either case."""

    def read(self, value) -> str:
        values = list(self.choices)
        if not isinstance(value, str) or value.lower() not in values:
            raise ValidationError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(values)})
        return value.lower()


# The patterns say what `_text` takes, read as it reads a value: spaces around it dropped and runs of spaces inside
# made one, letters in either case. \p{L} is any letter, as JSON Schema validators read it (ECMAScript with Unicode);
# Python's `re` does not know it, so the name's schema is given whole rather than as a RegexField.
NAME_PATTERN = r"^\s*\p{L}+(?:(?:\s+|['.-])\p{L}+)*\.?\s*$"
# A character that is not a control character, a visible one, and text of them with at least one visible.
NOT_CONTROL = r"[^\x00-\x1f\x7f-\x9f]"
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"


@extend_schema_field({"type": "string", "maxLength": 100, "pattern": NAME_PATTERN})
class NameField(Read, serializers.CharField):
    """A name as on a travel document: letters of any alphabet, in words joined by a space, a hyphen, an apostrophe
    or a dot, with perhaps a dot at the end."""

    def read(self, value) -> str:
        return _text(value, pattern=NAME, message=_("Use letters, spaces, hyphens and apostrophes."))


class DocumentField(Read, serializers.RegexField):
    def read(self, value) -> str:
        message = _("4 to 20 letters and digits, as printed on the passport or identity card.")
        return _text(_upper(value), pattern=DOCUMENT, message=message).replace(" ", "")


class BirthDateField(Read, serializers.DateField):
    """The date alone; whether it fits the passenger's type depends on the day of travel (`_age_problem`)."""

    def read(self, value) -> dt.date:
        try:
            if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from None


class NationalityField(Read, serializers.ChoiceField):
    """A country of ISO 3166-1 by its alpha-2 code, as django-countries lists them: the format alone would let ZZ
    or XX through."""

    def read(self, value) -> str:
        # Exactly as ISO writes them (capitals, nothing around), as the schema's list of codes says.
        if not isinstance(value, str) or not COUNTRY.fullmatch(value):
            raise ValidationError(_("A two-letter country code in capitals, such as TN or FR."))
        if value not in countries:
            raise ValidationError(
                _("%(code)s is not a country code of ISO 3166-1, such as TN or FR.") % {"code": value}
            )
        return value


class RegistrationField(Read, serializers.RegexField):
    def read(self, value) -> str:
        message = _("Letters, digits, spaces and hyphens, as on the number plate.")
        return _text(_upper(value), pattern=REGISTRATION, max_length=16, message=message)


class SizeField(Read, serializers.IntegerField):
    """Read with the vehicle's category, whose limits and typical size it takes (`VehicleSerializer.check`)."""

    def run_validation(self, data=empty):
        return data  # `empty` when left out: the category's typical size


class CountField(Read, serializers.IntegerField):
    def read(self, value) -> int:
        return whole_number(value, minimum=self.min_value, maximum=self.max_value)


class ContactNameField(Read, serializers.RegexField):
    def read(self, value) -> str:
        return _text(value, max_length=150)


class TextLineField(Read, serializers.RegexField):
    """Text on one line, up to `max_length` characters (runs of spaces made one)."""

    def read(self, value) -> str:
        return _text(value, max_length=self.max_length)


VAT_NUMBER = re.compile(r"^[A-Z]{2}[A-Z0-9]{2,13}$")


class VatNumberField(Read, serializers.RegexField):
    def read(self, value) -> str:
        number = _upper(value).replace(" ", "").replace(".", "").replace("-", "") if isinstance(value, str) else value
        message = _("A VAT number with its country prefix, e.g. FR12345678901.")
        return _text(number, pattern=VAT_NUMBER, max_length=15, message=message)


class PhoneField(Read, serializers.RegexField):
    def read(self, value) -> str:
        message = _("A phone number with its country code, e.g. +216 71 000 000.")
        return _text(value, pattern=PHONE, max_length=32, message=message)


class EmailField(Read, serializers.EmailField):
    def read(self, value) -> str:
        email = _text(value, max_length=254)
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValidationError(_("Enter a valid e-mail address.")) from None
        return email


class FareFamilyField(Read, serializers.RegexField):
    """The code of a fare family the sailing is sold in, as the search gives it; whether the sailing is sold in it
    is the operator's answer to the hold."""

    def __init__(self, **kwargs):
        super().__init__(FARE_FAMILY.pattern, max_length=20, default=DEFAULT_FAMILY, **kwargs)

    def read(self, value) -> str:
        if not isinstance(value, str) or not FARE_FAMILY.fullmatch(value):
            raise ValidationError(_("A fare family's code, as the search gives it, e.g. standard or flex."))
        return value


PROMO_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")  # as PromoCode.code


class PromoCodeField(Read, serializers.RegexField):
    """A promo code as typed: in either case, spaces around it dropped; empty or null for none. Whether it exists
    and applies is for `bookings.promotions`."""

    def __init__(self, **kwargs):
        super().__init__(r"^\s*[A-Za-z0-9][A-Za-z0-9-]{2,31}\s*$", max_length=40, required=False, allow_null=True,
                         **kwargs)  # fmt: skip

    def read(self, value) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        if not isinstance(value, str) or not PROMO_CODE.fullmatch(value.strip().upper()):
            raise ValidationError(_("A promo code is 3 to 32 letters, digits and hyphens."))
        return value.strip().upper()


class FlagField(Read, serializers.BooleanField):
    """true or false, as JSON writes them; false when left out (unless it has another default, or none)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", False)
        super().__init__(**kwargs)

    def read(self, value) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(_("Must be true or false."))
        return value


class IdField(Read, serializers.IntegerField):
    """An object's id, as JSON writes a number (not "12")."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def read(self, value) -> int:
        if value is None:
            raise ValidationError(_("This field is required."))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise ValidationError(_("A whole number from 1 to %(max)d.") % {"max": MAX_ID})
        return value


class ScanCodeField(Read, serializers.RegexField):
    """What a scanner read from an e-ticket's QR code, or a reference typed: text with something in it."""

    MAX = 2000

    def __init__(self, **kwargs):
        super().__init__(r"\S", max_length=self.MAX, **kwargs)

    def read(self, value) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError(_("This field is required."))
        if not isinstance(value, str):
            raise ValidationError(_("Must be text."))
        if len(value) > self.MAX:
            raise ValidationError(_("At most %(n)d characters.") % {"n": self.MAX})
        return value.strip()
