"""What a traveller's account keeps for next time — the people they travel with and their vehicles — and the
claims by which a guest booking joins an account.

An account's bookings are `Booking.owner`'s, plus the guest bookings made with one of the account's verified
addresses (bookings.selectors.account_bookings): nothing to copy, nothing to keep in step.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking
from ferries.choices import VehicleCategory

# Enough for a large family and its friends; more is a travel agency's work, not an account's.
MAX_SAVED_TRAVELLERS = 20
MAX_SAVED_VEHICLES = 10


class SavedTraveller(models.Model):
    class Document(models.TextChoices):
        PASSPORT = "passport", _("Passport")
        ID_CARD = "id_card", _("Identity card")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_travellers")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    nationality = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2"))
    document_type = models.CharField(max_length=10, choices=Document.choices, default=Document.PASSPORT)
    document_number = models.CharField(max_length=32, blank=True)
    document_expires = models.DateField(
        null=True, blank=True, help_text=_("A trip returning after this day is warned about.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "pk"]
        verbose_name = _("saved traveller")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class SavedVehicle(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_vehicles")
    category = models.CharField(max_length=20, choices=VehicleCategory.choices)
    registration = models.CharField(max_length=16)
    length_cm = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    height_cm = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "pk"]
        verbose_name = _("saved vehicle")
        constraints = [
            models.UniqueConstraint(fields=["owner", "registration"], name="saved_vehicle_registration_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.registration}"


class BookingClaim(models.Model):
    """A signed-in traveller asking for a guest booking made with another address: a code goes to that address,
    and typing it gives the booking to the account. Only the code's digest is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_claims")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="claims")
    code_digest = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0, help_text=_("Wrong codes typed."))
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("booking claim")

    def __str__(self) -> str:
        return f"{self.booking.reference} → user {self.user_id}"
