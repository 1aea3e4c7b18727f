"""A traveller's account: the travellers and vehicles it keeps, the guest bookings it claims, and — the person's
rights — everything we hold about them, and their account deleted.

Guest bookings made with one of the account's verified addresses are its own without asking
(bookings.selectors.account_bookings_filter). One made with another address is claimed: a code goes to that
address, and whoever types it there proves they read that mailbox.
"""

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import MAX_SAVED_TRAVELLERS, MAX_SAVED_VEHICLES, BookingClaim, SavedTraveller, SavedVehicle
from accounts.requests import parse_traveller, parse_vehicle
from bookings.models import Booking
from bookings.selectors import account_bookings_filter
from bookings.services import booking_give_to
from notifications.models import Email
from notifications.services import email_enqueue_written

CODE_DIGITS = 6
TRAVELLER_FIELDS = [
    "first_name", "last_name", "date_of_birth", "nationality", "document_type", "document_number", "document_expires"
]  # fmt: skip
VEHICLE_FIELDS = ["category", "registration", "length_cm", "height_cm"]


# --- saved travellers and vehicles -----------------------------------------------------------------------------


def traveller_add(*, owner: AbstractBaseUser, data) -> SavedTraveller:
    values = parse_traveller(data)
    with transaction.atomic():
        _lock_account(owner)
        if owner.saved_travellers.count() >= MAX_SAVED_TRAVELLERS:
            raise ValidationError(_("An account keeps up to %d travellers.") % MAX_SAVED_TRAVELLERS)
        return SavedTraveller.objects.create(owner=owner, **values)


def traveller_update(*, traveller: SavedTraveller, data) -> SavedTraveller:
    """The fields sent replace the traveller's; the others stay (PATCH)."""
    values = parse_traveller(_merged(traveller, TRAVELLER_FIELDS, data))
    for name, value in values.items():
        setattr(traveller, name, value)
    traveller.save()
    return traveller


def vehicle_add(*, owner: AbstractBaseUser, data) -> SavedVehicle:
    values = parse_vehicle(data)
    with transaction.atomic():
        _lock_account(owner)
        if owner.saved_vehicles.count() >= MAX_SAVED_VEHICLES:
            raise ValidationError(_("An account keeps up to %d vehicles.") % MAX_SAVED_VEHICLES)
        _registration_unused(owner, values["registration"], but=None)
        return SavedVehicle.objects.create(owner=owner, **values)


def vehicle_update(*, vehicle: SavedVehicle, data) -> SavedVehicle:
    values = parse_vehicle(_merged(vehicle, VEHICLE_FIELDS, data))
    _registration_unused(vehicle.owner, values["registration"], but=vehicle.pk)
    for name, value in values.items():
        setattr(vehicle, name, value)
    vehicle.save()
    return vehicle


def _merged(instance, fields: list[str], data) -> dict:
    if not isinstance(data, dict):
        return data  # refused by the parser, with its message
    current = {name: getattr(instance, name) for name in fields}
    current = {name: value.isoformat() if isinstance(value, dt.date) else value for name, value in current.items()}
    return {**current, **data}


def _registration_unused(owner, registration: str, *, but: int | None) -> None:
    if SavedVehicle.objects.filter(owner=owner, registration=registration).exclude(pk=but).exists():
        raise ValidationError({"registration": [_("A vehicle with this registration is saved already.")]})


def _lock_account(owner) -> None:
    """Two requests adding at once count one after the other."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()


# --- claiming a guest booking ----------------------------------------------------------------------------------


class ClaimRefused(ValidationError):
    pass


def claim_start(*, user: AbstractBaseUser, reference: str) -> BookingClaim | None:
    """Send a code to the address the booking was made with. Answers the claim, or None when there is no booking
    to claim (no such reference, or another account's): the caller says the same either way."""
    booking = Booking.objects.filter(reference=reference.strip().upper(), anonymised_at__isnull=True).first()
    if booking is None:
        return None
    if Booking.objects.filter(account_bookings_filter(user), pk=booking.pk).exists():
        raise ClaimRefused({"reference": [_("This booking is in your trips already.")]})
    if booking.owner_id is not None:
        return None
    code = "".join(secrets.choice("0123456789") for _n in range(CODE_DIGITS))
    now = timezone.now()
    with transaction.atomic():
        # A new code replaces the ones asked for before.
        BookingClaim.objects.filter(user=user, booking=booking, claimed_at__isnull=True).update(expires_at=now)
        claim = BookingClaim.objects.create(
            user=user,
            booking=booking,
            code_digest="",
            expires_at=now + dt.timedelta(minutes=settings.BOOKING_CLAIM_MINUTES),
        )
        claim.code_digest = _digest(claim, code)
        claim.save(update_fields=["code_digest"])
        _send_code(claim, code)
    return claim


def claim_confirm(*, user: AbstractBaseUser, reference: str, code: str) -> Booking:
    """The booking, now the account's, if `code` is the one sent; a ClaimRefused naming `code` otherwise. Each wrong
    code counts: after BOOKING_CLAIM_ATTEMPTS the claim is spent."""
    now = timezone.now()
    claim = (
        BookingClaim.objects.filter(user=user, booking__reference=reference.strip().upper(), claimed_at__isnull=True)
        .filter(expires_at__gt=now, attempts__lt=settings.BOOKING_CLAIM_ATTEMPTS)
        .select_related("booking")
        .first()
    )
    if claim is None:
        raise ClaimRefused({"code": [_("No code is waiting for this booking (or it has expired): ask for a new one.")]})
    if not hmac.compare_digest(claim.code_digest, _digest(claim, "".join(str(code).split()))):
        BookingClaim.objects.filter(pk=claim.pk).update(attempts=F("attempts") + 1)
        left = settings.BOOKING_CLAIM_ATTEMPTS - claim.attempts - 1
        if left <= 0:
            raise ClaimRefused({"code": [_("Wrong code, and no tries left: ask for a new code.")]})
        raise ClaimRefused({"code": [_("Wrong code. Tries left: %d.") % left]})
    with transaction.atomic():
        if not booking_give_to(booking_id=claim.booking_id, user=user):
            raise ClaimRefused({"reference": [_("This booking belongs to another account now.")]})
        BookingClaim.objects.filter(pk=claim.pk).update(claimed_at=now)
    return Booking.objects.get(pk=claim.booking_id)


def _digest(claim: BookingClaim, code: str) -> str:
    key = f"{settings.SECRET_KEY}:accounts.claim".encode()
    return hmac.new(key, f"{claim.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def _send_code(claim: BookingClaim, code: str) -> None:
    booking = claim.booking
    context = {"booking": booking, "code": code, "minutes": settings.BOOKING_CLAIM_MINUTES}
    with translation.override(booking.language):
        subject = " ".join(render_to_string("accounts/email/claim_code_subject.txt", context).split())
        text = render_to_string("accounts/email/claim_code.txt", context)
    email_enqueue_written(
        kind=Email.Kind.BOOKING_CLAIM, booking=booking, key=f"claim-{claim.pk}", recipient=booking.contact_email,
        subject=subject, text=text, language=booking.language,
    )  # fmt: skip
