"""Booking requests and bookings, made through the same parser and service the website and API use."""

import datetime as dt

from bookings.flows import checkout, confirmation
from bookings.flows.checkout import payment_open
from bookings.models import Booking
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from ferries.tests.factories import sailing_factory
from payments.models import DemoIntent, Payment

ADULT = {
    "type": "adult",
    "first_name": "Amira",
    "last_name": "Ben Salah",
    "date_of_birth": "1985-04-12",
    "nationality": "TN",
    "document_number": "X1234567",
}
CHILD = {**ADULT, "type": "child", "first_name": "Youssef", "date_of_birth": None}
INFANT = {**ADULT, "type": "infant", "first_name": "Lina", "date_of_birth": None}
CONTACT = {"name": "Amira Ben Salah", "email": "amira@example.com", "phone": "+216 71 000 000"}


def born_years_before(sailing, years: int, days_after: int = 30) -> str:
    """A birth date that makes the passenger `years` old on the sailing's departure day."""
    day = sailing.departs_at.date()
    return (day.replace(year=day.year - years) + dt.timedelta(days=days_after)).isoformat()


def request_data(outbound=None, inbound=None, *, passengers=None, vehicle=None, **extra) -> dict:
    """A valid booking request body: by default one adult on deck on a fresh sailing."""
    outbound = outbound or sailing_factory()
    data = {
        "outbound_sailing_id": outbound.pk,
        "passengers": passengers or [ADULT],
        "accommodation": "deck",
        "contact": CONTACT,
        **extra,
    }
    if inbound:
        data["return_sailing_id"] = inbound.pk
    if vehicle:
        data["vehicle"] = vehicle
    for passenger in data["passengers"]:
        if passenger.get("type") == "child" and passenger.get("date_of_birth") is None:
            passenger["date_of_birth"] = born_years_before(outbound, 8)
        if passenger.get("type") == "infant" and passenger.get("date_of_birth") is None:
            passenger["date_of_birth"] = born_years_before(outbound, 1)
    return data


def held_booking(outbound=None, inbound=None, **kwargs) -> Booking:
    data = request_data(outbound, inbound, passengers=[dict(p) for p in kwargs.pop("passengers", [ADULT])], **kwargs)
    return booking_create(request=parse_booking_request(data))


def pay(fake_stripe, booking: Booking) -> Payment:
    """Pay the booking through Stripe (answered locally), as its webhook would have it: the booking is paid."""
    payment = payment_open(booking_id=booking.pk)
    fake_stripe.set_status(payment.intent_id, "succeeded")
    checkout.payment_reconcile(payment_id=payment.pk)
    payment.refresh_from_db()
    return payment


def pay_with_demo_card(booking: Booking) -> Booking:
    """Pay the booking with the demo provider's good card, as its webhook would have it: the booking is paid."""
    payment = payment_open(booking_id=booking.pk)
    DemoIntent.objects.filter(intent_id=payment.intent_id).update(status="succeeded")
    checkout.payment_reconcile(payment_id=payment.pk)
    booking.refresh_from_db()
    return booking


def confirmed_booking(outbound=None, inbound=None, **kwargs) -> Booking:
    """A booking held, paid with the demo provider's good card and confirmed by its operator."""
    booking = pay_with_demo_card(held_booking(outbound, inbound, **kwargs))
    confirmation.booking_confirm(booking_id=booking.pk)
    booking.refresh_from_db()
    return booking
