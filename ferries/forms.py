"""The website's search form: widgets, and the traveller's values shown again.

It holds no rule of its own. Every field is plain text and `clean()` hands the raw values to
`parse_search_query`, the one place that checks a search for the website and the API alike; its
errors come back next to the fields they name. Attributes such as `min` and `max` are hints for the
browser only.
"""

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ferries.choices import MAX_PASSENGERS, MAX_PETS, Accommodation, PassengerType, VehicleCategory, VehicleLoad
from ferries.models import Port
from ferries.queries import LIST_PARAMETERS, LegQuery, SearchQuery, parse_search_query
from ferries.selectors import port_list

RETURN, ONE_WAY, SEVERAL_LEGS = "return", "one_way", "legs"
TRIP_CHOICES = [
    (RETURN, pgettext_lazy("a trip there and back", "Return")),
    (ONE_WAY, _("One way")),
    (SEVERAL_LEGS, _("Several legs")),
]
# The legs of a trip of several legs after the first (the form's from, to and date): leg_2_from, leg_2_to, …
ONWARD_NUMBERS = (2, 3, 4)
# Their titles (as bookings.models.BookingLeg.Direction names those legs).
LEG_TITLES = {"leg_2": _("Second leg"), "leg_3": _("Third leg"), "leg_4": _("Fourth leg")}


def _raw_field(label, widget: forms.Widget, **options) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=widget, **options)


def _count_field(label, **options) -> forms.CharField:
    attrs = {"min": 0, "max": MAX_PASSENGERS, "inputmode": "numeric"}
    return _raw_field(label, forms.NumberInput(attrs=attrs), **options)


def _centimetres_field(label) -> forms.CharField:
    attrs = {"min": 0, "step": 1, "inputmode": "numeric", "placeholder": _("Typical")}
    return _raw_field(label, forms.NumberInput(attrs=attrs))


def port_choices(ports: list[Port]) -> list:
    """An empty choice, then the ports grouped by country, countries in the order of their names."""
    by_country: dict[str, list[tuple[str, str]]] = {}
    for port in ports:
        by_country.setdefault(str(port.country.name), []).append((port.code, port.name))
    groups = [(country, sorted(options, key=lambda option: option[1])) for country, options in by_country.items()]
    return [("", _("Choose a port")), *sorted(groups)]


def query_params(data: Mapping[str, str]) -> dict[str, str]:
    """The raw values as `parse_search_query` should read them: a one-way trip leaves out any return date; a
    list sent as the parameter repeated (the filters' checkboxes) is read as its values comma-separated."""
    params = dict(data.items())
    if hasattr(data, "getlist"):
        params |= {name: ",".join(data.getlist(name)) for name in LIST_PARAMETERS if name in data}
    if params.get("trip") in (ONE_WAY, SEVERAL_LEGS):
        for name in ("return_date", "return_from", "return_to", "return_accommodation"):
            params.pop(name, None)
    return params


