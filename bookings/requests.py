"""A booking request, declared once for the website, the API and its OpenAPI schema.

`BookingRequestSerializer` reads plain JSON-like data (the API body, or what the website's form collected)
into a `BookingRequest` with the sailings loaded; `parse_booking_request(data)` is it, raising a ValidationError
whose keys name the field: `outbound_sailing_id`, `passengers.0.last_name`, `vehicles.1.height_cm`, `contact.email`…
Everything is checked and reported at once; nothing is written. drf-spectacular describes the body from the same
fields (their DRF types give the schema; each reads its value as `read` says).
"""

import datetime as dt
import functools
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty

from bookings.request_fields import (
    NOT_CONTROL,
    VISIBLE,
    AssistanceField,
    BirthDateField,
    ContactNameField,
    CountField,
    DocumentField,
    EmailField,
    FareFamilyField,
    FlagField,
    LegAccommodationField,
    NameField,
    NationalityField,
    PhoneField,
    PromoCodeField,
    RegistrationField,
    SailingIdField,
    SizeField,
    TextLineField,
    VatNumberField,
    WordField,
    whole_number,
)
from ferries.choices import (
    COUNTRY_CODES,
    GROWN_UPS,
    MAX_PASSENGERS,
    MAX_PETS,
    MAX_VEHICLES,
    MIN_HEIGHT_CM,
    VEHICLE_LIMITS,
    Accommodation,
    Assistance,
    PassengerType,
    VehicleCategory,
    VehicleLoad,
)
from ferries.models import Sailing
from ferries.party import NO_EXTRAS, Extras, Party, Vehicle, party_problem, pet_problem
from ferries.pricing import DEFAULT_FAMILY
from ferries.returns import Crossing, onward_problem, return_problem
from kernel.api import InputSerializer, add_error, validation_error

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
    assistance: str = ""


@dataclass(frozen=True)
class VehicleDetails:
    category: str
    registration: str
    length_cm: int
    height_cm: int
    load: str = ""

    @property
    def vehicle(self) -> Vehicle:
        return Vehicle(self.category, self.length_cm, self.height_cm, self.load)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class Billing:
    name: str
    address: str
    company: str = ""
    vat_number: str = ""


# The legs of a trip of several legs (island hopping) after its outbound, in the order they sail.
ONWARD_LEGS = ("leg_2", "leg_3", "leg_4")
LEG_NAMES = ("outbound", "return", *ONWARD_LEGS)


@dataclass(frozen=True)
class LegChoice:
    """One leg as asked: its sailing, fare family and extras; `direction` is the leg's (outbound, return, leg_2…)."""

    direction: str
    sailing: Sailing
    fare_family: str = DEFAULT_FAMILY
    extras: Extras = NO_EXTRAS


