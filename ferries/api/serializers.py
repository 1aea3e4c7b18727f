"""Output serializers of the ferry network API.

Ports and routes are serialized through these. The search answer is not: `sailing_search` already
returns the wire shape (from the cache, on the hot path), so its serializers only describe that
shape for the OpenAPI schema and must be kept in step with `ferries.search`.

Top-level answers get schema names for what they hold (Port, Route, Sailing), since client code is
generated from the schema and would otherwise carry our serializers' names.
"""

import functools

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ferries.calendar import DayStatus
from ferries.choices import COUNTRY_CODES, Accommodation, Amenity, Extra
from ferries.search import Reason
from ferries.templatetags.ferries_format import price_line_label

# --- ports and routes -----------------------------------------------------------------------------


@extend_schema_serializer(component_name="Port")
class PortOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="UN/LOCODE, e.g. TNTUN.")
    name = serializers.CharField()
    country = serializers.ChoiceField(choices=COUNTRY_CODES, help_text="ISO 3166-1 alpha-2.")
    country_name = serializers.CharField(source="country.name")
    time_zone = serializers.CharField(help_text="IANA time zone in which the port's times are shown.")


class OperatorRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    logo_url = serializers.CharField(
        allow_null=True, help_text="Its logo (PNG, JPEG or WebP), at a path kept for good; null without one."
    )


class PortRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="Route")
class RouteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    operator = OperatorRefSerializer()

    def get_fields(self):
        # "from" is a Python keyword, so the port fields cannot be declared as class attributes.
        fields = super().get_fields()
        fields["from"] = PortRefSerializer(source="origin")
        fields["to"] = PortRefSerializer(source="destination")
        return fields


# --- sailing search results ------------------------------------------------------------------------

# Availability statuses a search row can carry: the party's fit, or the sailing's own state when not scheduled.
AVAILABILITY_STATUSES = ["available", "limited", "sold_out", "unavailable", "cancelled", "departed", "unknown"]
OPERATOR_STATUSES = ["ok", "timeout", "error"]
ACCOMMODATION_CHOICES = Accommodation.values


class MoneySerializer(serializers.Serializer):
    amount_minor = serializers.IntegerField(help_text="Integer amount in the currency's minor unit (cents, millimes).")
    currency = serializers.CharField(min_length=3, max_length=3, help_text="ISO 4217, e.g. EUR.")


class PriceLineSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text='A passenger type (adult, child, infant, senior), "vehicle:<category>", '
        '"accommodation:<kind>", "pet:<kind>" (dog, cat, other; "pets" on bookings made before), or an extra: '
        '"meal:dinner", "meal:breakfast", "priority_boarding", '
        '"protection"; on a booking, "promo:<CODE>" for a promo code\'s discount (a negative amount).'
    )
    label = serializers.SerializerMethodField(
        help_text="What the line is, in words, in the language of the request (Accept-Language: en or fr), as the "
        "website and the e-mails name it: Adult (12–64), Car, Deck passage…"
    )
    quantity = serializers.IntegerField()
    unit = MoneySerializer()
    total = MoneySerializer()

    def get_label(self, line: dict) -> str:
        return price_line_label(line["code"])


def labelled_price_lines(lines: list[dict]) -> list[dict]:
    """Price lines as the API answers them: each with its `label` in the active language, after its code."""
    language = get_language()
    return [{"code": line["code"], "label": _line_label(line["code"], language), **line} for line in lines]


@functools.lru_cache(maxsize=4096)
def _line_label(code: str, language: str | None) -> str:
    """A line's label in `language` (the active one): a search's answer names a few kinds of lines many times."""
    return price_line_label(code)


class SailingPortSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    time_zone = serializers.CharField()


class AvailabilitySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=AVAILABILITY_STATUSES,
        help_text="Whether the searched party fits: available, limited (few places left), sold_out, unavailable "
        "(this sailing cannot take the vehicle or accommodation), cancelled or departed (the sailing's state), "
        "unknown (the operator did not say).",
    )
    places_left = serializers.IntegerField(allow_null=True, help_text="Passenger places left; null when unknown.")


class FareFamilyRefSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="What a booking names as `outbound_fare_family` or `return_fare_family`.")
    name = serializers.CharField(help_text="What travellers read, e.g. Flex.")


class CancellationPolicySerializer(serializers.Serializer):
    refund_full_days = serializers.IntegerField(
        allow_null=True,
        help_text="The whole price is refunded when the booking is cancelled at least this many days before "
        "departure; null when never.",
    )
    refund_partial_hours = serializers.IntegerField(help_text="Then a part until this many hours before.")
    refund_partial_percent = serializers.IntegerField(help_text="That part, in percent; nothing after.")


