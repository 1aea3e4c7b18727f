"""Travel alerts in the API: set one (anyone: a guest confirms the address by the e-mailed link, a signed-in
traveller's verified address needs no confirming), list the signed-in traveller's, stop one of theirs. A guest stops
an alert with the link in its e-mails."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.request_fields import MAX_ID
from ferries.api.serializers import MoneySerializer
from ferries.choices import MAX_PASSENGERS, Accommodation, VehicleCategory
from ferries.queries import NO_VEHICLE, PORT_SCHEMA
from kernel.api import (
    APP_AUTHENTICATION,
    BODY_ERRORS_SCHEMA,
    PAGE_ERROR_RESPONSE,
    JSONBodyParser,
    api_validation_error,
)
from kernel.money import money
from kernel.throttling import THROTTLED_RESPONSE, TravelAlertThrottle
from notifications import travel_alerts
from notifications.models import TravelAlert

ALERT_STATUSES = ["awaiting_confirmation", "active", "stopped", "over"]

TravelAlertRequest = inline_serializer(
    name="TravelAlertRequest",
    fields={
        "kind": serializers.ChoiceField(
            choices=TravelAlert.Kind.choices,
            help_text="`availability`: places freeing up on a sailing sold out for the party (give `sailing_id`); "
            "`price`: the lowest price of a day's crossings for the party falling to `below` or under (give `from`, "
            "`to`, `date` and `below`).",
        ),
        "email": serializers.EmailField(
            required=False, max_length=254, help_text="Who is told. Left out when signed in: the account's address."
        ),
        "sailing_id": serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_ID, help_text="availability: the sold-out sailing."
        ),
        "from": serializers.RegexField(PORT_SCHEMA["pattern"], required=False, help_text="price: departure port."),
        "to": serializers.RegexField(PORT_SCHEMA["pattern"], required=False, help_text="price: arrival port."),
        "date": serializers.DateField(required=False, help_text="price: the day of travel, from today."),
        "below": inline_serializer(
            name="TravelAlertLimit",
            required=False,
            help_text="price: the limit for the whole party.",
            fields={
                "amount_minor": serializers.IntegerField(min_value=1, max_value=10**9),
                "currency": serializers.RegexField(
                    "^[A-Z]{3}$", required=False, help_text="ISO 4217; EUR if left out."
                ),
            },
        ),
        **{
            name: serializers.IntegerField(
                required=False,
                min_value=0,
                max_value=MAX_PASSENGERS,
                help_text="The party, as the search's parameter of this name.",
            )
            for name in ("adults", "children", "infants", "seniors")
        },
        "vehicle": serializers.ChoiceField(choices=[*VehicleCategory.values, NO_VEHICLE], required=False),
        "vehicle_length_cm": serializers.IntegerField(required=False, min_value=1, max_value=10_000),
        "vehicle_height_cm": serializers.IntegerField(required=False, min_value=1, max_value=10_000),
        "accommodation": serializers.ChoiceField(choices=Accommodation.choices, required=False),
    },
)


@extend_schema_serializer(component_name="TravelAlert")
class TravelAlertOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TravelAlert.Kind.choices)
    status = serializers.SerializerMethodField(
        help_text="awaiting_confirmation (the e-mailed link not followed yet), active, stopped, or over (the day or "
        "the departure has passed)."
    )
    email = serializers.EmailField()
    watched = serializers.JSONField(source="query", help_text="The search watched: from, to, date and party.")
    sailing_id = serializers.IntegerField(allow_null=True)
    below = serializers.SerializerMethodField(help_text="price: the limit; null for an availability alert.")
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=ALERT_STATUSES))
    def get_status(self, alert: TravelAlert) -> str:
        if alert.stopped_at:
            return "stopped"
        if alert.ends_at <= timezone.now():
            return "over"
        return "active" if alert.confirmed_at else "awaiting_confirmation"

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_below(self, alert: TravelAlert) -> dict | None:
        return money(alert.below_minor, alert.currency) if alert.below_minor is not None else None


class TravelAlertsApi(ListAPIView):
    authentication_classes = APP_AUTHENTICATION
    parser_classes = [JSONBodyParser]
    serializer_class = TravelAlertOutputSerializer

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        if self.request.method == "POST":  # each may e-mail an address
            return [*super().get_throttles(), TravelAlertThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        return TravelAlert.objects.filter(owner=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(
        operation_id="travel_alert_list", summary="The signed-in traveller's travel alerts",
        responses={200: TravelAlertOutputSerializer(many=True), 400: PAGE_ERROR_RESPONSE},
    )  # fmt: skip
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="travel_alert_create",
        summary="Be told when places free up on a sold-out sailing, or when a day's price falls to a limit",
        description="Checked regularly (not at each search); e-mailed at most once per change, in the language of "
        "`Accept-Language`; every e-mail links to stopping it. A guest's address is confirmed first by an e-mailed "
        "link (`status` awaiting_confirmation); a signed-in traveller's verified address is active at once. Asking "
        "again for the same alert answers the one set. Refused (400, on `sailing_id` or `below`) when what it would "
        "tell is true already: the traveller can book now.",
        request=TravelAlertRequest,
        responses={
            201: TravelAlertOutputSerializer,
            400: OpenApiResponse(response=BODY_ERRORS_SCHEMA, description="Each field in error; nothing was set."),
            429: THROTTLED_RESPONSE,
        },
        examples=[
            OpenApiExample("Places on a sold-out sailing", request_only=True,
                           value={"kind": "availability", "sailing_id": 42, "adults": 2, "email": "amira@example.com"}),
            OpenApiExample("A price limit", request_only=True,
                           value={"kind": "price", "from": "TNTUN", "to": "FRMRS", "date": "2027-07-14", "adults": 2,
                                  "below": {"amount_minor": 18000, "currency": "EUR"}, "email": "amira@example.com"}),
        ],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        user = request.user if request.user.is_authenticated else None
        data = request.data if isinstance(request.data, dict) else {}
        try:
            alert_request = travel_alerts.parse_alert_request(data, email=user.email if user else "")
            verified = travel_alerts.address_verified(user, alert_request.email)
            alert = travel_alerts.alert_create(
                request=alert_request, owner=user, language=request.LANGUAGE_CODE, verified=verified
            )
        except DjangoValidationError as error:
            raise api_validation_error(error) from error
        return Response(TravelAlertOutputSerializer(alert).data, status=status.HTTP_201_CREATED)


class TravelAlertApi(APIView):
    authentication_classes = APP_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="travel_alert_stop", summary="Stop one of the signed-in traveller's travel alerts",
        responses={204: None, 404: OpenApiResponse(description="No such alert of this account.")},
    )  # fmt: skip
    def delete(self, request: Request, alert_id: int) -> Response:
        alert = TravelAlert.objects.filter(pk=alert_id, owner=request.user).first()
        if alert is None:
            raise NotFound
        travel_alerts.alert_stop(alert=alert)
        return Response(status=status.HTTP_204_NO_CONTENT)