@dataclass(frozen=True)
class BookingRequest:
    outbound: Sailing
    inbound: Sailing | None
    passengers: tuple[PassengerDetails, ...]
    vehicles: tuple[VehicleDetails, ...]
    accommodation: str
    pets: int
    contact: Contact
    outbound_fare_family: str = DEFAULT_FAMILY
    return_fare_family: str = DEFAULT_FAMILY
    outbound_extras: Extras = NO_EXTRAS
    return_extras: Extras = NO_EXTRAS
    cancellation_protection: bool = False
    billing: Billing | None = None
    promo_code: str = ""
    onward: tuple[LegChoice, ...] = ()  # the second to fourth legs of a trip of several legs; never with `inbound`
    # The accommodation chosen for some legs, by direction, when not the booking's `accommodation`.
    leg_accommodations: tuple[tuple[str, str], ...] = ()
    vehicles_field: str = "vehicles"  # as the request spelled them: `vehicles`, or an older client's one `vehicle`
    dogs: int = 0  # of the pets
    cats: int = 0

    def accommodation_of(self, direction: str) -> str:
        return dict(self.leg_accommodations).get(direction) or self.accommodation

    def leg_party(self, direction: str) -> Party:
        """The party as the leg carries it: in the accommodation chosen for it."""
        return replace(self.party, accommodation=self.accommodation_of(direction))

    @property
    def legs(self) -> list[LegChoice]:
        """Every leg, in the order they sail."""
        legs = [LegChoice("outbound", self.outbound, self.outbound_fare_family, self.outbound_extras)]
        if self.inbound:
            legs.append(LegChoice("return", self.inbound, self.return_fare_family, self.return_extras))
        return legs + list(self.onward)

    def leg(self, direction: str) -> LegChoice | None:
        return next((leg for leg in self.legs if leg.direction == direction), None)

    def vehicle_field(self, index: int) -> str:
        """The request's name for one of its vehicles: `vehicles.1`, or `vehicle` for an older client's one."""
        return "vehicle" if self.vehicles_field == "vehicle" else f"vehicles.{index}"

    def extras(self, direction: str) -> Extras:
        """What the party adds to the leg (outbound, return, leg_2…), with the booking's cancellation protection."""
        leg = self.leg(direction)
        return replace(leg.extras if leg else NO_EXTRAS, protection=self.cancellation_protection)

    def fare_family(self, direction: str) -> str:
        leg = self.leg(direction)
        return leg.fare_family if leg else DEFAULT_FAMILY

    @property
    def sailings(self) -> list[Sailing]:
        return [leg.sailing for leg in self.legs]

    @property
    def party(self) -> Party:
        counts = {kind: sum(1 for p in self.passengers if p.type == kind) for kind in PassengerType.values}
        return Party(
            adults=counts[PassengerType.ADULT],
            children=counts[PassengerType.CHILD],
            infants=counts[PassengerType.INFANT],
            seniors=counts[PassengerType.SENIOR],
            vehicles=tuple(v.vehicle for v in self.vehicles),
            accommodation=self.accommodation,
            pets=self.pets,
            dogs=self.dogs,
            cats=self.cats,
        )


# --- the request's parts ------------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="PassengerRequest")
class PassengerSerializer(InputSerializer):
    default_error_messages = {"invalid": gettext_lazy("Each passenger is an object.")}

    type = WordField(
        choices=PassengerType.choices,
        help_text="By age on the day of the outbound departure: infant 0–3, child 4–11, adult 12–64, senior 65+.",
    )
    first_name = NameField(
        help_text="As on the travel document: letters of any alphabet, spaces, hyphens, apostrophes and dots.",
    )
    last_name = NameField(help_text="As on the travel document.")
    date_of_birth = BirthDateField(help_text="YYYY-MM-DD; must match the passenger type.")
    nationality = NationalityField(choices=COUNTRY_CODES, help_text="ISO 3166-1 alpha-2, in capitals, e.g. TN.")
    document_number = DocumentField(
        r"^[A-Za-z0-9]{4,20}$",
        min_length=4,
        max_length=20,
        help_text="Passport or identity card number: 4 to 20 letters and digits.",
    )
    assistance = AssistanceField(
        choices=Assistance.choices,
        help_text="Help the passenger needs on board and at the quay, passed to the operator with the passenger list: "
        "wheelchair, reduced_mobility, visual, hearing; empty or left out for none. An accessible cabin is an "
        "`accommodation` of its own (accessible_2).",
    )

    def check(self, values: dict, errors: dict) -> PassengerDetails | None:
        travel_day = self.context.get("travel_day")
        kind, born = values.get("type"), values.get("date_of_birth")
        if travel_day and kind and born and (problem := _age_problem(kind, born, travel_day)):
            add_error(errors, "date_of_birth", problem)
        return None if errors else PassengerDetails(**values)


def _age_problem(kind: str, born: dt.date, travel_day: dt.date) -> str:
    if born > travel_day:
        return _("The date of birth is after the day of travel.")
    age = travel_day.year - born.year - ((travel_day.month, travel_day.day) < (born.month, born.day))
    low, high = AGES[kind]
    if not low <= age <= high:
        return _(
            "A passenger of this type is %(low)d to %(high)d years old on the day of travel; this one is %(age)d."
        ) % {"low": low, "high": high, "age": age}
    return ""


