"""Bookings for mobile apps: make one, read it, cancel it, list a signed-in user's own.

Apps sign in with `Authorization: Token …`; guests open their booking with its access token, sent as
`X-Booking-Token`. A request with neither credential for the booking is answered 401, a signed-in user 404 for a
booking that is not theirs: both exactly as for a reference that does not exist, so references cannot be probed.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated, NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings import cancellations
from bookings.api.schema import (
    BOOKING_EXAMPLE,
    BOOKING_REQUEST_EXAMPLE,
    BOOKING_VALIDATION_ERROR_RESPONSE,
    CANCEL_LEG,
    CANCEL_PASSENGER,
    CHANGE_REFUSED_RESPONSE,
    IDEMPOTENCY_CONFLICT_RESPONSE,
    IDEMPOTENCY_KEY,
    LOCATION,
    NEW_BOOKING_EXAMPLE,
    NOT_SIGNED_IN_RESPONSE,
    OPERATOR_UNAVAILABLE_RESPONSE,
    booking_operation,
)
from bookings.api.serializers import (
    BookingCreatedOutputSerializer,
    BookingDetailOutputSerializer,
    BookingSummaryOutputSerializer,
    CancellationOutputSerializer,
    CancelPartInputSerializer,
    PartRefundOutputSerializer,
)
from bookings.change_requests import ChangeRefused
from bookings.flows import cancelling, checkout, quotes
from bookings.models import Booking
from bookings.requests import BookingRequestSerializer, parse_booking_request
from bookings.selectors import booking_for_owner, booking_for_token, booking_in_details, booking_list
from bookings.services import Cancellation, IdempotencyConflict, OperatorUnavailable, TransitionNotAllowed
from kernel.api import (
    APP_AUTHENTICATION,
    PAGE_ERROR_RESPONSE,
    VALIDATION_ERROR_RESPONSE,
    JSONBodyParser,
    api_validation_error,
    represented,
    validation_error,
)
from kernel.money import money
from kernel.throttling import THROTTLED_RESPONSE, BookingCreateThrottle, PromoCodeThrottle

IDEMPOTENCY_KEY_MAX_LENGTH = Booking._meta.get_field("idempotency_key").max_length


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class OperatorNotAnswering(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "operator_unavailable"


class ChangeForbidden(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "change_forbidden"

    def __init__(self, refusal: ChangeRefused):
        super().__init__(refusal.message)
        self.detail = {"detail": refusal.message, "code": refusal.code, "leg": refusal.leg or None}


class BookingApi:
    # Only the app's Token counts: a website session must neither own an app's booking by accident nor need
    # the CSRF token that session authentication would ask for.
    authentication_classes = APP_AUTHENTICATION
    permission_classes = [AllowAny]
    parser_classes = [JSONBodyParser]


@extend_schema_view(
    get=extend_schema(
        operation_id="booking_list",
        summary="The signed-in user's bookings, newest first",
        responses={
            200: BookingSummaryOutputSerializer(many=True),
            400: PAGE_ERROR_RESPONSE,
            401: NOT_SIGNED_IN_RESPONSE,
        },
    )
)
class BookingListCreateApi(BookingApi, ListAPIView):
    serializer_class = BookingSummaryOutputSerializer

    def get_permissions(self):
        # Anyone may book (a guest is given the booking's access token); only a signed-in user has a list.
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_queryset(self):
        return booking_list(owner=self.request.user)

    def get_throttles(self):
        # Each booking holds places for a while: booking is limited more strictly than reading.
        if self.request.method == "POST":
            return [*super().get_throttles(), BookingCreateThrottle(), PromoCodeThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="booking_create",
        summary="Book: hold places on one sailing, or two for a return",
        description="Places are held for a limited time (`hold_expires_at`) while the traveller pays. Prices are "
        "worked out here from the fares, for the whole party. Signed in with a Token, the booking is the user's; "
        "without one, keep the answered `access_token` to open it again. The language of `Accept-Language` "
        "(one of the site's languages: en, fr, ar, it, es, de) is kept with the booking for the e-mails about it.",
        parameters=[IDEMPOTENCY_KEY, LOCATION],
        request=BookingRequestSerializer,
        responses={
            201: BookingCreatedOutputSerializer,
            400: BOOKING_VALIDATION_ERROR_RESPONSE,
            422: IDEMPOTENCY_CONFLICT_RESPONSE,
            429: THROTTLED_RESPONSE,
            503: OPERATOR_UNAVAILABLE_RESPONSE,
        },
        examples=[BOOKING_REQUEST_EXAMPLE, NEW_BOOKING_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        try:
            booking = checkout.booking_book(
                request=parse_booking_request(request.data),
                owner=request.user if request.user.is_authenticated else None,
                language=request.LANGUAGE_CODE,
                idempotency_key=key,
            )
        except DjangoValidationError as error:
            raise api_validation_error(error) from error
        except IdempotencyConflict as error:
            raise IdempotencyKeyReused(str(error)) from error
        except OperatorUnavailable as error:
            raise OperatorNotAnswering(str(error)) from error
        booking = booking_in_details(booking)  # a booking just made is answered from what was written
        location = request.build_absolute_uri(reverse("api-booking-detail", kwargs={"reference": booking.reference}))
        return Response(
            represented(BookingCreatedOutputSerializer, booking),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


class BookingDetailApi(BookingApi, APIView):
    @booking_operation(
        operation_id="booking_detail",
        summary="A booking, with its history",
        description="For its owner signed in with a Token, or anyone sending its access token as `X-Booking-Token`.",
        responses={200: BookingDetailOutputSerializer},
        examples=[BOOKING_EXAMPLE],
    )
    def get(self, request: Request, reference: str | None) -> Response:
        booking, _actor = booking_for_request(request, reference)
        return Response(represented(BookingDetailOutputSerializer, booking))


class BookingCancelApi(BookingApi, APIView):
    @booking_operation(
        operation_id="booking_cancel_quote",
        summary="What cancelling the booking, one leg or one passenger would refund now",
        description="With neither parameter, the whole booking (as its `refund_if_cancelled_now`). A part that "
        "cannot be cancelled alone (the only leg, the only passenger, an infant left without a grown-up, a booking "
        "not confirmed) is answered 409 with the rule's `code`.",
        parameters=[CANCEL_LEG, CANCEL_PASSENGER],
        responses={200: PartRefundOutputSerializer, 400: VALIDATION_ERROR_RESPONSE, 409: CHANGE_REFUSED_RESPONSE,
                   503: OPERATOR_UNAVAILABLE_RESPONSE},
    )  # fmt: skip
    def get(self, request: Request, reference: str | None) -> Response:
        booking, _actor = booking_for_request(request, reference)
        # A parameter sent empty is read as left out, as everywhere in the API.
        part = _part({name: value for name in ("leg", "passenger_id") if (value := request.query_params.get(name))})
        if not part:
            quote = quotes.booking_refund_quote(booking=booking)
            body = {"refund": money(quote.amount_minor, quote.currency), "legs": {}}
            return Response(body)
        try:
            if "leg" in part:
                parts = cancellations.leg_cancel_quote(booking=booking, direction=part["leg"])
            else:
                parts = cancellations.passenger_cancel_quote(booking=booking, passenger_id=part["passenger_id"])
        except ChangeRefused as refusal:
            raise ChangeForbidden(refusal) from refusal
        except OperatorUnavailable as error:
            raise OperatorNotAnswering(str(error)) from error
        legs = {leg: money(amount, parts.currency) for leg, amount in parts.refunds.items()}
        return Response({"refund": money(parts.refund_minor, parts.currency), "legs": legs})

    @booking_operation(
        operation_id="booking_cancel",
        summary="Cancel a booking, one leg of it or one passenger",
        description="With no body, the whole booking: gives the places back and refunds what the fare's cancellation "
        "policy allows (see `refund_if_cancelled_now`); cancelling a cancelled booking again changes nothing and "
        "answers a refund of 0. With `leg` or `passenger_id`, that part only (a confirmed booking): refunded by its "
        "own fare's conditions (`GET` says how much first), the rest travelling on, with new e-tickets e-mailed.",
        request=CancelPartInputSerializer,
        responses={200: CancellationOutputSerializer, 400: BOOKING_VALIDATION_ERROR_RESPONSE,
                   409: CHANGE_REFUSED_RESPONSE, 503: OPERATOR_UNAVAILABLE_RESPONSE},
    )  # fmt: skip
    def post(self, request: Request, reference: str | None) -> Response:
        booking, actor = booking_for_request(request, reference)
        part = _part(request.data)
        try:
            if not part:
                cancellation = cancelling.booking_cancel(
                    booking_id=booking.pk, actor=actor, reason="cancelled in the app"
                )
            elif "leg" in part:
                change = cancelling.leg_cancel(booking_id=booking.pk, direction=part["leg"], actor=actor)
            else:
                change = cancelling.passenger_cancel(
                    booking_id=booking.pk, passenger_id=part["passenger_id"], actor=actor
                )
        except TransitionNotAllowed as error:
            raise ChangeForbidden(ChangeRefused("not_cancellable", str(error))) from error
        except ChangeRefused as refusal:
            raise ChangeForbidden(refusal) from refusal
        except OperatorUnavailable as error:
            raise OperatorNotAnswering(str(error)) from error
        if part:
            booking.refresh_from_db()
            cancellation = Cancellation(booking, change.refund_minor, changed=True)
        return Response(CancellationOutputSerializer(cancellation).data)


def _part(data) -> dict:
    try:
        return CancelPartInputSerializer().run_validation(data)
    except ValidationError as error:
        raise api_validation_error(validation_error(error)) from None


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        message = _("Give 1 to %(max)d printable characters, or leave the header out.")
        raise ValidationError({"Idempotency-Key": [message % {"max": IDEMPOTENCY_KEY_MAX_LENGTH}]})
    return key


def booking_for_request(request: Request, reference: str | None, *, details: bool = True) -> tuple[Booking, str]:
    """The booking if its owner's Token or its access token came with the request, and who is acting
    (for its history); any other request is refused as if the reference did not exist (`not_opened`).
    `details`: the booking as `booking_details()` reads it (what it shows), else its row alone (for an operation
    that reads what it needs itself)."""
    if reference is not None:  # None: not a reference at all (`<api_reference:…>`), not looked up
        if booking := booking_for_owner(reference=reference, user=request.user, details=details):
            return booking, f"user:{request.user.pk}"
        token = request.headers.get("X-Booking-Token", "")
        if token and (booking := booking_for_token(reference=reference, token=token, details=details)):
            return booking, "traveller"
    raise not_opened(request, NotFound(_("Booking not found.")))


def not_opened(request: Request, not_found: NotFound) -> APIException:
    """The refusal of a request whose credentials open nothing here. It depends only on what was sent, never on
    whether the thing exists: `not_found` to a signed-in user (their Token is good, just not for this), 401 to
    anyone else — nothing sent, or a booking token that is not this booking's."""
    if request.user.is_authenticated:
        return not_found
    if request.headers.get("X-Booking-Token"):
        return AuthenticationFailed(_("This booking token does not open this booking."))
    return NotAuthenticated(_("Send the booking's X-Booking-Token, or its owner's Authorization: Token …"))