class ChangePolicySerializer(serializers.Serializer):
    allowed = serializers.BooleanField(help_text="Whether the sailing, party or vehicle may be changed at all.")
    until_hours = serializers.IntegerField(help_text="Changes are possible until this many hours before departure.")
    fee_fixed = MoneySerializer(help_text="The fee for each change: this amount…")
    fee_percent = serializers.IntegerField(help_text="…plus this percentage of the leg's price…")
    fee_minimum = MoneySerializer(help_text="…and at least this.")
    max_changes = serializers.IntegerField(help_text="How many times the leg may be changed.")


class FareSerializer(serializers.Serializer):
    fare_family = FareFamilyRefSerializer()
    price = MoneySerializer(help_text="Total for the whole party on this sailing, in this fare family.")
    price_lines = PriceLineSerializer(many=True)
    cancellation_policy = CancellationPolicySerializer()
    change_policy = ChangePolicySerializer()


class ExtraOfferSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=Extra.values,
        help_text="meal:dinner and meal:breakfast (per person who takes it); priority_boarding (for the party; a "
        "few parties per sailing, a booking is refused on `outbound_extras.priority_boarding` when none is left); "
        "protection (cancellation protection, per passenger on every leg: cancelling refunds all but the protection "
        "itself until 24 hours before departure, whatever the fare).",
    )
    unit = MoneySerializer(help_text="The price of one.")


@extend_schema_serializer(component_name="AccommodationOffer")
class AccommodationOfferSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Accommodation.choices)
    price = MoneySerializer(help_text="For the whole party, in the default fare family.")
    status = serializers.ChoiceField(choices=AVAILABILITY_STATUSES, help_text="As the sailing's `availability`.")
    cabins = serializers.IntegerField(allow_null=True, help_text="Cabins the party needs; null for deck or seats.")
    berths = serializers.IntegerField(allow_null=True, help_text="Berths per cabin; null for deck or seats.")


@extend_schema_serializer(component_name="Sailing")
class SailingRowSerializer(serializers.Serializer):
    sailing_id = serializers.IntegerField()
    sailing_ref = serializers.CharField(help_text="The operator's reference for the sailing.")
    operator = OperatorRefSerializer()
    vessel = serializers.CharField()
    departs_at = serializers.DateTimeField(help_text="UTC.")
    arrives_at = serializers.DateTimeField(help_text="UTC.")
    departs_local = serializers.DateTimeField(help_text="In the departure port's time zone, with its offset.")
    arrives_local = serializers.DateTimeField(help_text="In the arrival port's time zone, with its offset.")
    duration_minutes = serializers.IntegerField()
    max_vehicle_height_cm = serializers.IntegerField()
    price = MoneySerializer(
        help_text="Total for the whole party on this sailing in the Standard fare family (or the first one sold): "
        "what a booking naming no family pays."
    )
    price_lines = PriceLineSerializer(many=True)
    fares = FareSerializer(
        many=True,
        help_text="The price in each fare family the sailing is sold in, with its rules, in the order to show them.",
    )
    extras = ExtraOfferSerializer(many=True, help_text="What may be added to this sailing, at these prices.")
    availability = AvailabilitySerializer()
    amenities = serializers.ListField(
        child=serializers.ChoiceField(choices=Amenity.values), help_text="What the vessel offers on board."
    )
    accommodations = AccommodationOfferSerializer(
        many=True,
        help_text="Deck, seats and cabins side by side: the party's price in each accommodation the sailing sells (its "
        "default fare family), whether it has room for the party, and for a cabin how many the party needs. Search "
        "again with `accommodation` to see one's fares. Empty from an operator that prices the party's only.",
    )
    labels = serializers.ListField(
        child=serializers.ChoiceField(choices=["cheapest", "fastest"]),
        help_text="cheapest: no sailing the party can book on this leg that day costs less (in any fare family); "
        "fastest: none is shorter. Given over all of them, whatever the filters, when there are two or more; ties "
        "share a label.",
    )

    def get_fields(self):
        # "from" is a Python keyword, so the port fields cannot be declared as class attributes.
        fields = super().get_fields()
        fields["from"] = SailingPortSerializer()
        fields["to"] = SailingPortSerializer()
        return fields


class OperatorStatusSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=OPERATOR_STATUSES)
    message = serializers.CharField(allow_blank=True, help_text="Why the operator's sailings are missing, if they are.")


class NearbyDateSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A day near the one searched (port time) with sailings the party can book.")
    lowest_price = MoneySerializer(
        allow_null=True,
        help_text="The lowest price for the whole party that day; null when its sailings are priced in several "
        "currencies.",
    )


