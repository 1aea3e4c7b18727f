"""Paying for a booking from the mobile app: the PaymentIntent to confirm with Stripe's SDK."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.api.schema import (
    BOOKING_CREDENTIALS,
    NO_BOOKING_CREDENTIALS_RESPONSE,
    booking_operation,
    error_response,
)
from bookings.api.views import BookingApi, booking_for_request, not_opened
from bookings.flows import checkout
from bookings.services import PaymentNotAllowed
from kernel.api import BODY_ERRORS_SCHEMA, api_validation_error
from kernel.throttling import THROTTLED_RESPONSE, PaymentStartThrottle
from payments.api.serializers import (
    DemoCardInputSerializer,
    DemoCardOutputSerializer,
    InvoiceOutputSerializer,
    PaymentOutputSerializer,
)
from payments.demo import demo_card_check, demo_pay
from payments.invoices import booking_invoices
from payments.models import INTENT_ID, Payment
from payments.providers import payment_provider
from payments.webhooks import webhook_receive

NOT_PAYABLE_RESPONSE = error_response(
    "The booking cannot be paid now: its hold expired, it was cancelled or paid, "
    "or a sailing no longer runs as booked.",
    "The hold on these places has expired; please search again.",
)


DEMO_CARD_ERRORS_RESPONSE = OpenApiResponse(
    response=BODY_ERRORS_SCHEMA,
    description="A card number, expiry or security code Stripe would refuse (an invalid number, an expiry in the "
    "past, a CVC of the wrong length); nothing was paid.",
)


NO_DEMO_PAYMENT_RESPONSE = error_response(
    "Stripe is in use (there is no demo provider), or, signed in with a Token: no such demo payment, or not for one "
    "of this user's bookings. The answer is the same either way.",
    "No such demo payment.",
)


class NotPayable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_payable"


class BookingPaymentApi(BookingApi, APIView):
    def get_throttles(self):
        # Each start asks every operator and Stripe: limited more strictly than reading.
        return [*super().get_throttles(), PaymentStartThrottle()]

    @booking_operation(
        operation_id="booking_payment_start",
        summary="Start paying for a held booking",
        description="Checks with each operator that the sailings still run as booked, then answers the Stripe "
        "PaymentIntent for the booking's price (worked out here). Confirm it with Stripe's SDK using "
        "`client_secret` and `publishable_key`; the booking becomes paid when Stripe tells us. Calling again "
        "answers the same PaymentIntent. With the demo provider, confirm it with `/api/v1/payments/demo/{id}/card`.",
        responses={201: PaymentOutputSerializer, 409: NOT_PAYABLE_RESPONSE, 429: THROTTLED_RESPONSE},
    )
    def post(self, request: Request, reference: str | None) -> Response:
        booking, _actor = booking_for_request(request, reference, details=False)
        try:
            payment = checkout.payment_start(booking_id=booking.pk)
        except PaymentNotAllowed as refusal:
            raise NotPayable(str(refusal)) from refusal
        payment.publishable_key = payment_provider().publishable_key
        return Response(PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class BookingInvoicesApi(BookingApi, APIView):
    @booking_operation(
        operation_id="booking_invoices",
        summary="The booking's invoices and credit notes",
        description="An invoice for each payment (the booking's price, a change's difference) and a credit note for "
        "each refund, oldest first, each with a link to its PDF.",
        responses={200: InvoiceOutputSerializer(many=True)},
    )
    def get(self, request: Request, reference: str | None) -> Response:
        booking, _actor = booking_for_request(request, reference, details=False)
        return Response(InvoiceOutputSerializer(booking_invoices(booking_id=booking.pk), many=True).data)


class DemoCardApi(BookingApi, APIView):
    @extend_schema(
        operation_id="demo_card_pay",
        summary="Demo provider only: pay a PaymentIntent with a test card",
        description="Plays what Stripe's SDK does on a machine without Stripe keys; 404 when Stripe is in use. "
        "Needs the credentials of the booking the PaymentIntent pays for (its owner's Token, or `X-Booking-Token`). "
        "The card is checked as Stripe checks it; Stripe's test cards behave as at Stripe (4242 4242 4242 4242 pays, "
        "4000 0000 0000 0002 is declined…). The outcome arrives through the Stripe webhook, as in production.",
        auth=BOOKING_CREDENTIALS,
        request=DemoCardInputSerializer,
        responses={
            200: DemoCardOutputSerializer,
            400: DEMO_CARD_ERRORS_RESPONSE,
            401: NO_BOOKING_CREDENTIALS_RESPONSE,
            404: NO_DEMO_PAYMENT_RESPONSE,
        },
    )
    def post(self, request: Request, intent_id: str) -> Response:
        if payment_provider().name != Payment.Provider.DEMO:
            raise NotFound(_("No such demo payment."))
        payments = Payment.objects.select_related("booking").filter(intent_id=intent_id, provider=Payment.Provider.DEMO)
        payment = payments.first() if INTENT_ID.fullmatch(intent_id) else None
        if payment is None:
            raise not_opened(request, NotFound(_("No such demo payment.")))
        try:
            booking_for_request(request, payment.booking.reference, details=False)
        except NotFound:
            raise NotFound(_("No such demo payment.")) from None  # another's intent: as if it did not exist
        card = DemoCardInputSerializer(data=request.data)
        card.is_valid(raise_exception=True)
        fields = card.validated_data
        try:
            checked = demo_card_check(
                number=fields["card_number"], exp_month=fields["exp_month"], exp_year=fields["exp_year"],
                cvc=fields["cvc"],
            )  # fmt: skip
        except DjangoValidationError as error:
            raise api_validation_error(error) from error
        payload, signature = demo_pay(intent_id=intent_id, card=checked)
        webhook_receive(payload=payload.encode(), signature=signature)
        payment.refresh_from_db()
        return Response({"status": payment.status, "error": payment.last_error})