class PassengersField(serializers.ListField):
    """Who travels: each passenger checked against the day of travel (the outbound's, when it is known)."""

    def __init__(self, **kwargs):
        super().__init__(child=PassengerSerializer(), min_length=1, max_length=MAX_PASSENGERS, **kwargs)

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)

    def read(self, value, *, travel_day: dt.date | None) -> list[PassengerDetails]:
        if not isinstance(value, list) or not value:
            raise ValidationError(_("Add at least one passenger."))
        if len(value) > MAX_PASSENGERS:
            raise ValidationError(_("At most %(max)d passengers per booking.") % {"max": MAX_PASSENGERS})
        reader = _passenger_reader(travel_day)
        passengers, errors = [], {}
        for index, item in enumerate(value):
            try:
                passengers.append(reader.run_validation(item))
            except ValidationError as error:
                errors[index] = error.detail
        if errors:
            raise ValidationError(errors)
        grown_ups = sum(1 for p in passengers if p.type in GROWN_UPS)
        infants = sum(1 for p in passengers if p.type == PassengerType.INFANT)
        if problem := party_problem(grown_ups=grown_ups, infants=infants):
            raise ValidationError(problem)
        return passengers


@functools.lru_cache(maxsize=512)  # a day of travel each: a year of days, and None
def _passenger_reader(travel_day: dt.date | None) -> "PassengerSerializer":
    """The passengers' reader for a day of travel, built once (an input declaration holds no state of a request)."""
    return PassengerSerializer(context={"travel_day": travel_day})


@extend_schema_serializer(component_name="VehicleRequest")
class VehicleSerializer(InputSerializer):
    default_error_messages = {"invalid": gettext_lazy("The vehicle is an object, or null for none.")}

    category = WordField(choices=VehicleCategory.choices)
    registration = RegistrationField(
        r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,14}[A-Za-z0-9]$",
        max_length=16,
        help_text="As on the number plate: letters, digits, spaces and hyphens.",
    )
    length_cm = SizeField(
        required=False,
        min_value=min(v.min_length_cm for v in VEHICLE_LIMITS.values()),
        max_value=max(v.max_length_cm for v in VEHICLE_LIMITS.values()),
        help_text="Defaults to a typical length for the category; each category has its limits.",
    )
    height_cm = SizeField(
        required=False,
        min_value=MIN_HEIGHT_CM,
        max_value=max(v.max_height_cm for v in VEHICLE_LIMITS.values()),
        help_text="Defaults to a typical height for the category, without what is on its roof. A vehicle taller "
        "(with its load) than the vessel takes is refused on this field.",
    )
    load = AssistanceField(
        choices=VehicleLoad.choices,
        help_text="What it carries outside its body: roof_box (+50 cm high), roof_bikes (+100 cm high), rear_rack "
        "(+80 cm long, in the lanes and the price band); empty or left out for nothing.",
    )

    def run_validation(self, data=empty):
        if data is empty or data is None or data == {}:
            return None
        return self.to_internal_value(data)

    def check(self, values: dict, errors: dict) -> VehicleDetails | None:
        if category := values.get("category"):  # without one, the size has no limits to be read against
            sizes = VEHICLE_LIMITS[category].sizes()
            for name, (typical, minimum, maximum) in sizes.items():
                try:
                    size = typical if values[name] is empty else values[name]
                    values[name] = whole_number(size, minimum=minimum, maximum=maximum)
                except ValidationError as error:
                    errors[name] = error.detail
        return None if errors else VehicleDetails(**values)


class VehiclesField(serializers.ListField):
    """The party's vehicles (a car and its trailer, motorbikes, bicycles), each checked as `vehicle` is."""

    def __init__(self, **kwargs):
        super().__init__(child=VehicleSerializer(), max_length=MAX_VEHICLES, required=False, **kwargs)

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)

    def run_validation(self, data=empty):
        if data is empty or data is None:
            return ()
        if not isinstance(data, list):
            raise ValidationError(_("A list of vehicles, or null for none."))
        if len(data) > MAX_VEHICLES:
            raise ValidationError(_("At most %(max)d vehicles per booking.") % {"max": MAX_VEHICLES})
        vehicles, errors = [], {}
        for index, item in enumerate(data):
            try:
                vehicle = self.child.run_validation(item)
            except ValidationError as error:
                errors[index] = error.detail
                continue
            if vehicle is None:
                errors[index] = [_("Each vehicle is an object.")]
            vehicles.append(vehicle)
        if errors:
            raise ValidationError(errors)
        return tuple(vehicles)


