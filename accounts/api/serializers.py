from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.models import SavedTraveller, SavedVehicle
from ferries.choices import VehicleCategory
from kernel.api import InputSerializer


@extend_schema_serializer(component_name="Me")
class MeOutputSerializer(serializers.Serializer):
    email = serializers.EmailField(allow_null=True, help_text="None for an account without one (staff, port agents).")
    email_verified = serializers.BooleanField(help_text="Bookings are seen only once the address is proven.")
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_joined = serializers.DateTimeField()
    travellers = serializers.IntegerField(help_text="Travellers saved.")
    vehicles = serializers.IntegerField(help_text="Vehicles saved.")


@extend_schema_serializer(component_name="SavedTraveller")
class TravellerOutputSerializer(serializers.ModelSerializer):
    document_type = serializers.ChoiceField(choices=SavedTraveller.Document.choices)

    class Meta:
        model = SavedTraveller
        fields = [
            "id", "first_name", "last_name", "date_of_birth", "nationality", "document_type", "document_number",
            "document_expires", "updated_at",
        ]  # fmt: skip


@extend_schema_serializer(component_name="SavedVehicle")
class VehicleOutputSerializer(serializers.ModelSerializer):
    category = serializers.ChoiceField(choices=VehicleCategory.choices)

    class Meta:
        model = SavedVehicle
        fields = ["id", "category", "registration", "length_cm", "height_cm", "updated_at"]


@extend_schema_serializer(component_name="BookingClaimRequest")
class ClaimInputSerializer(InputSerializer):
    reference = serializers.RegexField(
        r"^\s*[A-Za-z0-9]{4,12}\s*$", max_length=40, help_text="The booking's reference, as on its e-mails."
    )
    code = serializers.RegexField(
        r"^\s*[0-9 ]{1,12}\s*$", max_length=20, required=False,
        help_text="Left out: send a code to the address the booking was made with. Sent: the code from that e-mail.",
    )  # fmt: skip


@extend_schema_serializer(component_name="BookingClaimStarted")
class ClaimStartedOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the code is valid for.")


@extend_schema_serializer(component_name="AccountDeleteRequest")
class DeleteInputSerializer(InputSerializer):
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, help_text="The account's password, once more."
    )
