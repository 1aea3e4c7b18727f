"""A vehicle measured at the quay: port staff enter its length and height. The same size changes nothing but the
record; another size is sold again on every leg (a change no fare rule binds, kind REMEASURED): larger, it takes the
extra lane metres — refused when the deck is full or the vessel too low — and the traveller owes the difference in
price, asked by e-mail with the usual payment; smaller, it keeps its price and gives the space back at once."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bookings.change_requests import ChangeRefused, change_plan, read_change
from bookings.changes import change_quote
from bookings.flows import changing
from bookings.models import Booking, BookingChange, BookingVehicle
from notifications.models import Email
from notifications.services import email_enqueue
from payments.models import Payment

# The e-mailed payment stays open this long: the traveller pays from the quay, or before the return.
PAY_WITHIN_MINUTES = 12 * 60


@dataclass(frozen=True)
class Remeasured:
    change: BookingChange | None  # None: the size booked was right
    payment: Payment | None  # what the traveller is asked to pay, when the vehicle is larger


def vehicle_remeasure(
    *, booking_id: int, length_cm: int, height_cm: int, actor: str, vehicle_id: int | None = None
) -> Remeasured:
    """Record the size measured of one of the booking's vehicles (`vehicle_id`; the first when None); ValidationError
    naming the field for a size no vehicle of its category has, ChangeRefused when a sailing cannot carry it (deck
    full, vessel too low) — the booking stays as it was."""
    booking = Booking.objects.get(pk=booking_id)
    vehicles = list(booking.vehicles.all())
    vehicle = next((v for v in vehicles if vehicle_id in (None, v.pk)), None)
    if vehicle is None:
        raise ChangeRefused("no_vehicle", "This booking has no vehicle.")
    if (vehicle.length_cm, vehicle.height_cm) == (length_cm, height_cm):
        BookingVehicle.objects.filter(pk=vehicle.pk).update(measured_at=timezone.now(), measured_by=actor[:64])
        return Remeasured(None, None)
    data = {"vehicles": [
        {"category": v.category, "registration": v.registration, "load": v.load, "length_cm": v.length_cm,
         "height_cm": v.height_cm} | ({"length_cm": length_cm, "height_cm": height_cm} if v == vehicle else {})
        for v in vehicles
    ]}  # fmt: skip
    try:
        wanted = read_change(booking, data)
    except ValidationError as error:
        raise _measure_fields(error) from None
    plan = change_plan(booking, wanted, rules=False)
    change = change_quote(plan=plan, wanted=data, actor=actor, kind=BookingChange.Kind.REMEASURED,
                          minutes=PAY_WITHIN_MINUTES)  # fmt: skip
    change, payment = changing.change_confirm(change=change)
    if payment is not None:
        with transaction.atomic():
            email_enqueue(booking=booking, kind=Email.Kind.CHANGE_PAYMENT, key=str(change.number),
                          details={"change_number": change.number, "due_minor": change.due_minor})  # fmt: skip
    return Remeasured(change, payment)


def _measure_fields(error: ValidationError) -> ValidationError:
    """The change's errors on vehicles.<n>.length_cm / height_cm, as the measuring form's fields."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({
        field.rsplit(".", 1)[-1] if field.startswith("vehicles.") else field: messages
        for field, messages in error.message_dict.items()
    })  # fmt: skip
