"""A disruption's choice from the mobile app: the booking (`GET …/bookings/{reference}`) lists its `disruptions`,
each with the `choices` open; `POST …/bookings/{reference}/disruption/accept` carries one out.

    {"choice": "reroute"}   travel on the sailing held for the traveller (free; new e-tickets e-mailed)
    {"choice": "refund"}    the disrupted leg refunded in full (the whole booking when it is its only leg)
    {"choice": "keep"}      travel on the delayed sailing

With two legs disrupted at once, `leg` says which. A choice no longer open is answered 409 with its `code`.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.schema import BOOKING_VALIDATION_ERROR_RESPONSE, booking_operation
from bookings.api.serializers import DISRUPTION_CHOICES, BookingDetailOutputSerializer
from bookings.api.views import BookingApi, booking_for_request
from bookings.disruptions import DisruptionRefused
from bookings.flows import disruption as disruption_flow
from bookings.models import BookingLeg, Disruption
from bookings.selectors import booking_details
from kernel.api import InputSerializer


class DisruptionNotChosen(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "disruption_refused"

    def __init__(self, refusal: DisruptionRefused):
        super().__init__(refusal.message)
        self.detail = {"detail": refusal.message, "code": refusal.code}


class DisruptionChoiceInputSerializer(InputSerializer):
    choice = serializers.ChoiceField(choices=DISRUPTION_CHOICES, help_text="What the traveller chooses.")
    leg = serializers.ChoiceField(
        choices=BookingLeg.Direction.choices, required=False,
        help_text="Which disrupted leg, when both are; left out: the one whose choice is open.",
    )  # fmt: skip


REFUSED = OpenApiResponse(
    description="No choice is open (none offered, or decided already), or this one is not on offer (`code`: "
    "`no_disruption`, `already_decided`, `no_reroute`, `sailing_cancelled`, `operator_unavailable`, …).",
    examples=[OpenApiExample("Decided", value={"detail": "This choice was made already: re-routed.",
                                               "code": "already_decided"})],
)  # fmt: skip


class BookingDisruptionAcceptApi(BookingApi, APIView):
    @booking_operation(
        operation_id="booking_disruption_accept",
        summary="Choose re-routing, a refund of the leg, or keeping the delayed sailing",
        description="The booking's `disruptions` list what is on offer. Answers the booking as it now stands.",
        request=DisruptionChoiceInputSerializer,
        responses={200: BookingDetailOutputSerializer, 400: BOOKING_VALIDATION_ERROR_RESPONSE, 409: REFUSED},
    )
    def post(self, request: Request, reference: str | None) -> Response:
        booking, actor = booking_for_request(request, reference, details=False)
        data = DisruptionChoiceInputSerializer().run_validation(request.data)
        open_ones = booking.disruptions.filter(status=Disruption.Status.OFFERED)
        if "leg" in data:
            open_ones = open_ones.filter(direction=data["leg"])
        disruption = open_ones.order_by("created_at").first()
        if disruption is None:
            raise DisruptionNotChosen(DisruptionRefused("no_disruption", "No choice is open for this booking."))
        try:
            disruption_flow.disruption_choose(disruption_id=disruption.pk, choice=data["choice"], actor=actor)
        except DisruptionRefused as refusal:
            raise DisruptionNotChosen(refusal) from refusal
        return Response(BookingDetailOutputSerializer(booking_details().get(pk=booking.pk)).data)
