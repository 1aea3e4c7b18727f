"""Output serializers of the bookings API. The request body is read, for the website and the API alike, and
described in the schema, by `bookings.requests.BookingRequestSerializer`.

Times in UTC are spelled as in search results (`+00:00`), and legs carry the same fields as a search row,
so an app can show a booked sailing with the code that shows a found one.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from bookings.access import access_token
from bookings.flows import quotes
from bookings.models import Booking, BookingEvent, BookingLeg, Disruption
from bookings.request_fields import MAX_ID, CountField, WordField
from bookings.services import Cancellation
from ferries.api.serializers import (
    CancellationPolicySerializer,
    ChangePolicySerializer,
    FareFamilyRefSerializer,
    MoneySerializer,
    OperatorRefSerializer,
    PortRefSerializer,
    PriceLineSerializer,
)
from ferries.choices import COUNTRY_CODES, Accommodation, Assistance, PassengerType, VehicleCategory, VehicleLoad
from ferries.models import Sailing
from kernel.api import InputSerializer, add_error, represented
from kernel.money import money

# Who changed a booking's status, as travellers are told: staff and user ids stay in the admin. Any other
# actor (the payment provider, the sweepers) is the system.
EVENT_ACTORS = ["traveller", "staff", "operator", "system"]
_ACTOR_KINDS = {"traveller": "traveller", "user": "traveller", "staff": "staff", "operator": "operator"}


class UtcDateTimeField(serializers.DateTimeField):
    """A moment in UTC, spelled as search results spell it: 2027-07-14T18:00:00+00:00."""

    def to_representation(self, value: dt.datetime) -> str:
        return value.astimezone(dt.UTC).isoformat()


# --- bookings as answered -----------------------------------------------------------------------------


@extend_schema_serializer(component_name="BookingLeg")
class LegOutputSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=BookingLeg.Direction.choices)
    sailing_id = serializers.IntegerField()
    sailing_ref = serializers.CharField(source="sailing.ref", help_text="The operator's reference for the sailing.")
    operator = OperatorRefSerializer(source="sailing.route.operator")
    departs_at = UtcDateTimeField(source="sailing.departs_at", help_text="UTC.")
    arrives_at = UtcDateTimeField(source="sailing.arrives_at", help_text="UTC.")
    departs_local = serializers.SerializerMethodField(help_text="In the departure port's time zone, with its offset.")
    arrives_local = serializers.SerializerMethodField(help_text="In the arrival port's time zone, with its offset.")
    scheduled_departs_at = UtcDateTimeField(
        source="sailing.scheduled_departs_at", allow_null=True,
        help_text="UTC. The timetable's departure when the sailing was given new times (`departs_at`); null: on time.",
    )  # fmt: skip
    scheduled_arrives_at = UtcDateTimeField(
        source="sailing.scheduled_arrives_at", allow_null=True, help_text="UTC. As `scheduled_departs_at`."
    )
    sailing_status = serializers.ChoiceField(
        source="sailing.status", choices=Sailing.Status.choices, help_text="`cancelled` when the operator cancelled it."
    )
    accommodation = serializers.ChoiceField(
        source="on_board", choices=Accommodation.choices, help_text="The party's accommodation on this leg."
    )
    price = serializers.SerializerMethodField(help_text="This leg's price for the whole party.")
    price_lines = PriceLineSerializer(many=True)
    fare_family = FareFamilyRefSerializer(source="fare", help_text="The fare family the leg was sold in.")
    cancellation_policy = CancellationPolicySerializer(help_text="The fare family's refunds, as sold.")
    change_policy = ChangePolicySerializer(help_text="The fare family's rules for changes, as sold.")

    def get_fields(self):
        # "from" is a Python keyword, so the port fields cannot be declared as class attributes.
        fields = super().get_fields()
        fields["from"] = PortRefSerializer(source="sailing.route.origin")
        fields["to"] = PortRefSerializer(source="sailing.route.destination")
        return fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_departs_local(self, leg: BookingLeg) -> str:
        return leg.sailing.departs_at.astimezone(leg.sailing.route.origin.tz).isoformat()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_arrives_local(self, leg: BookingLeg) -> str:
        return leg.sailing.arrives_at.astimezone(leg.sailing.route.destination.tz).isoformat()

    @extend_schema_field(MoneySerializer)
    def get_price(self, leg: BookingLeg) -> dict:
        return money(leg.price_minor, leg.booking.currency)


@extend_schema_serializer(component_name="Passenger")
class PassengerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="What `POST …/cancel` names as `passenger_id` to cancel this passenger.")
    type = serializers.ChoiceField(choices=PassengerType.choices)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    nationality = serializers.ChoiceField(choices=COUNTRY_CODES, help_text="ISO 3166-1 alpha-2.")
    document_number = serializers.CharField()
    assistance = serializers.ChoiceField(
        choices=Assistance.choices,
        allow_blank=True,
        help_text="Help asked for, passed to the operator; empty for none.",
    )


@extend_schema_serializer(component_name="Vehicle")
class VehicleOutputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=VehicleCategory.choices)
    registration = serializers.CharField()
    length_cm = serializers.IntegerField(help_text="Its own length, without a rear rack.")
    height_cm = serializers.IntegerField(help_text="Its own height, without what is on its roof.")
    load = serializers.ChoiceField(
        choices=VehicleLoad.choices, help_text="roof_box, roof_bikes or rear_rack; empty for nothing."
    )


@extend_schema_serializer(component_name="Contact")
class ContactOutputSerializer(serializers.Serializer):
    name = serializers.CharField(source="contact_name")
    email = serializers.EmailField(source="contact_email")
    phone = serializers.CharField(source="contact_phone")


@extend_schema_serializer(component_name="BookingEvent")
class EventOutputSerializer(serializers.Serializer):
    at = UtcDateTimeField(help_text="UTC.")
    by = serializers.SerializerMethodField(help_text="Who made the change, in general terms.")
    reason = serializers.CharField()

    def get_fields(self):
        # "from" is a Python keyword, so the status fields cannot be declared as class attributes.
        fields = super().get_fields()
        fields["from"] = serializers.SerializerMethodField(method_name="get_from_status")
        fields["to"] = serializers.ChoiceField(choices=Booking.Status.choices, source="to_status")
        return {name: fields[name] for name in ("from", "to", "at", "by", "reason")}

    @extend_schema_field(serializers.ChoiceField(choices=Booking.Status.choices, allow_null=True))
    def get_from_status(self, event: BookingEvent) -> str | None:
        """Null for the booking's first status."""
        return event.from_status or None

    @extend_schema_field(serializers.ChoiceField(choices=EVENT_ACTORS))
    def get_by(self, event: BookingEvent) -> str:
        return _ACTOR_KINDS.get(event.actor.split(":", 1)[0], "system")


class BookingBaseOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Six letters and digits, without 0/O or 1/I.")
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    created_at = UtcDateTimeField(help_text="UTC.")
    hold_expires_at = serializers.SerializerMethodField(
        help_text="While the booking is held: when its places are given back unless it is paid. Null otherwise."
    )
    legs = LegOutputSerializer(many=True, help_text="The outbound leg, then the return leg if any.")
    total = serializers.SerializerMethodField(help_text="What the whole booking costs, every leg included.")
    cancellation_protection = serializers.BooleanField(
        help_text="Cancelling refunds everything but the protection itself until 24 hours before each departure."
    )

    @extend_schema_field(UtcDateTimeField(allow_null=True))
    def get_hold_expires_at(self, booking: Booking) -> str | None:
        if booking.status != Booking.Status.HELD:
            return None
        return UtcDateTimeField().to_representation(booking.hold_expires_at)

    @extend_schema_field(MoneySerializer)
    def get_total(self, booking: Booking) -> dict:
        return money(booking.total_minor, booking.currency)


@extend_schema_serializer(component_name="BookingSummary")
class BookingSummaryOutputSerializer(BookingBaseOutputSerializer):
    """A line of the user's list of bookings."""


@extend_schema_serializer(component_name="PromoCodeApplied")
class PromoCodeOutputSerializer(serializers.Serializer):
    code = serializers.CharField(source="promo_code.code")
    discount = serializers.SerializerMethodField(help_text="Taken off the legs' prices (their `promo:` lines).")

    @extend_schema_field(MoneySerializer)
    def get_discount(self, use) -> dict:
        return money(use.discount_minor, use.currency)


