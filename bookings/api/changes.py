"""Changing a booking from the mobile app: ask for a change (a quote holding the new places), read it, confirm it —
then pay the difference with Stripe's SDK, as for a booking's price, when something is due.

    POST …/bookings/{reference}/changes                 → 201 the quote
    GET  …/bookings/{reference}/changes                 → every change asked, oldest first
    GET  …/bookings/{reference}/changes/{id}            → one change
    POST …/bookings/{reference}/changes/{id}/confirm    → 200 made (nothing to pay) or 202 with the payment to make

A change a rule forbids is answered 409 with the rule's `code`.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.schema import (
    BOOKING_VALIDATION_ERROR_RESPONSE,
    CHANGE_REFUSED_RESPONSE,
    OPERATOR_UNAVAILABLE_RESPONSE,
    booking_operation,
)
from bookings.api.serializers import UtcDateTimeField
from bookings.api.views import BookingApi, ChangeForbidden, OperatorNotAnswering, booking_for_request
from bookings.change_requests import BookingChangeRequestSerializer, ChangeRefused
from bookings.flows import changing
from bookings.models import BookingChange, BookingLeg
from bookings.services import OperatorUnavailable
from ferries.api.serializers import (
    CancellationPolicySerializer,
    ChangePolicySerializer,
    FareFamilyRefSerializer,
    MoneySerializer,
    PriceLineSerializer,
)
from ferries.models import Sailing
from kernel.api import api_validation_error
from kernel.money import money
from kernel.throttling import THROTTLED_RESPONSE, BookingCreateThrottle, PaymentStartThrottle
from payments.api.serializers import PaymentOutputSerializer
from payments.models import Payment
from payments.providers import payment_provider
from payments.services import OPEN_STATUSES

CHANGE_ID = OpenApiParameter(
    "change_id", OpenApiTypes.INT, location=OpenApiParameter.PATH, description="The change's `id` (1, 2, …)."
)


def close_change_request(result, generator, request, public):
    """drf-spectacular postprocessing hook: a change names at least one field, and only fields that can change (any
    other is refused by name)."""
    component = result.get("components", {}).get("schemas", {}).get("BookingChangeRequest")
    if component is not None:
        component["additionalProperties"] = False
        component["minProperties"] = 1
    return result


class LocalDateTimeField(serializers.DateTimeField):
    """A moment in the time zone it is given in, with its offset: 2027-07-14T20:00:00+02:00."""

    def to_representation(self, value) -> str:
        return value.isoformat()


class ChangeLegOutputSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=BookingLeg.Direction.choices)
    sailing_id = serializers.IntegerField()
    sailing_ref = serializers.CharField()
    departs_at = UtcDateTimeField(help_text="UTC.")
    departs_local = LocalDateTimeField(help_text="In the departure port's time zone, with its offset.")
    arrives_at = UtcDateTimeField(help_text="UTC.")
    price = MoneySerializer(help_text="The leg's new price for the whole party.")
    price_lines = PriceLineSerializer(many=True)
    fare_family = FareFamilyRefSerializer()
    cancellation_policy = CancellationPolicySerializer()
    change_policy = ChangePolicySerializer()


class ReplacedLegOutputSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=BookingLeg.Direction.choices)
    sailing_id = serializers.IntegerField()
    sailing_ref = serializers.CharField()
    price = MoneySerializer(help_text="What the leg cost as booked.")


class ChangeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="number", help_text="1 for the booking's first change asked, and so on.")
    status = serializers.ChoiceField(choices=BookingChange.Status.choices)
    summary = serializers.CharField(help_text="What changes, in a line.")
    new_legs = serializers.SerializerMethodField(help_text="The legs sold again, as quoted; the others stay.")
    replaces = serializers.SerializerMethodField(help_text="Those legs as booked.")
    difference = serializers.SerializerMethodField(help_text="New price less old price: negative when cheaper.")
    fee = serializers.SerializerMethodField(help_text="The change fees of the legs' fare families.")
    due = serializers.SerializerMethodField(help_text="What confirming costs: difference plus fee, when positive.")
    refund = serializers.SerializerMethodField(
        help_text="What confirming gives back when the change is cheaper: the saving less the fee, at most what "
        "cancelling those legs would give back."
    )
    expires_at = UtcDateTimeField(help_text="The new places are held until then; confirm and pay before.")
    created_at = UtcDateTimeField()
    confirmed_at = UtcDateTimeField(allow_null=True, help_text="When the change was made.")
    note = serializers.CharField(help_text="Why it expired, failed or was replaced.")
    payment = serializers.SerializerMethodField(
        help_text="While the change awaits payment: the PaymentIntent to confirm with Stripe's SDK (the demo "
        "provider's: `/api/v1/payments/demo/{id}/card`). Null otherwise."
    )

    @extend_schema_field(ChangeLegOutputSerializer(many=True))
    def get_new_legs(self, change: BookingChange) -> list[dict]:
        sailings = Sailing.objects.select_related("route__origin").in_bulk(
            [leg["sailing_id"] for leg in change.new_legs]
        )
        legs = []
        for leg in change.new_legs:
            sailing = sailings[leg["sailing_id"]]
            legs.append({
                **leg, "departs_at": sailing.departs_at, "arrives_at": sailing.arrives_at,
                "departs_local": sailing.departs_at.astimezone(sailing.route.origin.tz),
                "price": money(leg["price_minor"], change.currency), "price_lines": leg["price_lines"],
                "fare_family": {"code": leg["fare_family"], "name": leg["fare_family_name"]},
                "cancellation_policy": leg["policy"], "change_policy": leg["change_rules"],
            })  # fmt: skip
        return ChangeLegOutputSerializer(legs, many=True, context=self.context).data

    @extend_schema_field(ReplacedLegOutputSerializer(many=True))
    def get_replaces(self, change: BookingChange) -> list[dict]:
        return [
            {**leg, "price": money(leg["price_minor"], change.currency)} for leg in change.old_legs
        ]  # fmt: skip

    @extend_schema_field(MoneySerializer)
    def get_difference(self, change: BookingChange) -> dict:
        return money(change.difference_minor, change.currency)

    @extend_schema_field(MoneySerializer)
    def get_fee(self, change: BookingChange) -> dict:
        return money(change.fee_minor, change.currency)

    @extend_schema_field(MoneySerializer)
    def get_due(self, change: BookingChange) -> dict:
        return money(change.due_minor, change.currency)

    @extend_schema_field(MoneySerializer)
    def get_refund(self, change: BookingChange) -> dict:
        return money(change.refund_minor, change.currency)

    @extend_schema_field(PaymentOutputSerializer(allow_null=True))
    def get_payment(self, change: BookingChange) -> dict | None:
        if change.status != BookingChange.Status.AWAITING_PAYMENT:
            return None
        payment = (
            Payment.objects.filter(change=change, status__in=OPEN_STATUSES, intent_id__isnull=False)
            .order_by("-attempt")
            .first()
        )
        if payment is None:
            return None
        payment.publishable_key = payment_provider().publishable_key
        return PaymentOutputSerializer(payment).data


def _change(booking, change_id: int | None) -> BookingChange:
    change = booking.changes.filter(number=change_id).first() if change_id is not None else None
    if change is None:
        raise NotFound(_("No such change."))
    return change


class BookingChangesApi(BookingApi, APIView):
    def get_throttles(self):
        # A quote holds places for a while: limited as making a booking is.
        if self.request.method == "POST":
            return [*super().get_throttles(), BookingCreateThrottle()]
        return super().get_throttles()

    @booking_operation(
        operation_id="booking_change_list",
        summary="The booking's changes, oldest first",
        description="Every change asked: quoted, made, expired or replaced — the booking's history of changes.",
        responses={200: ChangeOutputSerializer(many=True)},
    )
    def get(self, request: Request, reference: str | None) -> Response:
        booking, _actor = booking_for_request(request, reference, details=False)
        return Response(ChangeOutputSerializer(booking.changes.order_by("number"), many=True).data)

    @booking_operation(
        operation_id="booking_change_create",
        summary="Ask for a change: a quote, with the new places held",
        description="Send only what changes, in the booking request's own fields: another sailing between the same "
        "ports (`outbound_sailing_id`, `return_sailing_id`), another fare family, the extras, the whole new list of "
        "`passengers` (to add, remove or correct one), the `vehicles` (an empty list for none), `accommodation`, "
        "`pets`. The "
        "answer holds the new places until `expires_at` and says what confirming costs (`due`) or gives back "
        "(`refund`). Each leg's fare family, as sold, says whether it may change, until when, how often and for "
        "what fee; correcting names, documents or a registration is free. A quote replaces one still pending.",
        request=BookingChangeRequestSerializer,
        responses={
            201: ChangeOutputSerializer,
            400: BOOKING_VALIDATION_ERROR_RESPONSE,
            409: CHANGE_REFUSED_RESPONSE,
            429: THROTTLED_RESPONSE,
            503: OPERATOR_UNAVAILABLE_RESPONSE,
        },
    )
    def post(self, request: Request, reference: str | None) -> Response:
        booking, actor = booking_for_request(request, reference)
        try:
            change = changing.change_request(booking=booking, data=request.data, actor=actor)
        except DjangoValidationError as error:
            raise api_validation_error(error) from error
        except ChangeRefused as refusal:
            raise ChangeForbidden(refusal) from refusal
        except OperatorUnavailable as error:
            raise OperatorNotAnswering(str(error)) from error
        location = reverse("api-booking-change", kwargs={"reference": booking.reference, "change_id": change.number})
        return Response(
            ChangeOutputSerializer(change).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(location)},
        )


class BookingChangeApi(BookingApi, APIView):
    @booking_operation(
        operation_id="booking_change_detail",
        summary="One change of the booking",
        parameters=[CHANGE_ID],
        responses={200: ChangeOutputSerializer},
    )
    def get(self, request: Request, reference: str | None, change_id: int) -> Response:
        booking, _actor = booking_for_request(request, reference, details=False)
        return Response(ChangeOutputSerializer(_change(booking, change_id)).data)


class BookingChangeConfirmApi(BookingApi, APIView):
    def get_throttles(self):
        return [*super().get_throttles(), PaymentStartThrottle()]

    @booking_operation(
        operation_id="booking_change_confirm",
        summary="Confirm a quoted change",
        description="Nothing due: the change is made now (`confirmed`; `paid` while a remote operator is asked "
        "again), any refund is on its way, and new e-tickets are e-mailed — the old ones stop boarding; answered 200. "
        "Something due: answered 202 with the change awaiting payment and its `payment`; pay it with Stripe's SDK "
        "before `expires_at`, and the change is made when Stripe tells us. Money arriving after the quote expired is "
        "refunded in full. Confirming again answers the change as it stands.",
        parameters=[CHANGE_ID],
        responses={200: ChangeOutputSerializer, 202: ChangeOutputSerializer, 409: CHANGE_REFUSED_RESPONSE,
                   429: THROTTLED_RESPONSE},
    )  # fmt: skip
    def post(self, request: Request, reference: str | None, change_id: int) -> Response:
        booking, _actor = booking_for_request(request, reference, details=False)
        try:
            change, _payment = changing.change_confirm(change=_change(booking, change_id))
        except ChangeRefused as refusal:
            raise ChangeForbidden(refusal) from refusal
        awaiting = change.status == BookingChange.Status.AWAITING_PAYMENT
        return Response(ChangeOutputSerializer(change).data, status=202 if awaiting else 200)
