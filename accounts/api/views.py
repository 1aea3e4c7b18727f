"""The mobile app's account: who is signed in (`/me`), the travellers and vehicles it keeps, claiming a guest
booking, and the holder's data (export, deletion). Signing up, in and out, verifying the address and resetting the
password are allauth's headless API (`/_allauth/app/v1/…`), whose session token opens these as `X-Session-Token`.

Another account's traveller or vehicle is answered exactly as one that does not exist (404).
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import flows, selectors, services
from accounts.api.serializers import (
    ClaimInputSerializer,
    ClaimStartedOutputSerializer,
    DeleteInputSerializer,
    MeOutputSerializer,
    TravellerOutputSerializer,
    VehicleOutputSerializer,
)
from accounts.requests import SavedVehicleSerializer, TravellerSerializer
from bookings.api.schema import NOT_SIGNED_IN_RESPONSE, error_response
from bookings.api.serializers import BookingSummaryOutputSerializer
from kernel.api import (
    APP_AUTHENTICATION,
    BODY_ERRORS_SCHEMA,
    PAGE_ERROR_RESPONSE,
    JSONBodyParser,
    api_validation_error,
)
from kernel.throttling import BookingClaimThrottle

ITEM_NOT_FOUND = error_response("No such item in this account (another account's is answered alike).", "Not found.")
REFUSED = OpenApiResponse(response=BODY_ERRORS_SCHEMA, description="Each field in error with its messages; nothing "
                          "was changed.")  # fmt: skip
SIGNED_IN = {401: NOT_SIGNED_IN_RESPONSE}


class AccountApi:
    authentication_classes = APP_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONBodyParser]


class MeApi(AccountApi, APIView):
    @extend_schema(
        operation_id="me", summary="The signed-in traveller's account", responses={200: MeOutputSerializer, **SIGNED_IN}
    )
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(selectors.account_summary(request.user)).data)


class SavedItems:
    """A list of things an account keeps (travellers, vehicles): read, add, change, remove — the account's only."""

    def __init__(self, *, name: str, selector, add, update, request_serializer, output_serializer):
        self.name, self.selector, self.add, self.update = name, selector, add, update
        self.request_serializer, self.output_serializer = request_serializer, output_serializer

    def list_view(self) -> type:
        items = self

        class ListApi(AccountApi, ListAPIView):
            serializer_class = items.output_serializer

            def get_queryset(self):
                return items.selector(self.request.user)

            @extend_schema(
                operation_id=f"me_{items.name}_list", summary=f"The {items.name} the account keeps",
                responses={200: items.output_serializer(many=True), 400: PAGE_ERROR_RESPONSE, **SIGNED_IN},
            )  # fmt: skip
            def get(self, request, *args, **kwargs):
                return super().get(request, *args, **kwargs)

            @extend_schema(
                operation_id=f"me_{items.name}_create", summary=f"Keep one more of the account's {items.name}",
                request=items.request_serializer,
                responses={201: items.output_serializer, 400: REFUSED, **SIGNED_IN},
            )  # fmt: skip
            def post(self, request: Request) -> Response:
                try:
                    item = items.add(owner=request.user, data=request.data)
                except DjangoValidationError as error:
                    raise api_validation_error(error) from error
                return Response(items.output_serializer(item).data, status=status.HTTP_201_CREATED)

        ListApi.__name__ = ListApi.__qualname__ = f"{items.name.title()}ListApi"
        return ListApi

    def item_view(self) -> type:
        items = self

        class ItemApi(AccountApi, APIView):
            def _item(self, request: Request, item_id: int | None):
                item = items.selector(request.user).filter(pk=item_id).first() if item_id is not None else None
                if item is None:
                    raise NotFound(_("Not found."))
                return item

            @extend_schema(
                operation_id=f"me_{items.name}_detail", summary=f"One of the account's {items.name}",
                responses={200: items.output_serializer, 404: ITEM_NOT_FOUND, **SIGNED_IN},
            )  # fmt: skip
            def get(self, request: Request, item_id: int | None) -> Response:
                return Response(items.output_serializer(self._item(request, item_id)).data)

            @extend_schema(
                operation_id=f"me_{items.name}_update", summary="Change some of its fields (the others stay)",
                request=items.request_serializer(partial=True),
                responses={200: items.output_serializer, 400: REFUSED, 404: ITEM_NOT_FOUND, **SIGNED_IN},
            )  # fmt: skip
            def patch(self, request: Request, item_id: int | None) -> Response:
                item = self._item(request, item_id)
                try:
                    item = items.update(item, data=request.data)
                except DjangoValidationError as error:
                    raise api_validation_error(error) from error
                return Response(items.output_serializer(item).data)

            @extend_schema(
                operation_id=f"me_{items.name}_delete", summary="Forget it",
                responses={204: None, 404: ITEM_NOT_FOUND, **SIGNED_IN},
            )  # fmt: skip
            def delete(self, request: Request, item_id: int | None) -> Response:
                self._item(request, item_id).delete()
                return Response(status=status.HTTP_204_NO_CONTENT)

        ItemApi.__name__ = ItemApi.__qualname__ = f"{items.name.title()}Api"
        return ItemApi