@extend_schema_serializer(component_name="LegExplanation")
class LegExplanationSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=[reason.value for reason in Reason],
        help_text="Why there is nothing to book: no_route (no ferry between these ports at all), "
        "no_such_accommodation (no vessel of the route has the accommodation asked for), operator_unavailable (an "
        "operator did not answer: search again shortly), sold_out (sailings that day, none with room for the party), "
        "unavailable (sailings that day, none can take the party's vehicle or accommodation), no_sailing_this_day "
        "(the route runs, but not that day).",
    )
    destinations_from_origin = PortRefSerializer(
        many=True, help_text="no_route: the ports a ferry sails to from the departure port."
    )
    origins_to_destination = PortRefSerializer(
        many=True, help_text="no_route: the ports from which a ferry sails to the arrival port."
    )
    accommodation_offered = serializers.ListField(
        child=serializers.ChoiceField(choices=ACCOMMODATION_CHOICES),
        help_text="no_such_accommodation: what the route's vessels offer instead.",
    )
    nearby_dates = NearbyDateSerializer(
        many=True,
        help_text="sold_out, unavailable, no_sailing_this_day: the days around the one searched that have sailings "
        "the party can book (never past the other leg's day), by date. Empty when none has.",
    )


class FilteredOutSerializer(serializers.Serializer):
    outbound = serializers.IntegerField(help_text="Outbound sailings the filters left out.")

    def get_fields(self):
        # "return" is a Python keyword, so the field cannot be declared as a class attribute.
        fields = super().get_fields()
        fields["return"] = serializers.IntegerField(help_text="Return sailings the filters left out; 0 for one way.")
        return fields


class LegExplanationsSerializer(serializers.Serializer):
    outbound = LegExplanationSerializer(allow_null=True, help_text="Null when the outbound has sailings to book.")

    def get_fields(self):
        # "return" is a Python keyword, so the field cannot be declared as a class attribute.
        fields = super().get_fields()
        fields["return"] = LegExplanationSerializer(
            allow_null=True, help_text="Null when the return has sailings to book, or for one way."
        )
        return fields


@extend_schema_serializer(component_name="SailingSearchResult")
class SailingSearchOutputSerializer(serializers.Serializer):
    outbound = SailingRowSerializer(many=True, help_text="Sailings on `date`, by departure time.")
    operators = OperatorStatusSerializer(many=True, help_text="Every operator asked, and how it answered.")
    complete = serializers.BooleanField(help_text="False when an operator did not answer: search again shortly.")
    explanations = LegExplanationsSerializer(
        help_text="For each leg without a sailing the party can book (none listed, or none with room or fit for "
        "the party): why, and what to search instead."
    )
    filtered_out = FilteredOutSerializer(
        help_text="How many sailings of each leg `operator`, `departs` and `available_only` left out."
    )

    def get_fields(self):
        # "return" is a Python keyword, so the field cannot be declared as a class attribute.
        fields = super().get_fields()
        fields["return"] = SailingRowSerializer(many=True, help_text="Sailings on `return_date`; empty for one way.")
        names = ("outbound", "return", "operators", "complete", "explanations", "filtered_out")
        return {name: fields[name] for name in names}


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day, in the departure port's time.")
    lowest = MoneySerializer(
        allow_null=True,
        help_text="The lowest price for the whole party of a sailing it can book that day, in any fare family, as a "
        "search of that day gives it; null when there is none (or its sailings are priced in several currencies).",
    )
    status = serializers.ChoiceField(
        choices=[status.value for status in DayStatus],
        help_text="available (a sailing the party can book), sold_out (sailings, none with room left for the "
        "party), unavailable (sailings, none that can take the party's vehicle or accommodation), no_sailing "
        "(nothing sails, or sales have closed), unknown (an operator did not answer: ask again shortly).",
    )
    cheapest = serializers.BooleanField(help_text="True for the day (or days) with the lowest price of those asked.")


@extend_schema_serializer(component_name="FareCalendar")
class FareCalendarOutputSerializer(serializers.Serializer):
    complete = serializers.BooleanField(help_text="False when an operator did not answer: ask again shortly.")
    days = CalendarDaySerializer(many=True, help_text="Every day asked for, in order.")

    def get_fields(self):
        # "from" is a Python keyword, so the field cannot be declared as a class attribute.
        fields = super().get_fields()
        ports = {
            "from": serializers.CharField(help_text="Departure port (UN/LOCODE)."),
            "to": serializers.CharField(help_text="Arrival port (UN/LOCODE)."),
        }
        return ports | fields
