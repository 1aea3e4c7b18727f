"""What a traveller may save, read the same way from the account pages and the API: the booking request's own
fields (names, documents, countries, number plates and vehicle sizes are checked as a booking checks them), so a
saved traveller always fills a passenger the booking accepts."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_serializer
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty

from accounts.models import SavedTraveller
from bookings.request_fields import BirthDateField, DocumentField, NameField, NationalityField, WordField
from bookings.requests import VehicleSerializer
from ferries.choices import COUNTRY_CODES
from kernel.api import InputSerializer, add_error, validation_error

# Nobody older travels; an older date of birth is a typing mistake.
OLDEST_YEARS = 120


class OptionalDocumentField(DocumentField):
    """A document number, or none yet (a newborn's passport is on its way)."""

    def read(self, value) -> str:
        return "" if value in (None, "") else super().read(value)


class OptionalDateField(BirthDateField):
    def read(self, value) -> dt.date | None:
        return None if value in (None, "") else super().read(value)


@extend_schema_serializer(component_name="SavedTravellerRequest")
class TravellerSerializer(InputSerializer):
    default_error_messages = {"invalid": gettext_lazy("A traveller is an object.")}

    first_name = NameField(help_text="As on the travel document.")
    last_name = NameField(help_text="As on the travel document.")
    date_of_birth = BirthDateField(help_text="YYYY-MM-DD, in the past.")
    nationality = NationalityField(choices=COUNTRY_CODES, help_text="ISO 3166-1 alpha-2, in capitals, e.g. TN.")
    document_type = WordField(choices=SavedTraveller.Document.choices, default=SavedTraveller.Document.PASSPORT)
    document_number = OptionalDocumentField(
        r"^[A-Za-z0-9]{4,20}$", min_length=4, max_length=20, required=False, allow_blank=True, allow_null=True,
        default="", help_text="Passport or identity card number: 4 to 20 letters and digits; empty if none yet.",
    )  # fmt: skip
    document_expires = OptionalDateField(
        required=False, allow_null=True, default=None,
        help_text="YYYY-MM-DD: a trip returning after it is warned about.",
    )  # fmt: skip

    def check(self, values: dict, errors: dict) -> dict:
        today = timezone.localdate()
        if (born := values.get("date_of_birth")) is not None:
            if born > today:
                add_error(errors, "date_of_birth", _("The date of birth is in the future."))
            elif born < today.replace(year=today.year - OLDEST_YEARS):
                add_error(errors, "date_of_birth", _("Check the year: more than %d years ago.") % OLDEST_YEARS)
        expires = values.get("document_expires")
        if expires is not None and born and "date_of_birth" not in errors and expires <= born:
            add_error(errors, "document_expires", _("The document expires before its holder was born."))
        return values


def parse_traveller(data) -> dict:
    """The traveller `data` describes, or a Django ValidationError naming each field in error."""
    try:
        return TravellerSerializer().run_validation(data)
    except ValidationError as error:
        raise validation_error(error) from None


@extend_schema_serializer(component_name="SavedVehicleRequest")
class SavedVehicleSerializer(VehicleSerializer):
    default_error_messages = {"invalid": gettext_lazy("A vehicle is an object.")}
    load = None  # what it carries changes from one trip to the next: asked with each booking, not saved

    def run_validation(self, data=empty):
        return self.to_internal_value(data)  # unlike a booking's, a saved vehicle is never "none"


def parse_vehicle(data) -> dict:
    """The vehicle `data` describes (its size the category's typical one where left out), or a ValidationError."""
    try:
        return {
            key: value for key, value in vars(SavedVehicleSerializer().run_validation(data)).items() if key != "load"
        }
    except ValidationError as error:
        raise validation_error(error) from None
