"""The website's form for changing a booking: the booking as it stands, every part editable.

Like the booking form it holds no rule: `clean()` compares what was sent with the booking and gathers what differs
into the change body the API takes too (`bookings.change_requests`), which checks it; its errors, keyed by dotted
paths, come back next to the inputs of the same name.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries import countries

from bookings.change_requests import PREFIX, booked_legs, booked_passengers, booked_vehicles
from bookings.forms import TOPICS, input_name
from bookings.models import Booking
from bookings.orders import booking_party, leg_order
from bookings.requests import MAX_PETS, VehicleDetails
from ferries.choices import MAX_VEHICLES, Accommodation, Assistance, PassengerType, VehicleCategory, VehicleLoad

PASSENGER_LABELS = {
    "type": _("Passenger type"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "date_of_birth": _("Date of birth"),
    "nationality": _("Nationality"),
    "document_number": _("Passport or ID number"),
    "assistance": _("Assistance needed"),
}
VEHICLE_FIELDS = ("category", "registration", "length_cm", "height_cm", "load")
VEHICLE_LABELS = {"category": _("Vehicle"), "registration": _("Registration"), "length_cm": _("Length (cm)"),
                  "height_cm": _("Height (cm)"), "load": _("On the roof or at the back")}  # fmt: skip
EXTRA_FIELDS = ("dinners", "breakfasts")


def _field(label, widget=None, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=widget or forms.TextInput(), **kwargs)


class ChangeForm(forms.Form):
    accommodation = _field(_("Accommodation"), forms.Select(choices=Accommodation.choices))
    pets = _field(
        _("Pets"),
        forms.Select(choices=[(0, pgettext_lazy("pets", "None"))] + [(n, str(n)) for n in range(1, MAX_PETS + 1)]),
    )
    dogs = _field(_("Of them, dogs"), forms.Select(choices=[(n, str(n)) for n in range(MAX_PETS + 1)]))
    cats = _field(_("Of them, cats"), forms.Select(choices=[(n, str(n)) for n in range(MAX_PETS + 1)]))

    def __init__(self, data=None, *, booking: Booking, rows: dict[str, list[dict]]):
        """`rows`: the search rows (sailings between the leg's ports on the chosen day) offered for each leg."""
        self.booking = booking
        self.legs = booked_legs(booking)
        self.passengers = booked_passengers(booking)
        self.vehicles = booked_vehicles(booking)
        party = booking_party(booking)
        self.extras = {PREFIX[d]: leg_order(leg, party).extras for d, leg in self.legs.items()}
        initial = {"accommodation": booking.accommodation, "pets": booking.pets, "dogs": booking.dogs,
                   "cats": booking.cats}  # fmt: skip
        super().__init__(data, initial=initial)
        for direction, leg in self.legs.items():
            prefix = PREFIX[direction]
            current = f"{leg.sailing_id}:{leg.fare_family}"
            choices = [(current, _("Keep this sailing and fare"))] + [
                (f"{row['sailing_id']}:{fare['fare_family']['code']}", fare["fare_family"]["name"])
                for row in rows.get(prefix, [])
                for fare in row["fares"]
            ]
            self.fields[f"{prefix}_choice"] = forms.ChoiceField(
                label=TOPICS[f"{prefix}_sailing_id"], choices=choices, initial=current, widget=forms.RadioSelect
            )
            extras = self.extras[prefix]
            self.fields[f"{prefix}_extras-dinners"] = _field(_("Dinners"), initial=extras.dinners)
            self.fields[f"{prefix}_extras-breakfasts"] = _field(_("Breakfasts"), initial=extras.breakfasts)
            self.fields[f"{prefix}_extras-priority_boarding"] = forms.BooleanField(
                label=_("Priority boarding"), required=False, initial=extras.priority_boarding
            )
        for index, passenger in enumerate([*map(vars, self.passengers), None]):
            self._passenger_fields(index, passenger)
        # A row per vehicle booked (no category: removed), and an empty row to add one, up to the most a party takes.
        for index, vehicle in enumerate([*self.vehicles, None][:MAX_VEHICLES]):
            self._vehicle_fields(index, vehicle)

    def _vehicle_fields(self, index: int, vehicle: VehicleDetails | None) -> None:
        widgets = {
            "category": forms.Select(choices=[("", _("No vehicle")), *list(VehicleCategory.choices)]),
            "load": forms.Select(choices=VehicleLoad.choices),
        }
        for name in VEHICLE_FIELDS:
            value = getattr(vehicle, name, "") if vehicle else ""
            self.fields[f"vehicles-{index}-{name}"] = _field(VEHICLE_LABELS[name], widgets.get(name), initial=value)

    def _passenger_fields(self, index: int, passenger: dict | None) -> None:
        """A row per passenger booked, with a box to remove them, and an empty row to add one."""
        for name, label in PASSENGER_LABELS.items():
            value = (passenger or {}).get(name, "")
            if name == "type":
                choices = ([] if passenger else [("", _("Nobody else"))]) + list(PassengerType.choices)
                widget = forms.Select(choices=choices)
            elif name == "nationality":
                widget = forms.Select(choices=[("", "—"), *list(countries)])
            elif name == "assistance":
                widget = forms.Select(choices=Assistance.choices)
            elif name == "date_of_birth":
                widget = forms.DateInput(attrs={"type": "date"})
                value = value.isoformat() if value else ""
            else:
                widget = None
            self.fields[f"passengers-{index}-{name}"] = _field(label, widget, initial=value)
        if passenger:
            self.fields[f"passengers-{index}-remove"] = forms.BooleanField(
                label=_("Remove this passenger"), required=False
            )

    # --- what the template lays out ---------------------------------------------------------------------------

    def leg_fields(self, prefix: str) -> dict:
        return {
            "choice": self[f"{prefix}_choice"],
            "extras": [self[f"{prefix}_extras-{name}"] for name in (*EXTRA_FIELDS, "priority_boarding")],
        }

    def passenger_rows(self) -> list[list]:
        rows = []
        for index in range(len(self.passengers) + 1):
            names = [*PASSENGER_LABELS, *(["remove"] if index < len(self.passengers) else [])]
            rows.append([self[f"passengers-{index}-{name}"] for name in names])
        return rows

    def vehicle_rows(self) -> list[list]:
        rows = min(len(self.vehicles) + 1, MAX_VEHICLES)
        return [[self[f"vehicles-{index}-{name}"] for name in VEHICLE_FIELDS] for index in range(rows)]

    # --- the change body ----------------------------------------------------------------------------------------

    def clean(self):
        data, body = self.cleaned_data, {}
        self.rows_sent: list[int] = []  # the passenger row of each passenger in the body
        for direction, leg in self.legs.items():
            prefix = PREFIX[direction]
            sailing_id, _sep, family = (data.get(f"{prefix}_choice") or "").partition(":")
            if sailing_id and int(sailing_id) != leg.sailing_id:
                body[f"{prefix}_sailing_id"] = int(sailing_id)
            if family and family != leg.fare_family:
                body[f"{prefix}_fare_family"] = family
            extras = {name: data.get(f"{prefix}_extras-{name}") or "0" for name in EXTRA_FIELDS}
            booked = self.extras[prefix]
            wanted = {**extras, "priority_boarding": bool(data.get(f"{prefix}_extras-priority_boarding"))}
            if wanted != {"dinners": str(booked.dinners), "breakfasts": str(booked.breakfasts),
                          "priority_boarding": booked.priority_boarding}:  # fmt: skip
                body[f"{prefix}_extras"] = {**wanted, **{k: _whole(v) for k, v in extras.items()}}
        for name in ("accommodation", "pets"):
            if str(data.get(name) or "") != str(getattr(self.booking, name)):
                body[name] = _whole(data[name]) if name == "pets" else data[name]
        for name in ("dogs", "cats"):  # left out: none
            if str(data.get(name) or "0") != str(getattr(self.booking, name)):
                body[name] = _whole(data[name])
        passengers = self._passengers_sent()
        if passengers != [_plain(vars(p)) for p in self.passengers]:
            body["passengers"] = passengers
        vehicles = self._vehicles_sent()
        if vehicles != [_plain(vars(v)) for v in self.vehicles]:
            body["vehicles"] = vehicles
        self.body = body
        return data

    def _passengers_sent(self) -> list[dict]:
        passengers = []
        for index in range(len(self.passengers) + 1):
            values = {
                name: (self.cleaned_data.get(f"passengers-{index}-{name}") or "").strip() for name in PASSENGER_LABELS
            }
            if self.cleaned_data.get(f"passengers-{index}-remove") or not values["type"]:
                continue
            passengers.append(values)
            self.rows_sent.append(index)
        return passengers

    def _vehicles_sent(self) -> list[dict]:
        self.vehicle_rows_sent: list[int] = []  # the vehicle row of each vehicle in the body
        vehicles = []
        for index in range(min(len(self.vehicles) + 1, MAX_VEHICLES)):
            values = {
                name: (self.cleaned_data.get(f"vehicles-{index}-{name}") or "").strip() for name in VEHICLE_FIELDS
            }
            if not values["category"]:
                continue
            sizes = {name: _whole(values[name]) for name in ("length_cm", "height_cm") if values[name]}
            vehicles.append({**values, **sizes})
            self.vehicle_rows_sent.append(index)
        return vehicles

    def add_change_errors(self, error: ValidationError) -> None:
        """The change body's errors, next to the inputs they are about; the others above the form."""
        for path, messages in error.message_dict.items():
            parts = path.split(".")
            if (
                parts[0] == "passengers"
                and len(parts) == 3
                and parts[1].isdigit()
                and int(parts[1]) < len(self.rows_sent)
            ):
                parts[1] = str(self.rows_sent[int(parts[1])])
            elif (
                parts[0] == "vehicles"
                and len(parts) == 3
                and parts[1].isdigit()
                and int(parts[1]) < len(self.vehicle_rows_sent)
            ):
                parts[1] = str(self.vehicle_rows_sent[int(parts[1])])
            name = input_name(".".join(parts))
            for message in messages:
                if name in self.fields:
                    self.add_error(name, message)
                else:
                    topic = TOPICS.get(path.split(".")[0])
                    self.add_error(None, f"{topic}: {message}" if topic else message)


def _plain(values: dict) -> dict:
    """A booked passenger or vehicle as the form sends it: text, dates as YYYY-MM-DD."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in values.items()}


def _whole(value: str):
    """A number as typed, as a number when it is one (the parser says what is wrong with the rest)."""
    return int(value) if str(value).strip().isdigit() else value