@extend_schema_serializer(component_name="ContactRequest")
class ContactSerializer(InputSerializer):
    default_error_messages = {"invalid": gettext_lazy("Give a contact name, e-mail and phone.")}

    name = ContactNameField(f"^{NOT_CONTROL}*{VISIBLE}{NOT_CONTROL}*$", max_length=150)
    email = EmailField(max_length=254, help_text="Where the confirmation and the e-ticket are sent.")
    phone = PhoneField(
        # Digits and ( ) . - after the first digit, a space only between two of them: 6 to 23 characters in all.
        r"^\+?[0-9](?:[0-9().\-]| [0-9().\-]){5,}$",
        max_length=23,
        help_text="With its country code, e.g. +216 71 000 000.",
    )

    def check(self, values: dict, errors: dict) -> Contact | None:
        return None if errors else Contact(**values)


@extend_schema_serializer(component_name="BillingRequest")
class BillingSerializer(InputSerializer):
    default_error_messages = {"invalid": gettext_lazy("The billing details are an object, or null for none.")}

    name = TextLineField(f"^{NOT_CONTROL}*{VISIBLE}{NOT_CONTROL}*$", max_length=150,
                         help_text="Who the invoices are made out to.")  # fmt: skip
    address = TextLineField(f"^{NOT_CONTROL}*{VISIBLE}{NOT_CONTROL}*$", max_length=300,
                            help_text="Street, postal code, city and country, on one line.")  # fmt: skip
    company = TextLineField(f"^{NOT_CONTROL}*{VISIBLE}{NOT_CONTROL}*$", max_length=150, required=False,
                            help_text="A company's name, for a business trip.")  # fmt: skip
    vat_number = VatNumberField(r"^[A-Za-z]{2}[A-Za-z0-9]{2,13}$", max_length=15, required=False,
                                help_text="The company's VAT number, with its country prefix.")  # fmt: skip

    def run_validation(self, data=empty):
        if data is empty or data is None or data == {}:
            return None
        return self.to_internal_value(data)

    def read_field(self, field, data, values):
        if not field.required and data.get(field.field_name) in (None, ""):
            return ""
        return super().read_field(field, data, values)

    def check(self, values: dict, errors: dict) -> Billing | None:
        return None if errors else Billing(**values)


@extend_schema_serializer(component_name="ExtrasRequest")
class ExtrasSerializer(InputSerializer):
    default_error_messages = {"invalid": gettext_lazy("The extras are an object, or null for none.")}

    dinners = CountField(min_value=0, max_value=MAX_PASSENGERS, default=0, help_text="How many of the party dine.")
    breakfasts = CountField(
        min_value=0, max_value=MAX_PASSENGERS, default=0, help_text="How many of the party take breakfast."
    )
    priority_boarding = FlagField(help_text="The party boards first; a few parties per sailing.")

    def run_validation(self, data=empty):
        if data is empty or data is None:
            return NO_EXTRAS
        return self.to_internal_value(data)

    def check(self, values: dict, errors: dict) -> Extras | None:
        return None if errors else Extras(**values)