class BookingOutputSerializer(BookingBaseOutputSerializer):
    promo_code = serializers.SerializerMethodField(help_text="The promo code applied; null when none.")
    passengers = PassengerOutputSerializer(many=True)
    vehicles = VehicleOutputSerializer(many=True, help_text="In the order they were booked; empty for none.")
    vehicle = serializers.SerializerMethodField(
        help_text="The first of `vehicles`, null for none (as before `vehicles`)."
    )
    accommodation = serializers.ChoiceField(choices=Accommodation.choices)
    pets = serializers.IntegerField(help_text="In all, dogs and cats included.")
    dogs = serializers.IntegerField()
    cats = serializers.IntegerField()
    contact = ContactOutputSerializer(source="*")

    @extend_schema_field(VehicleOutputSerializer(allow_null=True))
    def get_vehicle(self, booking: Booking) -> dict | None:
        first = next(iter(booking.vehicles.all()), None)
        return represented(VehicleOutputSerializer, first) if first else None

    @extend_schema_field(PromoCodeOutputSerializer(allow_null=True))
    def get_promo_code(self, booking: Booking) -> dict | None:
        use = getattr(booking, "promo_use", None)
        return represented(PromoCodeOutputSerializer, use) if use else None


@extend_schema_serializer(component_name="NewBooking")
class BookingCreatedOutputSerializer(BookingOutputSerializer):
    access_token = serializers.SerializerMethodField(
        help_text="Keep it: sent as `X-Booking-Token`, it opens this booking without an account."
    )

    def get_access_token(self, booking: Booking) -> str:
        return access_token(booking)


@extend_schema_serializer(component_name="RefundQuote")
class RefundQuoteOutputSerializer(MoneySerializer):
    reason = serializers.ChoiceField(
        choices=[
            ("policy", "What the fare's cancellation conditions give back."),
            ("policy_none", "The fare's conditions give nothing back this close to departure."),
            ("reduced_by_refunds", "What the conditions give back, less what was already refunded."),
            ("already_refunded", "What the conditions give back was already refunded."),
            ("disputed", "Less an amount the traveller's bank holds in a dispute."),
            ("not_paid", "Nothing was paid."),
            ("not_active", "The booking no longer travels: it cannot be cancelled."),
        ],
        help_text="Why the amount is what it is.",
    )
    message = serializers.CharField(help_text="The reason in words, in the request's language.")


DISRUPTION_CHOICES = ["reroute", "refund", "keep"]
REROUTE = inline_serializer(
    "Reroute",
    {"sailing_id": serializers.IntegerField(), "sailing_ref": serializers.CharField(),
     "departs_at": UtcDateTimeField(help_text="UTC."), "arrives_at": UtcDateTimeField(help_text="UTC.")},
    allow_null=True,
)  # fmt: skip


class DisruptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    leg = serializers.ChoiceField(source="direction", choices=BookingLeg.Direction.choices)
    sailing_ref = serializers.CharField(source="sailing.ref", help_text="The sailing cancelled or delayed.")
    cause = serializers.ChoiceField(choices=Disruption.Cause.choices)
    status = serializers.ChoiceField(choices=Disruption.Status.choices)
    deadline = UtcDateTimeField(help_text="UTC. Choose by then; without a choice a cancelled leg is refunded and a "
                                "delayed one kept.")  # fmt: skip
    choices = serializers.SerializerMethodField(help_text="What may be chosen now (none once decided).")
    reroute = serializers.SerializerMethodField(help_text="The sailing held for the re-routing, if one had room.")
    note = serializers.CharField(help_text="Why there is no re-routing, when there is none.")

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=DISRUPTION_CHOICES)))
    def get_choices(self, disruption: Disruption) -> list[str]:
        if not disruption.is_open:
            return []
        held = disruption.reroute is not None and disruption.reroute.is_pending
        return [*(["reroute"] if held else []), "refund", *(["keep"] if disruption.cause == "delayed" else [])]

    @extend_schema_field(REROUTE)
    def get_reroute(self, disruption: Disruption) -> dict | None:
        if disruption.reroute is None:
            return None
        new = disruption.reroute.new_legs[0]
        sailing = Sailing.objects.get(pk=new["sailing_id"])
        return {"sailing_id": sailing.pk, "sailing_ref": sailing.ref,
                "departs_at": UtcDateTimeField().to_representation(sailing.departs_at),
                "arrives_at": UtcDateTimeField().to_representation(sailing.arrives_at)}  # fmt: skip


