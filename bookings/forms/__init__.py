"""The website's booking forms: who travels, and "manage my booking".

They hold no rule of their own. `BookingForm.clean()` gathers the raw values into the request body the
API takes too and hands it to `parse_booking_request`, the one place that checks a booking; its errors,
keyed by dotted paths ("passengers.0.last_name"), come back next to the inputs of the same name
("passengers-0-last_name"). Errors about the sailings or the party as a whole go above the form.
Attributes such as `required`, `min` and `max` are hints for the browser only.
"""

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries import countries

from bookings.models import BookingLeg
from bookings.requests import AGES, MAX_PETS, BookingRequest, parse_booking_request
from ferries.choices import Accommodation, Assistance, Extra, PassengerType, VehicleCategory, VehicleLoad
from ferries.party import Party
from kernel.money import format_money

# Grown-ups first: the first passenger is usually the one filling in the form.
PASSENGER_ORDER = (PassengerType.ADULT, PassengerType.SENIOR, PassengerType.CHILD, PassengerType.INFANT)
PASSENGER_HEADINGS = {
    PassengerType.ADULT: _("Adult %(number)d"),
    PassengerType.SENIOR: _("Senior %(number)d"),
    PassengerType.CHILD: _("Child %(number)d"),
    PassengerType.INFANT: _("Infant %(number)d"),
}
PASSENGER_FIELDS = ("first_name", "last_name", "date_of_birth", "nationality", "document_number", "assistance")
# Errors about something the form has no input for are shown above it, introduced by what they are about.
TOPICS = {
    "outbound_sailing_id": _("Outbound sailing"),
    "return_sailing_id": _("Return sailing"),
    "outbound_fare_family": _("Outbound fare"),
    "return_fare_family": _("Return fare"),
    **{f"{leg}_sailing_id": title for leg, title in BookingLeg.Direction.choices if leg.startswith("leg_")},
    "vehicle": _("Vehicle"),
    "vehicles": _("Vehicle"),
    "contact": _("Contact"),
    "billing": _("Invoice details"),
}


def input_name(path: str) -> str:
    """The input of an error path: "passengers.0.last_name" → "passengers-0-last_name"."""
    return path.replace(".", "-")


def age_note(kind: str) -> str:
    """The ages a passenger type covers, as `parse_booking_request` checks them."""
    low, high = AGES[kind]
    if high >= 100:
        return _("Aged %(low)d or over on the day of travel") % {"low": low}
    return _("Aged %(low)d to %(high)d on the day of travel") % {"low": low, "high": high}


def passenger_types(party: Party) -> list[str]:
    return [kind for kind in PASSENGER_ORDER for _n in range(party.counts.get(kind, 0))]


def _text(label, *, autocomplete: str = "off", required: bool = True, **attrs) -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": autocomplete, "required": required, **attrs})
    return forms.CharField(label=label, required=False, widget=widget)


def _number(label, *, initial=None, **attrs) -> forms.CharField:
    widget = forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "required": True, **attrs})
    return forms.CharField(label=label, required=False, initial=initial, widget=widget)


@dataclass(frozen=True)
class ExtrasBlock:
    title: str  # the leg's
    fields: list


@dataclass(frozen=True)
class VehicleBlock:
    heading: str
    fields: list
    index: int = 0  # its fields' `vehicles-<index>-…`
    category: str = ""


VEHICLE_FIELDS = ("registration", "length_cm", "height_cm", "load")


@dataclass(frozen=True)
class PassengerBlock:
    heading: str
    note: str  # the ages of the passenger's type
    fields: list
    index: int = 0  # its fields' `passengers-<index>-…`
    kind: str = ""


