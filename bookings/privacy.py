"""Forgetting who travelled: a booking's personal fields anonymised once nobody needs them any more.

A booking is kept — its sailings, prices, payments, refunds and invoices are the company's accounts — but the
people in it are not, once PERSONAL_DATA_RETENTION_DAYS have passed since its last sailing (claims under the
passengers' rights run two years) and no account keeps it: guests' bookings, and those of deleted accounts. An
account's own bookings stay its history while the account lives. Invoices keep their buyer as issued: the
accounting law asks for them as they were.
"""

import datetime as dt

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from bookings.models import Booking, BookingChange, BookingVehicle

ANONYMISED_NAME = "Anonymised"
# The fields of a change's recorded party (and of a request as asked) that name or identify a person or vehicle.
PERSONAL_KEYS = frozenset({"first_name", "last_name", "document_number", "registration", "name", "email", "phone"})
# Bookings still travelling, or whose money is still moving, keep their people whatever their age.
NOT_YET = (Booking.Status.HELD, Booking.Status.PAID)


def anonymised_email(booking: Booking) -> str:
    return f"anonymised-{booking.reference.lower()}@anonymised.invalid"


def bookings_due_forgetting(*, now: dt.datetime | None = None) -> QuerySet[Booking]:
    """Bookings whose people are no longer needed: no account keeps them (no owner, and no verified address of a
    live account is theirs), their last sailing is older than the retention period, and they are settled."""
    now = now or timezone.now()
    before = now - dt.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    kept_by_account = EmailAddress.objects.filter(verified=True, email__iexact=OuterRef("contact_email"))
    return (
        Booking.objects.filter(owner__isnull=True, anonymised_at__isnull=True, created_at__lt=before)
        .exclude(status__in=NOT_YET)
        .annotate(last_departure=Max("legs__sailing__departs_at"))
        .filter(last_departure__lt=before)
        .exclude(Exists(kept_by_account))
    )


@transaction.atomic
def booking_anonymise(*, booking_id: int, now: dt.datetime | None = None) -> bool:
    """Replace the booking's personal fields (contact, passengers, vehicle, the parties its changes recorded);
    False if it was anonymised already. Its e-mails are the notifications app's (flows.forgetting)."""
    booking = Booking.objects.select_for_update().filter(pk=booking_id, anonymised_at__isnull=True).first()
    if booking is None:
        return False
    booking.contact_name = ANONYMISED_NAME
    booking.contact_email = anonymised_email(booking)
    booking.contact_phone = ""
    booking.billing = {}
    booking.anonymised_at = now or timezone.now()
    booking.save(update_fields=["contact_name", "contact_email", "contact_phone", "billing", "anonymised_at"])
    for number, passenger in enumerate(booking.passengers.order_by("pk"), start=1):
        passenger.first_name, passenger.last_name = ANONYMISED_NAME, str(number)
        # The year alone is kept: the fares' age bands of past bookings stay readable.
        passenger.date_of_birth = passenger.date_of_birth.replace(month=1, day=1)
        passenger.document_number = ""
        passenger.save(update_fields=["first_name", "last_name", "date_of_birth", "document_number"])
    BookingVehicle.objects.filter(booking=booking).update(registration="")
    for change in BookingChange.objects.filter(booking=booking):
        change.party, change.wanted = scrubbed(change.party), scrubbed(change.wanted)
        change.save(update_fields=["party", "wanted"])
    return True


def scrubbed(value):
    """`value` (JSON) with every personal field's value blanked, its shape kept."""
    if isinstance(value, dict):
        return {key: "" if key in PERSONAL_KEYS else scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrubbed(item) for item in value]
    return value
