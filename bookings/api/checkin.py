"""Check-in and boarding from the port's hand-held devices, for port agents (token-authenticated, permission
bookings.check_in_travellers — the "Port agent" group):

    POST …/checkin/scan                                  the QR code's text (or a reference) for a sailing → the
                                                         verdict and, when it boards, the leg's party and status;
                                                         the party is checked in unless `check_in` is false
    POST …/checkin/{reference}/legs/{leg}/check-in       these passengers (and the vehicles) checked in
    POST …/checkin/{reference}/legs/{leg}/board          these passengers (and the vehicles) boarded

The same services as the check-in page (bookings.boarding): every scan is recorded, each traveller checked in and
boarded once.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.fields import empty
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings import boarding
from bookings.api.serializers import UtcDateTimeField
from bookings.models import Booking, BookingLeg, TicketScan
from bookings.request_fields import FlagField, IdField, ScanCodeField
from ferries.models import Sailing
from kernel.api import BODY_ERRORS_SCHEMA, InputSerializer, JSONBodyParser, TokenAuthentication

PERMISSION = "bookings.check_in_travellers"


class IsPortAgent(BasePermission):
    message = "Port agents only: this account may not check travellers in."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm(PERMISSION))


class BoardingNotAllowed(APIException):
    status_code = 409
    default_code = "boarding_refused"

    def __init__(self, refusal: boarding.BoardingRefused):
        super().__init__(detail={"detail": refusal.message, "code": refusal.code})


class ScanInputSerializer(InputSerializer):
    sailing_id = IdField(help_text="The sailing being boarded.")
    code = ScanCodeField(help_text="The QR code's text, or a booking reference typed (spaces around it ignored).")
    check_in = FlagField(default=True, help_text="Check in the whole party when the ticket boards.")


class TravellersInputSerializer(InputSerializer):
    passengers = serializers.ListField(
        child=IdField(), required=False, max_length=100, help_text="Passengers' `id`s; left out: all of the booking's."
    )
    vehicle = FlagField(
        default=empty, required=False,
        help_text="The party's vehicles too (they come through together); left out: if the booking has any.",
    )  # fmt: skip


class BoardingRowSerializer(serializers.Serializer):
    checked_in_at = UtcDateTimeField(allow_null=True)
    boarded_at = UtcDateTimeField(allow_null=True)


class QuayPassengerSerializer(BoardingRowSerializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    nationality = serializers.CharField()
    document_number = serializers.CharField()


class QuayVehicleSerializer(BoardingRowSerializer):
    category = serializers.CharField()
    registration = serializers.CharField()
    length_cm = serializers.IntegerField()
    height_cm = serializers.IntegerField()


class QuayLegSerializer(serializers.Serializer):
    reference = serializers.CharField()
    leg = serializers.ChoiceField(choices=BookingLeg.Direction.choices)
    sailing_id = serializers.IntegerField()
    accommodation = serializers.CharField()
    pets = serializers.IntegerField(help_text="In all, dogs and cats included.")
    dogs = serializers.IntegerField()
    cats = serializers.IntegerField()
    passengers = QuayPassengerSerializer(many=True)
    vehicles = QuayVehicleSerializer(many=True, help_text="The party's vehicles, each with its own check-in.")
    vehicle = QuayVehicleSerializer(allow_null=True, help_text="The first of `vehicles`, or null.")


class ScanOutputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=TicketScan.Outcome.choices)
    boards = serializers.BooleanField(help_text="True when the ticket boards this sailing.")
    message = serializers.CharField(help_text="What the agent reads.")
    notes = serializers.ListField(child=serializers.CharField(), help_text="Check-in closed, booking changed, …")
    party = QuayLegSerializer(allow_null=True, help_text="The leg's party, when the ticket boards.")


def _rows(leg: BookingLeg) -> dict:
    """Each boarding row, by ("p", passenger id) or ("v", vehicle id)."""
    return {("p", row.passenger_id) if row.passenger_id else ("v", row.vehicle_id): row for row in leg.boardings.all()}


def _status(row) -> dict:
    return {"checked_in_at": row.checked_in_at if row else None, "boarded_at": row.boarded_at if row else None}


def party(leg: BookingLeg) -> dict:
    booking, rows = leg.booking, _rows(leg)
    vehicles = [
        {"category": v.category, "registration": v.registration, "length_cm": v.length_cm, "height_cm": v.height_cm,
         **_status(rows.get(("v", v.pk)))}
        for v in booking.vehicles.all()
    ]  # fmt: skip
    passengers = [
        {"id": p.pk, "type": p.type, "first_name": p.first_name, "last_name": p.last_name,
         "date_of_birth": p.date_of_birth, "nationality": p.nationality, "document_number": p.document_number,
         **_status(rows.get(("p", p.pk)))}
        for p in booking.passengers.all()
    ]  # fmt: skip
    return {
        "reference": booking.reference, "leg": leg.direction, "sailing_id": leg.sailing_id,
        "accommodation": booking.accommodation, "pets": booking.pets, "dogs": booking.dogs,
        "cats": booking.cats, "passengers": passengers,
        "vehicles": vehicles, "vehicle": vehicles[0] if vehicles else None,
    }  # fmt: skip


class CheckInApi(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated, IsPortAgent]
    parser_classes = [JSONBodyParser]

    def agent(self, request: Request) -> str:
        return f"staff:{request.user.pk}"


BODY_REFUSED = OpenApiResponse(
    response={**BODY_ERRORS_SCHEMA, "description": "Each field in error with its messages; `detail` alone when the "
              "body is not JSON."},
    description="The request was refused; nothing was recorded.",
    examples=[OpenApiExample("No code", value={"code": ["This field is required."]})],
)  # fmt: skip
PORT_AGENTS_ONLY = {401: OpenApiResponse(description="No token, or not a valid one."),
                    403: OpenApiResponse(description="The token's user is not a port agent.")}  # fmt: skip
REFUSED = OpenApiResponse(
    description="Not recorded: the booking does not travel, the sailing is not scheduled, a passenger is not on the "
    "booking, or (boarding) a traveller is not checked in yet. `code` says which.",
    examples=[OpenApiExample("Not checked in", value={"detail": "Check in first: Amira Ben Salah.",
                                                      "code": "not_checked_in"})],
)  # fmt: skip


class CheckInScanApi(CheckInApi):
    @extend_schema(
        operation_id="checkin_scan",
        summary="What an e-ticket means for a sailing: the verdict, and the leg's party when it boards",
        request=ScanInputSerializer,
        responses={200: ScanOutputSerializer, 400: BODY_REFUSED, **PORT_AGENTS_ONLY},
    )
    def post(self, request: Request) -> Response:
        data = ScanInputSerializer().run_validation(request.data)
        if not Sailing.objects.filter(pk=data["sailing_id"]).exists():
            raise serializers.ValidationError({"sailing_id": ["No sailing has this id."]})
        with transaction.atomic():
            scan = boarding.ticket_scan(sailing_id=data["sailing_id"], text=data["code"], agent=self.agent(request))
            view = boarding.at_the_quay(scan=scan)
            if view.leg is not None and data["check_in"] and scan.outcome == TicketScan.Outcome.VALID:
                everyone = [p.pk for p in view.booking.passengers.all()]
                try:
                    boarding.travellers_check_in(
                        leg_id=view.leg.pk, passenger_ids=everyone, vehicle=view.vehicle is not None,
                        agent=self.agent(request),
                    )  # fmt: skip
                except boarding.BoardingRefused as refusal:
                    raise BoardingNotAllowed(refusal) from None
        answer = {"outcome": scan.outcome, "boards": view.boards, "message": view.message, "notes": view.notes,
                  "party": party(view.leg) if view.leg is not None else None}  # fmt: skip
        return Response(ScanOutputSerializer(answer).data)


class CheckInLegApi(CheckInApi):
    record = staticmethod(boarding.travellers_check_in)

    def post(self, request: Request, reference: str | None, leg: str) -> Response:
        data = TravellersInputSerializer().run_validation(request.data)
        booking_leg = (
            BookingLeg.objects.select_related("booking").filter(booking__reference=reference, direction=leg).first()
            if reference
            else None
        )
        if booking_leg is None:
            raise NotFound("No booking has this reference and leg.")
        booking: Booking = booking_leg.booking
        passengers = data.get("passengers", list(booking.passengers.values_list("pk", flat=True)))
        vehicle = data.get("vehicle", booking.vehicles.exists())
        try:
            self.record(leg_id=booking_leg.pk, passenger_ids=passengers, vehicle=vehicle, agent=self.agent(request))
        except boarding.BoardingRefused as refusal:
            raise BoardingNotAllowed(refusal) from None
        return Response(QuayLegSerializer(party(BookingLeg.objects.get(pk=booking_leg.pk))).data)


LEG_RESPONSES = {200: QuayLegSerializer, 400: BODY_REFUSED, 404: OpenApiResponse(description="No such "
                 "booking and leg."), 409: REFUSED, **PORT_AGENTS_ONLY}  # fmt: skip


class CheckInTravellersApi(CheckInLegApi):
    record = staticmethod(boarding.travellers_check_in)

    @extend_schema(operation_id="checkin_check_in", summary="Check in passengers and the vehicle on a leg",
                   request=TravellersInputSerializer, responses=LEG_RESPONSES)  # fmt: skip
    def post(self, request: Request, reference: str | None, leg: str) -> Response:
        return super().post(request, reference, leg)


class CheckInBoardApi(CheckInLegApi):
    record = staticmethod(boarding.travellers_board)

    @extend_schema(operation_id="checkin_board", summary="Board passengers and the vehicle on a leg (checked in first)",
                   request=TravellersInputSerializer, responses=LEG_RESPONSES)  # fmt: skip
    def post(self, request: Request, reference: str | None, leg: str) -> Response:
        return super().post(request, reference, leg)