@extend_schema_serializer(component_name="Booking")
class BookingDetailOutputSerializer(BookingOutputSerializer):
    events = EventOutputSerializer(many=True, help_text="Every change of status, oldest first.")
    disruptions = DisruptionOutputSerializer(
        many=True, source="disruptions.all",
        help_text="Sailings of the booking the operator cancelled or delayed over 90 minutes, and the choice offered.",
    )  # fmt: skip
    refund_if_cancelled_now = serializers.SerializerMethodField(
        help_text="What cancelling now would give back: what the fare's cancellation conditions allow, less what "
        "was already refunded — the amount `POST …/cancel` then refunds. 0, with its reason, while unpaid or once "
        "the booking no longer travels."
    )

    @extend_schema_field(RefundQuoteOutputSerializer)
    def get_refund_if_cancelled_now(self, booking: Booking) -> dict:
        quote = quotes.booking_refund_quote(booking=booking)
        return money(quote.amount_minor, quote.currency) | {"reason": quote.reason, "message": quote.message}


@extend_schema_serializer(component_name="Cancellation")
class CancellationOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(source="booking.reference")
    status = serializers.ChoiceField(choices=Booking.Status.choices, source="booking.status")
    refund = serializers.SerializerMethodField(
        help_text="Given back to the card that paid: what the fare's cancellation conditions allow, less what was "
        "already refunded (the booking's `refund_if_cancelled_now`); 0 when nothing was paid or the booking was "
        "already cancelled."
    )

    @extend_schema_field(MoneySerializer)
    def get_refund(self, cancellation: Cancellation) -> dict:
        return money(cancellation.refund_minor, cancellation.booking.currency)


@extend_schema_serializer(component_name="CancelPart")
class CancelPartInputSerializer(InputSerializer):
    """Left out (or an empty object): the whole booking. Else one leg, or one passenger."""

    default_error_messages = {"invalid": gettext_lazy("Send a JSON object, or nothing to cancel the whole booking.")}

    leg = WordField(
        choices=BookingLeg.Direction.choices, required=False,
        help_text="One leg of a return: its places go back, and it is refunded by its fare's conditions.",
    )  # fmt: skip
    passenger_id = CountField(
        min_value=1, max_value=MAX_ID, required=False,
        help_text="One passenger (`id` of the booking's `passengers`): every leg is repriced for the others, and "
        "their share refunded by each leg's fare conditions.",
    )  # fmt: skip

    def run_validation(self, data=empty):
        # No body at all reads as an empty object; anything but an object (null, false, a list) is refused.
        return {} if data is empty or (isinstance(data, dict) and not data) else self.to_internal_value(data)

    def read_field(self, field, data, values):
        if field.field_name not in data:
            raise SkipField
        return super().read_field(field, data, values)

    def check(self, values: dict, errors: dict) -> dict | None:
        if "leg" in values and "passenger_id" in values:
            add_error(errors, "passenger_id", _("Cancel a leg or a passenger, not both at once."))
        return None if errors else values


@extend_schema_serializer(component_name="PartRefundQuote")
class PartRefundOutputSerializer(serializers.Serializer):
    refund = MoneySerializer(help_text="What cancelling it now gives back, in all.")
    legs = serializers.DictField(
        child=MoneySerializer(), help_text="By leg (outbound, return): what each leg's conditions give back."
    )