class BookingForm(forms.Form):
    accommodation = forms.CharField(
        label=_("Accommodation"), required=False, widget=forms.Select(choices=Accommodation.choices)
    )
    pets = forms.CharField(
        label=_("Pets"),
        required=False,
        initial=0,
        widget=forms.Select(
            choices=[(0, pgettext_lazy("pets", "None"))] + [(n, str(n)) for n in range(1, MAX_PETS + 1)]
        ),
        help_text=_("Each pet is charged per crossing, at the price of its kind."),
    )
    dogs = forms.CharField(
        label=_("Of them, dogs"), required=False, initial=0,
        widget=forms.Select(choices=[(n, str(n)) for n in range(MAX_PETS + 1)]),
    )  # fmt: skip
    cats = forms.CharField(
        label=_("Of them, cats"), required=False, initial=0,
        widget=forms.Select(choices=[(n, str(n)) for n in range(MAX_PETS + 1)]),
    )  # fmt: skip

    def __init__(
        self,
        data=None,
        *,
        party: Party,
        chosen: dict[str, str],
        travel_day: dt.date,
        extras: dict[str, list[dict]] | None = None,
        contact=None,
        leg_accommodations: dict[str, str] | None = None,
    ):
        """`chosen`: the sailings and fare families chosen on the results page, as the request names them
        (outbound_sailing_id, outbound_fare_family, return_…); `extras`: what each leg (outbound, return) sells,
        as its search row's `extras`."""
        initial = {"accommodation": party.accommodation, "pets": party.pets, "dogs": party.dogs, "cats": party.cats,
                   **(contact or {})}  # fmt: skip
        # A leg whose accommodation was chosen on the results page starts with it; the others with the party's.
        initial |= {
            f"{direction}_accommodation": kind
            for direction, kind in (leg_accommodations or {}).items()
            if kind != party.accommodation
        }
        for index, vehicle in enumerate(party.vehicles):
            initial |= {f"vehicles-{index}-{name}": getattr(vehicle, name) for name in VEHICLE_FIELDS[1:]}
        super().__init__(data, initial=initial)
        self.party = party
        self.chosen = chosen
        self.types = passenger_types(party)
        for index, _kind in enumerate(self.types):
            self._add_passenger_fields(index, travel_day)
        for index, _vehicle in enumerate(party.vehicles):
            self._add_vehicle_fields(index)
        self.extra_legs = self._add_extras_fields(extras or {})
        directions = [key.removesuffix("_sailing_id") for key in chosen if key.endswith("_sailing_id")]
        if len(directions) > 1:  # each leg may have its own accommodation
            for direction in directions:
                self.fields[f"{direction}_accommodation"] = forms.CharField(
                    label=_("On board: %(leg)s") % {"leg": BookingLeg.Direction(direction).label},
                    required=False,
                    widget=forms.Select(choices=[("", _("As above")), *Accommodation.choices]),
                )
        self.fields["contact-name"] = _text(_("Full name"), autocomplete="name")
        self.fields["contact-email"] = _text(_("E-mail"), autocomplete="email", type="email")
        self.fields["contact-phone"] = _text(
            _("Mobile phone"), autocomplete="tel", type="tel", placeholder="+216 71 000 000"
        )
        self.fields["contact-email"].help_text = _(
            "Your tickets go here; with it and the reference you manage the booking."
        )
        labels = {"name": _("Name on the invoice"), "address": _("Billing address"), "company": _("Company"),
                  "vat_number": _("Company VAT number")}  # fmt: skip
        for name, label in labels.items():
            self.fields[f"billing-{name}"] = _text(label, required=False, autocomplete="off")
        self.fields["promo_code"] = _text(
            _("Promo code"),
            required=False,
            autocomplete="off",
            autocapitalize="characters",
            spellcheck="false",
            maxlength=40,
        )
        self.fields["promo_code"].help_text = _("Its discount shows in the price once your places are held.")
        self.booking_request: BookingRequest | None = None

    @property
    def billing_fields(self) -> list:
        return [self[f"billing-{name}"] for name in ("name", "address", "company", "vat_number")]

    @cached_property
    def _countries(self) -> list[tuple[str, str]]:
        # Every country of ISO 3166-1, named and ordered in the page's language (django-countries translates them).
        return [("", _("Choose a country")), *((code, name) for code, name in countries)]

    def _add_passenger_fields(self, index: int, travel_day: dt.date) -> None:
        first = index == 0  # the browser may fill in the first passenger as the person at the keyboard
        prefix = f"passengers-{index}-"
        self.fields[prefix + "first_name"] = _text(_("First name"), autocomplete="given-name" if first else "off")
        self.fields[prefix + "last_name"] = _text(_("Last name"), autocomplete="family-name" if first else "off")
        self.fields[prefix + "date_of_birth"] = forms.CharField(
            label=_("Date of birth"),
            required=False,
            widget=forms.DateInput(
                attrs={"type": "date", "max": travel_day.isoformat(), "required": True,
                       "autocomplete": "bday" if first else "off"}
            ),
        )  # fmt: skip
        countries_widget = forms.Select(choices=self._countries, attrs={"required": True})
        self.fields[prefix + "nationality"] = forms.CharField(
            label=_("Nationality"), required=False, widget=countries_widget
        )
        self.fields[prefix + "document_number"] = _text(
            _("Passport or ID number"), maxlength=20, autocapitalize="characters"
        )
        self.fields[prefix + "assistance"] = forms.CharField(
            label=_("Assistance needed"), required=False, widget=forms.Select(choices=Assistance.choices),
            help_text=_("Told to the ferry company, who meets the passenger at the quay."),
        )  # fmt: skip

    def _add_vehicle_fields(self, index: int) -> None:
        prefix = f"vehicles-{index}-"
        self.fields[prefix + "registration"] = _text(
            _("Registration"), maxlength=16, autocapitalize="characters", placeholder="123 TU 4567"
        )
        self.fields[prefix + "length_cm"] = _number(_("Length (cm)"), min=1)
        self.fields[prefix + "height_cm"] = _number(_("Height (cm)"), min=1)
        self.fields[prefix + "load"] = forms.CharField(
            label=_("On the roof or at the back"), required=False, widget=forms.Select(choices=VehicleLoad.choices)
        )

    def _add_extras_fields(self, offered: dict[str, list[dict]]) -> list[ExtrasBlock]:
        """Meals and priority boarding per leg, where its sailing sells them; cancellation protection for the
        booking, where every leg sells it. Answers the legs' blocks, for the template."""
        blocks = []
        persons = self.party.persons
        for direction, title in BookingLeg.Direction.choices:
            if direction not in offered:
                continue
            units = {extra["code"]: extra["unit"] for extra in offered[direction]}
            names = []
            for code, name, label in (
                (Extra.DINNER, "dinners", _("Dinner, %(price)s each")),
                (Extra.BREAKFAST, "breakfasts", _("Breakfast, %(price)s each")),
            ):
                if code in units:
                    self.fields[f"{direction}_extras-{name}"] = forms.CharField(
                        label=label % {"price": format_money(**units[code])},
                        required=False,
                        widget=forms.Select(choices=[(n, str(n)) for n in range(persons + 1)]),
                    )
                    names.append(name)
            if Extra.PRIORITY_BOARDING in units:
                self.fields[f"{direction}_extras-priority_boarding"] = forms.BooleanField(
                    label=_("Priority boarding, %(price)s") % {"price": format_money(**units[Extra.PRIORITY_BOARDING])},
                    required=False,
                    help_text=_("Your party boards first. A few places per sailing."),
                )
                names.append("priority_boarding")
            if names:
                blocks.append(ExtrasBlock(title, [self[f"{direction}_extras-{name}"] for name in names]))
        protection = [
            {extra["code"]: extra["unit"] for extra in extras}.get(Extra.PROTECTION) for extras in offered.values()
        ]
        if protection and all(protection):
            self.fields["cancellation_protection"] = forms.BooleanField(
                label=_("Cancellation protection, %(price)s per passenger and crossing")
                % {"price": format_money(**protection[0])},
                required=False,
                help_text=_("Cancel until 24 hours before departure and get everything back but this protection, "
                            "whatever the fare."),
            )  # fmt: skip
        return blocks

    # --- what the template shows --------------------------------------------------------------------

    @property
    def passenger_blocks(self) -> list[PassengerBlock]:
        blocks, numbers = [], dict.fromkeys(PASSENGER_ORDER, 0)
        for index, kind in enumerate(self.types):
            numbers[kind] += 1
            heading = PASSENGER_HEADINGS[kind] % {"number": numbers[kind]}
            fields = [self[f"passengers-{index}-{name}"] for name in PASSENGER_FIELDS]
            blocks.append(PassengerBlock(heading, age_note(kind), fields, index, kind))
        return blocks

    @property
    def leg_accommodation_fields(self) -> list:
        return [self[name] for name in self.fields if name.endswith("_accommodation")]

    @property
    def vehicle_blocks(self) -> list[VehicleBlock]:
        """One block per vehicle of the search, headed by its category."""
        several = len(self.party.vehicles) > 1
        return [
            VehicleBlock(
                (_("Vehicle %(number)d: %(category)s") if several else _("Vehicle: %(category)s"))
                % {"number": index + 1, "category": VehicleCategory(vehicle.category).label},
                [self[f"vehicles-{index}-{name}"] for name in VEHICLE_FIELDS],
                index,
                vehicle.category,
            )
            for index, vehicle in enumerate(self.party.vehicles)
        ]

    @property
    def contact_fields(self) -> list:
        return [self[name] for name in ("contact-name", "contact-email", "contact-phone")]

    # --- the request, and its errors -----------------------------------------------------------------

    def clean(self):
        try:
            self.booking_request = parse_booking_request(self.request_data())
        except ValidationError as error:
            self.add_request_errors(error)
        return self.cleaned_data

    def request_data(self) -> dict:
        """The values as typed, in the shape of the API's request body; the types and the vehicle come from
        the search, not from the page."""
        value = self.data.get
        data = {key: chosen for key, chosen in self.chosen.items() if chosen}
        data["passengers"] = [
            {"type": kind, **{name: value(f"passengers-{index}-{name}", "") for name in PASSENGER_FIELDS}}
            for index, kind in enumerate(self.types)
        ]
        data["vehicles"] = [self._vehicle_data(index, v.category) for index, v in enumerate(self.party.vehicles)]
        data["accommodation"] = value("accommodation") or self.party.accommodation
        for name in self.fields:
            if name.endswith("_accommodation") and value(name, "").strip():
                data[name] = value(name).strip()
        data["pets"] = value("pets", "").strip() or 0
        data |= {kind: value(kind, "").strip() or 0 for kind in ("dogs", "cats")}
        data["contact"] = {name: value(f"contact-{name}", "") for name in ("name", "email", "phone")}
        billing = {name: value(f"billing-{name}", "").strip() for name in ("name", "address", "company", "vat_number")}
        if any(billing.values()):  # left empty: invoices are made out to the contact
            data["billing"] = billing
        data["promo_code"] = value("promo_code", "")
        for direction in BookingLeg.Direction.values:
            prefix = f"{direction}_extras-"
            if any(name.startswith(prefix) for name in self.fields):
                data[f"{direction}_extras"] = {
                    "dinners": value(prefix + "dinners", "").strip() or 0,
                    "breakfasts": value(prefix + "breakfasts", "").strip() or 0,
                    "priority_boarding": bool(value(prefix + "priority_boarding")),
                }
        data["cancellation_protection"] = "cancellation_protection" in self.fields and bool(
            value("cancellation_protection")
        )
        return data

    def _vehicle_data(self, index: int, category: str) -> dict:
        value, prefix = self.data.get, f"vehicles-{index}-"
        data = {"category": category, "registration": value(prefix + "registration"), "load": value(prefix + "load")}
        for name in ("length_cm", "height_cm"):
            if value(prefix + name, "").strip():  # left empty: the category's typical size
                data[name] = value(prefix + name).strip()
        return data

    def add_request_errors(self, error: ValidationError) -> None:
        for path, messages in error.message_dict.items():
            name = input_name(path)
            if name in self.fields:
                self.add_error(name, messages)
            elif path in TOPICS:
                self.add_error(None, [f"{TOPICS[path]}: {message}" for message in messages])
            else:
                self.add_error(None, messages)


class ManageBookingForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocapitalize": "characters",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "K7QX2M",
            },
        ),
    )
    email = forms.CharField(
        label=_("E-mail used for the booking"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_reference(self) -> str:
        # Read aloud or copied from an e-mail, a reference may come with spaces in it, in either case.
        return "".join(self.cleaned_data["reference"].split()).upper()
