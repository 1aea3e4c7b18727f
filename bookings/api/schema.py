"""How the OpenAPI schema describes the bookings API's headers, errors and examples: documentation only.

The rules themselves live in `bookings.requests` and `bookings.services`, which these words describe.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers

from bookings.models import Booking, BookingLeg
from bookings.request_fields import MAX_ID
from ferries.api.schema import (
    EXAMPLE_SAILING,
    EXAMPLE_SAILING_ID,
    MARSEILLE,
    TUNIS,
    example_fare_family,
    example_price_line,
)
from kernel.api import BODY_ERRORS_SCHEMA


@extend_schema_serializer(component_name="Error")
class ErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in the language of the request.")


def error_response(description: str, example: str) -> OpenApiResponse:
    return OpenApiResponse(
        response=ErrorOutputSerializer,
        description=description,
        examples=[OpenApiExample(example, value={"detail": example})],
    )


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": Booking._meta.get_field("idempotency_key").max_length,
        # Printable characters only, as the key is checked (str.isprintable): of those a header can carry (Latin-1),
        # not the control characters, the no-break space or the soft hyphen.
        "pattern": r"^[^\u0000-\u001f\u007f-\u00a0\u00ad]+$",
    },
    location=OpenApiParameter.HEADER,
    description="A key of the app's choosing (a UUID is a good one), unique per booking the traveller means to "
    "make. Sending the same request again with the same key, after a timeout say, answers the booking made the "
    "first time instead of making another; the same key with a different request is refused (422).",
)

# The operations a booking's access token opens: its owner's Token or the booking's token (the `bookingToken` scheme,
# `X-Booking-Token`, declared in SPECTACULAR_SETTINGS), one or the other — never neither.
BOOKING_CREDENTIALS = [{"tokenAuth": []}, {"sessionToken": []}, {"bookingToken": []}]

REFERENCE = OpenApiParameter(
    "reference",
    OpenApiTypes.STR,
    location=OpenApiParameter.PATH,
    description="The booking reference. Case does not matter.",
)

LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    response=[201],
    description="Where the booking can be read again.",
)

BOOKING_VALIDATION_ERROR_RESPONSE = OpenApiResponse(
    response={
        **BODY_ERRORS_SCHEMA,
        "description": "Each field in error, by its path in the body (`outbound_sailing_id`, `passengers.0.last_name`, "
        "`vehicles.0.height_cm`, `contact.email`) or the header's name (`Idempotency-Key`), with its messages; "
        "`non_field_errors` about the body as a whole; `detail` alone when the body is not JSON.",
    },
    description="The request was refused; nothing was booked and no place was held.",
    examples=[
        OpenApiExample(
            "A passenger without a name, a contact without an e-mail address",
            value={
                "passengers.0.last_name": ["This field is required."],
                "contact.email": ["Enter a valid e-mail address."],
            },
        ),
        OpenApiExample(
            "A car too tall for the vessel",
            value={"vehicles.0.height_cm": ["Vehicles up to 220 cm high fit on Saint John Paul II."]},
        ),
        OpenApiExample(
            "Sold out", value={"outbound_sailing_id": ["Sold out: not enough Passenger places left on this sailing."]}
        ),
    ],
)

NOT_FOUND_RESPONSE = error_response(
    "Signed in with a Token: no such booking, or not this user's. The answer is the same either way.",
    "Booking not found.",
)

NO_BOOKING_CREDENTIALS_RESPONSE = error_response(
    "No credential that opens it: none was sent, the `Authorization` header is not a valid `Token …`, or the "
    "`X-Booking-Token` is not this booking's. The answer is the same whether or not the booking exists.",
    "This booking token does not open this booking.",
)

NOT_SIGNED_IN_RESPONSE = error_response(
    "Send the session token of a signed-in traveller as `X-Session-Token` (allauth's headless API, "
    "`/_allauth/app/v1/auth/login`), or a staff-made `Authorization: Token …` (`/api/v1/auth/token`).",
    "Authentication credentials were not provided.",
)


def booking_operation(*, responses: dict, parameters: tuple = (), request=None, **kwargs):
    """`extend_schema` of an operation on one booking (`…/bookings/{reference}…`): opened by its owner's Token or its
    access token, refused alike whether or not the booking exists (401, or 404 to a signed-in user)."""
    responses = {401: NO_BOOKING_CREDENTIALS_RESPONSE, 404: NOT_FOUND_RESPONSE} | responses
    return extend_schema(
        parameters=[REFERENCE, *parameters],
        auth=BOOKING_CREDENTIALS,
        request=request,
        responses=dict(sorted(responses.items())),
        **kwargs,
    )


IDEMPOTENCY_CONFLICT_RESPONSE = error_response(
    "The Idempotency-Key was used before for a different request; nothing was booked.",
    "This Idempotency-Key was used for a different booking.",
)

OPERATOR_UNAVAILABLE_RESPONSE = error_response(
    "An operator of the journey is not answering; nothing was booked. Try again shortly.",
    "Compagnie Tunisienne de Navigation is not answering; please try again.",
)

# The demo network's (see ferries.api.schema): one adult and a car on deck on the example sailing, at its price.
_LEG = {
    "direction": "outbound",
    **EXAMPLE_SAILING,
    "from": TUNIS,
    "to": MARSEILLE,
    "price": {"amount_minor": 51000, "currency": "EUR"},
    "price_lines": [
        example_price_line("adult", "Adult (12–64)", 1, 23800),
        example_price_line("accommodation:deck", "Deck passage", 1, 0),
        example_price_line("vehicle:car", "Car", 1, 27200),
    ],
    **example_fare_family("standard"),
}
_PASSENGER = {
    "type": "adult",
    "first_name": "Amira",
    "last_name": "Ben Salah",
    "date_of_birth": "1985-04-12",
    "nationality": "TN",
    "document_number": "X1234567",
}
_VEHICLE = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160, "load": "roof_box"}
_CONTACT = {"name": "Amira Ben Salah", "email": "amira@example.com", "phone": "+216 71 000 000"}

BOOKING_REQUEST_EXAMPLE = OpenApiExample(
    "One adult and a car, one way",
    request_only=True,
    value={
        "outbound_sailing_id": EXAMPLE_SAILING_ID,
        "outbound_fare_family": "standard",
        "passengers": [_PASSENGER],
        "vehicles": [_VEHICLE],
        "accommodation": "deck",
        "pets": 0,
        "contact": _CONTACT,
    },
)

_BOOKING = {
    "reference": "K7MP4Q",
    "status": "held",
    "created_at": "2027-06-01T09:30:00+00:00",
    "hold_expires_at": "2027-06-01T09:50:00+00:00",
    "legs": [_LEG],
    "total": {"amount_minor": 51000, "currency": "EUR"},
    "cancellation_protection": False,
    "passengers": [_PASSENGER],
    "vehicles": [_VEHICLE],
    "vehicle": _VEHICLE,
    "accommodation": "deck",
    "pets": 0,
    "dogs": 0,
    "cats": 0,
    "contact": _CONTACT,
}

NEW_BOOKING_EXAMPLE = OpenApiExample(
    "Held, awaiting payment",
    response_only=True,
    status_codes=[201],
    value={**_BOOKING, "access_token": "3f9c1a7e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f"},
)

BOOKING_EXAMPLE = OpenApiExample(
    "Held, awaiting payment",
    response_only=True,
    value={
        **_BOOKING,
        "events": [
            {"from": None, "to": "held", "at": "2027-06-01T09:30:00+00:00", "by": "traveller", "reason": "places held"}
        ],
        "refund_if_cancelled_now": {
            "amount_minor": 0,
            "currency": "EUR",
            "reason": "not_paid",
            "message": "Nothing has been paid, so there is nothing to refund.",
        },
    },
)


RULE_CODES = [
    ("not_cancellable", "The booking no longer travels (it expired unpaid, or the operator refused it)."),
    ("last_leg", "The booking's only leg: cancel the booking instead."),
    ("last_passenger", "The booking's only passenger: cancel the booking instead."),
    ("party_problem", "The others could not travel alone (an infant without a grown-up)."),
    ("no_such_leg", "The booking has no such leg."),
    ("no_such_passenger", "The booking has no such passenger."),
    ("booking_not_changeable", "Only a confirmed booking can be changed."),
    ("no_change", "The change asks for the booking as it stands."),
    ("fare_forbids_changes", "The leg's fare family allows no change."),
    ("change_cutoff_passed", "Too close to departure for the leg's fare family."),
    ("max_changes_reached", "The leg was changed as often as its fare family allows."),
    ("sold_out", "The new party does not fit on the new sailing."),
    ("vehicle_too_tall", "The vehicle does not fit on the new sailing's vessel."),
    ("not_bookable", "The new sailing can no longer be booked."),
    ("not_offered", "The new sailing does not sell what the party needs (a cabin, a vehicle…)."),
    ("unknown_fare_family", "The new sailing is not sold in that fare family."),
    ("extra_not_offered", "The new sailing does not sell that extra."),
    ("priority_boarding_sold_out", "No priority boarding left on the new sailing."),
    ("currency_differs", "The new sailing is sold in another currency."),
    ("change_in_progress", "A change of this booking is being made."),
    ("booking_changed", "The booking changed while the quote was being made."),
    ("change_expired", "The quote expired; its places were given back."),
    ("change_superseded", "A later quote replaced this one."),
    ("change_failed", "The operator refused this change."),
]


class ChangeRefusedOutputSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Which rule forbids the change, and why, in the request's language.")
    code = serializers.ChoiceField(choices=RULE_CODES, help_text="The rule, for the app to act on.")
    leg = serializers.ChoiceField(
        choices=BookingLeg.Direction.choices,
        allow_null=True,
        help_text="The leg the rule is about, when it is about one.",
    )


CHANGE_REFUSED_RESPONSE = OpenApiResponse(
    response=ChangeRefusedOutputSerializer,
    description="A rule forbids the change; nothing was held or changed.",
    examples=[
        OpenApiExample(
            "The fare allows no change",
            value={
                "detail": "The Basic fare of the return sailing cannot be changed.",
                "code": "fare_forbids_changes",
                "leg": "return",
            },
        )
    ],
)


CANCEL_LEG = OpenApiParameter(
    "leg", str, enum=BookingLeg.Direction.values, description="One leg of a return (outbound or return)."
)
CANCEL_PASSENGER = OpenApiParameter(
    "passenger_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    description="One passenger: `id` of the booking's `passengers`.",
)  # fmt: skip


def cancel_one_part_at_once(result, generator, request, public):
    """drf-spectacular postprocessing hook: a cancellation names a leg or a passenger, never both (CancelPart)."""
    part = result.get("components", {}).get("schemas", {}).get("CancelPart")
    if part is not None:
        part["not"] = {"required": ["leg", "passenger_id"]}
    return result