class SearchForm(forms.Form):
    trip = _raw_field(_("Trip"), forms.RadioSelect(choices=TRIP_CHOICES), initial=RETURN)
    date = _raw_field(_("Departure date"), forms.DateInput(attrs={"type": "date", "required": True}))
    return_date = _raw_field(_("Return date"), forms.DateInput(attrs={"type": "date"}))
    adults = _count_field(PassengerType.ADULT.label, initial=1)
    children = _count_field(PassengerType.CHILD.label, initial=0)
    infants = _count_field(PassengerType.INFANT.label, initial=0)
    seniors = _count_field(PassengerType.SENIOR.label, initial=0)
    vehicle = _raw_field(_("Vehicle"), forms.Select(choices=[("", _("No vehicle")), *VehicleCategory.choices]))
    vehicle_length_cm = _centimetres_field(_("Length (cm)"))
    vehicle_height_cm = _centimetres_field(_("Height (cm)"))
    vehicle_load = _raw_field(_("On the roof or at the back"), forms.Select(choices=VehicleLoad.choices))
    # A second vehicle (a trailer, a motorbike, bicycles), without JavaScript: the API takes up to MAX_VEHICLES.
    vehicle2 = _raw_field(_("Second vehicle"), forms.Select(choices=[("", _("No vehicle")), *VehicleCategory.choices]))
    vehicle2_length_cm = _centimetres_field(_("Length (cm)"))
    vehicle2_height_cm = _centimetres_field(_("Height (cm)"))
    vehicle2_load = _raw_field(_("On the roof or at the back"), forms.Select(choices=VehicleLoad.choices))
    accommodation = _raw_field(_("On board"), forms.Select(choices=Accommodation.choices), initial=Accommodation.DECK)
    pets = _raw_field(
        _("Pets"),
        forms.Select(choices=[(0, pgettext_lazy("pets", "None"))] + [(n, str(n)) for n in range(1, MAX_PETS + 1)]),
        initial=0,
    )
    dogs = _raw_field(_("Of them, dogs"), forms.Select(choices=[(n, str(n)) for n in range(MAX_PETS + 1)]), initial=0)
    cats = _raw_field(_("Of them, cats"), forms.Select(choices=[(n, str(n)) for n in range(MAX_PETS + 1)]), initial=0)

    field_order = ["trip", "from", "to", "date", "return_date"]

    def __init__(self, data=None, **kwargs):
        if data is not None and "trip" not in data:
            # A link or an API-style URL without the toggle: show the trip its dates describe.
            data = data.copy()
            data["trip"] = RETURN if data.get("return_date") else ONE_WAY
        super().__init__(data, **kwargs)
        ports = list(port_list())
        self.port_names = {port.code: port.name for port in ports}
        choices = port_choices(ports)
        # `from` and `to` are the public parameter names (as in the API), not valid Python names.
        self.fields["from"] = _raw_field(_("From"), forms.Select(choices=choices, attrs={"required": True}))
        self.fields["to"] = _raw_field(_("To"), forms.Select(choices=choices, attrs={"required": True}))
        # An open-jaw return (ferries.returns): left empty, it sails straight back.
        same = [("", _("Where the outbound arrives")), *choices[1:]]
        self.fields["return_from"] = _raw_field(_("Return from"), forms.Select(choices=same))
        same = [("", _("Where the outbound leaves")), *choices[1:]]
        self.fields["return_to"] = _raw_field(_("Return to"), forms.Select(choices=same))
        for number in ONWARD_NUMBERS:
            same = [("", _("Where the leg before arrives")), *choices[1:]]
            # Named with the leg: each label says which leg it is about, read alone as by a screen reader.
            leg = {"n": number}
            self.fields[f"leg_{number}_from"] = _raw_field(_("Leg %(n)d from") % leg, forms.Select(choices=same))
            self.fields[f"leg_{number}_to"] = _raw_field(_("Leg %(n)d to") % leg, forms.Select(choices=choices))
            self.fields[f"leg_{number}_date"] = _raw_field(
                _("Leg %(n)d date") % leg, forms.DateInput(attrs={"type": "date"})
            )
        self.order_fields(self.field_order)
        today = timezone.now().date().isoformat()
        for name in ("date", "return_date", *(f"leg_{number}_date" for number in ONWARD_NUMBERS)):
            self.fields[name].widget.attrs["min"] = today
        self.query: SearchQuery | None = None
        self.onward: list[LegQuery] = []  # a trip of several legs: its legs after the first

    def clean(self):
        try:
            self.query = parse_search_query(query_params(self.data))
        except ValidationError as error:
            self.add_query_errors(error)
        if self.query and self.data.get("trip") == SEVERAL_LEGS:
            self.onward = self._onward_legs()
        return self.cleaned_data

    @property
    def onward_rows(self) -> list[tuple[str, list]]:
        """The legs after the first, each its title and its fields, for the template."""
        return [(LEG_TITLES[f"leg_{n}"], [self[f"leg_{n}_{name}"] for name in ("from", "to", "date")])
                for n in ONWARD_NUMBERS]  # fmt: skip

    def _onward_legs(self) -> list[LegQuery]:
        """Each leg after the first, read as a one-way search of its own with the same party; a leg leaves from
        where the one before arrives unless it names another port, on the day of the one before or later."""
        legs, previous = [], self.query.outbound
        for number in ONWARD_NUMBERS:
            names = {"from": f"leg_{number}_from", "to": f"leg_{number}_to", "date": f"leg_{number}_date"}
            given = {key: (self.data.get(name) or "").strip() for key, name in names.items()}
            if not given["to"] and not given["date"]:
                break  # the trip ends with the leg before
            params = query_params(self.data) | {"from": given["from"] or previous.destination, **{
                key: given[key] for key in ("to", "date")
            }}  # fmt: skip
            if accommodation := (self.data.get(f"leg_{number}_accommodation") or "").strip():
                params["accommodation"] = accommodation  # the leg's own, chosen on the results page
            try:
                leg = parse_search_query(params).outbound
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    self.add_error(names.get(name) if name in names else None, messages)
                break
            if leg.day < previous.day:
                self.add_error(names["date"], _("This leg cannot sail before the leg before it."))
                break
            legs.append(leg)
            previous = leg
        if not legs and not self.errors:
            self.add_error("leg_2_to", _("Choose where the second leg goes, and when."))
        return legs

    def add_query_errors(self, error: ValidationError) -> None:
        """Errors keyed by public parameter name, next to their fields; the others (the party size) on the form."""
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)