TRAVELLERS = SavedItems(
    name="travellers", selector=selectors.saved_travellers, add=services.traveller_add,
    update=lambda item, data: services.traveller_update(traveller=item, data=data),
    request_serializer=TravellerSerializer, output_serializer=TravellerOutputSerializer,
)  # fmt: skip
VEHICLES = SavedItems(
    name="vehicles", selector=selectors.saved_vehicles, add=services.vehicle_add,
    update=lambda item, data: services.vehicle_update(vehicle=item, data=data),
    request_serializer=SavedVehicleSerializer, output_serializer=VehicleOutputSerializer,
)  # fmt: skip


class ClaimApi(AccountApi, APIView):
    def get_throttles(self):
        return [*super().get_throttles(), BookingClaimThrottle()]

    @extend_schema(
        operation_id="me_bookings_claim",
        summary="Add a guest booking made with another address to the account",
        description="Twice: first with the `reference` alone — a code is e-mailed to the address the booking was "
        "made with (answered 202 the same whether or not such a booking exists) — then with the `reference` and "
        "that `code`, which answers the booking, now in the account's list. Bookings made with one of the "
        "account's verified addresses are in its list already.",
        request=ClaimInputSerializer,
        responses={200: BookingSummaryOutputSerializer, 202: ClaimStartedOutputSerializer, 400: REFUSED, **SIGNED_IN},
    )
    def post(self, request: Request) -> Response:
        data = ClaimInputSerializer().run_validation(request.data)
        try:
            if "code" in data:
                booking = services.claim_confirm(user=request.user, reference=data["reference"], code=data["code"])
                booking = selectors.account_bookings(request.user).get(pk=booking.pk)
                return Response(BookingSummaryOutputSerializer(booking).data)
            services.claim_start(user=request.user, reference=data["reference"])
        except DjangoValidationError as error:
            raise api_validation_error(error) from error
        detail = _("If a booking has this reference, a code is on its way to the address it was made with.")
        body = {"detail": detail, "expires_in": settings.BOOKING_CLAIM_MINUTES * 60}
        return Response(ClaimStartedOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


EXPORT_RESPONSE = inline_serializer("AccountExport", {
    "exported_at": serializers.DateTimeField(),
    "account": serializers.DictField(help_text="The account, with its addresses."),
    "saved_travellers": serializers.ListField(child=serializers.DictField()),
    "saved_vehicles": serializers.ListField(child=serializers.DictField()),
    "booking_claims": serializers.ListField(child=serializers.DictField()),
    "bookings": serializers.ListField(child=serializers.DictField()),
    "account_emails": serializers.ListField(child=serializers.DictField()),
})  # fmt: skip


class ExportApi(AccountApi, APIView):
    @extend_schema(
        operation_id="me_export",
        summary="Everything held about the account's holder, as JSON",
        description="The account, its addresses, saved travellers and vehicles, claims, and its bookings with their "
        "contact, passengers, vehicle, sailings, payments, refunds, invoices and e-mails.",
        responses={200: EXPORT_RESPONSE, **SIGNED_IN},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.account_export(request.user))


class DeleteApi(AccountApi, APIView):
    @extend_schema(
        operation_id="me_delete",
        summary="Delete the account",
        description="Its saved travellers, vehicles, sessions and tokens go at once. Its bookings stay as guest "
        "bookings (their access tokens still open them); their personal fields are anonymised once the retention "
        "period after their last sailing is over.",
        request=DeleteInputSerializer,
        responses={204: None, 400: REFUSED, **SIGNED_IN},
    )
    def post(self, request: Request) -> Response:
        data = DeleteInputSerializer().run_validation(request.data)
        try:
            flows.account_delete(user=request.user, password=data["password"])
        except DjangoValidationError as error:
            raise api_validation_error(error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