# --- the request --------------------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="BookingRequest")
class BookingRequestSerializer(InputSerializer):
    outbound_sailing_id = SailingIdField(
        help_text="`sailing_id` of a search result. Sales close shortly before departure."
    )
    return_sailing_id = SailingIdField(
        required=False,
        allow_null=True,
        help_text="For a return journey: a sailing leaving after the outbound arrives, back from where it arrives to "
        "where it left — or an open-jaw return, from or to another port (out Marseille → Tunis, back Tunis → Genoa), "
        "never from where the outbound leaves nor to where it arrives. Leave out (or null) for one way.",
    )
    outbound_fare_family = FareFamilyField(
        help_text="`fare_family.code` of one of the outbound sailing's `fares` in the search: its price and rules "
        "for cancelling and changing. Standard when left out.",
    )
    return_fare_family = FareFamilyField(
        help_text="The same for the return sailing; left aside on a one-way booking.",
    )
    leg_2_sailing_id = SailingIdField(
        required=False,
        allow_null=True,
        help_text="A trip of several legs (island hopping: Genoa → Palermo, Palermo → Tunis, …): the second leg's "
        "sailing, leaving after the outbound arrives, from any port. Not with `return_sailing_id`: the way back is "
        "the trip's last leg. All legs are held together, or none.",
    )
    leg_3_sailing_id = SailingIdField(
        required=False, allow_null=True, help_text="The third leg's sailing, leaving after the second arrives."
    )
    leg_4_sailing_id = SailingIdField(
        required=False, allow_null=True, help_text="The fourth leg's sailing, leaving after the third arrives."
    )
    leg_2_fare_family = FareFamilyField(help_text="The second leg's fare family, as `outbound_fare_family`.")
    leg_3_fare_family = FareFamilyField(help_text="The third leg's fare family.")
    leg_4_fare_family = FareFamilyField(help_text="The fourth leg's fare family.")
    passengers = PassengersField(
        help_text="At least one adult or senior; each infant travels on the lap of an adult or a senior.",
    )
    outbound_extras = ExtrasSerializer(
        required=False,
        allow_null=True,
        help_text="Meals and priority boarding on the outbound sailing, among its `extras` in the search; left out "
        "for none.",
    )
    return_extras = ExtrasSerializer(
        required=False, allow_null=True, help_text="The same on the return sailing; left aside on a one-way booking."
    )
    leg_2_extras = ExtrasSerializer(required=False, allow_null=True, help_text="The same on the second leg.")
    leg_3_extras = ExtrasSerializer(required=False, allow_null=True, help_text="The same on the third leg.")
    leg_4_extras = ExtrasSerializer(required=False, allow_null=True, help_text="The same on the fourth leg.")
    cancellation_protection = FlagField(
        help_text="Cancellation protection for the whole booking, priced per passenger on each leg (where every "
        "sailing sells it): cancelling refunds everything but the protection itself until 24 hours before each "
        "departure, whatever the fare.",
    )
    vehicles = VehiclesField(
        help_text=f"Up to {MAX_VEHICLES} vehicles, each taking its length (a rear rack included) and a gap in the "
        "lanes, each priced by its category and length; empty, null or left out for none.",
    )
    vehicle = VehicleSerializer(
        required=False, allow_null=True,
        help_text="One vehicle, as before `vehicles`: read as a list of one. Null or left out for none; not with "
        "`vehicles`.",
    )  # fmt: skip
    accommodation = WordField(
        choices=Accommodation.choices,
        default=Accommodation.DECK,
        help_text="Deck passage, a reserved seat or cabins for the whole party, on every leg (unless a leg's own "
        "`<leg>_accommodation` says otherwise).",
    )
    outbound_accommodation = LegAccommodationField(
        choices=Accommodation.choices,
        help_text="The accommodation on the outbound sailing, when not `accommodation` (one of the sailing's "
        "`accommodations` in the search); empty or left out: `accommodation`.",
    )
    return_accommodation = LegAccommodationField(choices=Accommodation.choices, help_text="The same on the return.")
    leg_2_accommodation = LegAccommodationField(choices=Accommodation.choices, help_text="The same on the second leg.")
    leg_3_accommodation = LegAccommodationField(choices=Accommodation.choices, help_text="The same on the third leg.")
    leg_4_accommodation = LegAccommodationField(choices=Accommodation.choices, help_text="The same on the fourth leg.")
    pets = CountField(
        min_value=0, max_value=MAX_PETS, required=False,
        help_text="Pets in all, each in a kennel on deck or all in a pet-friendly cabin (`accommodation` pet_4), "
        "each priced by its kind: `dogs` and `cats` say how many are dogs and cats, the others are of another kind. "
        "Left out: the dogs and cats.",
    )  # fmt: skip
    dogs = CountField(min_value=0, max_value=MAX_PETS, default=0, help_text="How many of the pets are dogs.")
    cats = CountField(min_value=0, max_value=MAX_PETS, default=0, help_text="How many of the pets are cats.")
    contact = ContactSerializer()
    billing = BillingSerializer(
        required=False, allow_null=True,
        help_text="Who the invoices are made out to, when not the contact (a company, another address); left out "
        "or null: the contact's name.",
    )  # fmt: skip
    promo_code = PromoCodeField(
        help_text="A promo code, in either case; empty, null or left out for none. Applied on the server: each leg it "
        "applies to carries a `promo:<CODE>` price line of a negative amount. Tries are limited per client.",
    )

    def read_field(self, field, data, values):
        if field.field_name == "passengers":
            outbound = values.get("outbound_sailing_id")
            travel_day = outbound.local_day if outbound else None
            return field.read(field.get_value(data), travel_day=travel_day)
        return super().read_field(field, data, values)

    def check(self, values: dict, errors: dict) -> BookingRequest | None:
        outbound, inbound = values.get("outbound_sailing_id"), values.get("return_sailing_id")
        if outbound and inbound:
            crossings = {"outbound": Crossing.of_sailing(outbound), "inbound": Crossing.of_sailing(inbound)}
            if problem := return_problem(**crossings):
                add_error(errors, "return_sailing_id", problem)
        onward = _onward_legs(values, errors)
        party_size = len(values.get("passengers") or [])
        for leg in LEG_NAMES:
            extras = values.get(f"{leg}_extras") or NO_EXTRAS
            for meal in ("dinners", "breakfasts"):
                if party_size and getattr(extras, meal) > party_size:
                    add_error(errors, f"{leg}_extras.{meal}", _("At most one for each passenger (%(n)d).") % {
                        "n": party_size
                    })  # fmt: skip
        vehicles, one = values.get("vehicles") or (), values.get("vehicle")
        vehicles = vehicles or ((one,) if one else ())
        if values.get("vehicles") and one:
            add_error(errors, "vehicle", _("Give the vehicles in `vehicles` only, not also in `vehicle`."))
        pets, dogs, cats = values.get("pets"), values.get("dogs") or 0, values.get("cats") or 0
        if "pets" not in errors and (problem := pet_problem(pets=pets, dogs=dogs, cats=cats)):
            add_error(errors, "pets", problem)
        if errors:
            return None
        return BookingRequest(
            outbound, inbound, tuple(values["passengers"]), vehicles, values["accommodation"],
            dogs + cats if pets is None else pets, values["contact"], values["outbound_fare_family"],
            values["return_fare_family"],
            values.get("outbound_extras") or NO_EXTRAS, values.get("return_extras") or NO_EXTRAS,
            values["cancellation_protection"], values.get("billing"), values.get("promo_code") or "", onward,
            tuple((leg, values[f"{leg}_accommodation"]) for leg in LEG_NAMES if values.get(f"{leg}_accommodation")),
            "vehicle" if one else "vehicles", dogs, cats,
        )  # fmt: skip


