"""The account pages' forms: they take text as typed and leave the checking to the same readers as the API
(accounts.requests), whose errors they show on the fields they name."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models import SavedTraveller
from ferries.choices import VEHICLE_LIMITS, VehicleCategory


def _text(label, *, autocomplete: str = "off", required: bool = True, **attrs) -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": autocomplete, "required": required, **attrs})
    return forms.CharField(label=label, required=False, widget=widget)


def _date(label, *, required: bool = True) -> forms.CharField:
    widget = forms.DateInput(attrs={"type": "date", "required": required})
    return forms.CharField(label=label, required=False, widget=widget)


def _size(label, typical: str, help_text) -> forms.CharField:
    car = VEHICLE_LIMITS[VehicleCategory.CAR]
    attrs = {"inputmode": "numeric", "step": 1, "min": 1, "placeholder": getattr(car, typical)}
    return forms.CharField(label=label, required=False, widget=forms.NumberInput(attrs=attrs), help_text=help_text)


class CheckedForm(forms.Form):
    """A form whose values a service reads (`data`) and whose refusal it shows on the fields named."""

    @property
    def data_for_service(self) -> dict:
        return {name: self.data.get(name, "") for name in self.fields}

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class TravellerForm(CheckedForm):
    first_name = _text(_("First name"))
    last_name = _text(_("Last name"))
    date_of_birth = _date(_("Date of birth"))
    nationality = forms.CharField(label=_("Nationality"), required=False)
    document_type = forms.CharField(
        label=_("Document"), required=False, widget=forms.Select(choices=SavedTraveller.Document.choices)
    )
    document_number = _text(
        _("Passport or ID number"), required=False, maxlength=20, autocapitalize="characters",
    )  # fmt: skip
    document_expires = _date(_("Document valid until"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("Choose a country")), *((code, name) for code, name in countries)]
        self.fields["nationality"].widget = forms.Select(choices=choices, attrs={"required": True})


class VehicleForm(CheckedForm):
    category = forms.CharField(label=_("Vehicle"), required=False, widget=forms.Select(choices=VehicleCategory.choices))
    registration = _text(_("Registration"), maxlength=16, autocapitalize="characters", placeholder="123 TU 4567")
    length_cm = _size(_("Length (cm)"), "default_length_cm", _("Left empty: a typical length for the vehicle."))
    height_cm = _size(_("Height (cm)"), "default_height_cm", _("With a roof box or bicycles on the roof."))

    @property
    def data_for_service(self) -> dict:
        # Sizes left empty take the category's typical ones (left out of the request, as the API's are).
        return {name: value for name, value in super().data_for_service.items() if value != "" or "_cm" not in name}


class ClaimForm(CheckedForm):
    reference = _text(_("Booking reference"), maxlength=12, autocapitalize="characters", placeholder="K7M2QX")


class ClaimCodeForm(CheckedForm):
    reference = forms.CharField(widget=forms.HiddenInput, required=False)
    code = _text(_("Code from the e-mail"), autocomplete="one-time-code", inputmode="numeric", maxlength=12)


class DeleteAccountForm(CheckedForm):
    password = forms.CharField(
        label=_("Your password"), required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "required": True}),
    )  # fmt: skip
    confirm = forms.BooleanField(
        label=_("I understand that my account, saved travellers and vehicles are deleted for good."), required=False
    )