def _onward_legs(values: dict, errors: dict) -> tuple[LegChoice, ...]:
    """The second to fourth legs of a trip of several legs, each checked against the leg before it."""
    legs, previous, previous_field = [], values.get("outbound_sailing_id"), "outbound_sailing_id"
    for direction in ONWARD_LEGS:
        field, sailing = f"{direction}_sailing_id", values.get(f"{direction}_sailing_id")
        if sailing is None:
            previous, previous_field = None, field  # a later leg without this one is refused below
            continue
        if values.get("return_sailing_id"):
            add_error(errors, field, _("A trip of several legs has no return: make the way back its last leg."))
        elif previous is None:
            if previous_field not in errors:  # that one's own error says enough
                add_error(errors, field, _("Choose the leg before this one first."))
        elif sailing in [values.get("outbound_sailing_id"), *(leg.sailing for leg in legs)]:
            add_error(errors, field, _("This sailing is already a leg of the trip."))
        elif problem := onward_problem(previous=Crossing.of_sailing(previous), following=Crossing.of_sailing(sailing)):
            add_error(errors, field, problem)
        family, extras = values[f"{direction}_fare_family"], values.get(f"{direction}_extras") or NO_EXTRAS
        legs.append(LegChoice(direction, sailing, family, extras))
        previous, previous_field = sailing, field
    return tuple(legs)


# One for every request: its fields are built once (kernel.api.InputSerializer).
BOOKING_REQUEST = BookingRequestSerializer()


def parse_booking_request(data) -> BookingRequest:
    """The request `data` makes, or a ValidationError naming each field in error by its path."""
    try:
        return BOOKING_REQUEST.run_validation(data)
    except ValidationError as error:
        raise validation_error(error) from None
