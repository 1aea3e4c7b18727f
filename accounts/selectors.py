"""Reads of an account: its trips, upcoming and past, and everything we hold about its holder (the export)."""

import datetime as dt
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from accounts.models import BookingClaim, SavedTraveller, SavedVehicle
from bookings.models import Booking
from bookings.selectors import account_bookings_filter, verified_addresses
from notifications.models import Email
from payments.models import Invoice, Payment, Refund

# Bookings that will not travel: listed with the past ones, whatever their dates.
NOT_TRAVELLING = (Booking.Status.EXPIRED, Booking.Status.CANCELLED, Booking.Status.FAILED, Booking.Status.REFUNDED)


@dataclass(frozen=True)
class Trips:
    upcoming: list[Booking]
    past: list[Booking]


def account_addresses(user: AbstractBaseUser) -> list[str]:
    """Every address of the account, verified or not."""
    return list(EmailAddress.objects.filter(user=user).values_list("email", flat=True))


def account_summary(user: AbstractBaseUser) -> dict:
    """Who is signed in: the account's address (and whether it is verified), name, and what it keeps."""
    email = user.email or None
    return {
        "email": email, "email_verified": bool(email) and email.lower() in map(str.lower, verified_addresses(user)),
        "first_name": user.first_name, "last_name": user.last_name, "date_joined": user.date_joined,
        "travellers": saved_travellers(user).count(), "vehicles": saved_vehicles(user).count(),
    }  # fmt: skip


def account_bookings(user: AbstractBaseUser) -> QuerySet[Booking]:
    legs = ["legs__sailing__route__origin", "legs__sailing__route__destination", "legs__sailing__route__operator"]
    return (
        Booking.objects.filter(account_bookings_filter(user))
        .annotate(first_departure=Min("legs__sailing__departs_at"), last_departure=Max("legs__sailing__departs_at"))
        .prefetch_related(*legs)
    )


def account_trips(user: AbstractBaseUser, *, now: dt.datetime | None = None) -> Trips:
    """Upcoming trips with the next departure first, then the past ones (and those that will not travel), latest
    first."""
    now = now or timezone.now()
    upcoming, past = [], []
    for booking in account_bookings(user).order_by("first_departure", "pk"):
        travelling = booking.status not in NOT_TRAVELLING
        (upcoming if travelling and booking.last_departure and booking.last_departure >= now else past).append(booking)
    past.sort(key=lambda b: (b.first_departure or b.created_at, b.pk), reverse=True)
    return Trips(upcoming=upcoming, past=past)


def saved_travellers(user: AbstractBaseUser) -> QuerySet[SavedTraveller]:
    return SavedTraveller.objects.filter(owner=user).order_by("pk")


def saved_vehicles(user: AbstractBaseUser) -> QuerySet[SavedVehicle]:
    return SavedVehicle.objects.filter(owner=user).order_by("pk")


def account_export(user: AbstractBaseUser, *, now: dt.datetime | None = None) -> dict:
    """Everything we hold about the account's holder, as JSON: the account, its addresses, saved travellers and
    vehicles, claims, bookings (contact, passengers, vehicles, sailings, payments, refunds, invoices, e-mails)."""
    now = now or timezone.now()
    bookings = account_bookings(user).prefetch_related("passengers", "vehicles", "legs__sailing")
    return {
        "exported_at": now.isoformat(),
        "account": {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
            "addresses": [
                {"email": a.email, "verified": a.verified, "primary": a.primary}
                for a in EmailAddress.objects.filter(user=user).order_by("pk")
            ],
        },
        "saved_travellers": [_traveller(t) for t in saved_travellers(user)],
        "saved_vehicles": [_vehicle(v) for v in saved_vehicles(user)],
        "booking_claims": [
            {
                "reference": c.booking.reference,
                "asked_at": c.created_at.isoformat(),
                "claimed_at": c.claimed_at.isoformat() if c.claimed_at else None,
            }
            for c in BookingClaim.objects.filter(user=user).select_related("booking").order_by("pk")
        ],
        "bookings": [_booking(b) for b in bookings.order_by("created_at", "pk")],
        "account_emails": _emails(Email.objects.filter(kind=Email.Kind.ACCOUNT, recipient__iexact=user.email)),
    }


def _traveller(t: SavedTraveller) -> dict:
    return {
        "first_name": t.first_name,
        "last_name": t.last_name,
        "date_of_birth": t.date_of_birth.isoformat(),
        "nationality": t.nationality,
        "document_type": t.document_type,
        "document_number": t.document_number,
        "document_expires": t.document_expires.isoformat() if t.document_expires else None,
    }


def _vehicle(v) -> dict:
    return {
        "category": v.category,
        "registration": v.registration,
        "length_cm": v.length_cm,
        "height_cm": v.height_cm,
        **({"load": v.load} if getattr(v, "load", "") else {}),
    }


def _booking(b: Booking) -> dict:
    payments = Payment.objects.filter(booking=b).order_by("pk")
    return {
        "reference": b.reference,
        "status": b.status,
        "made_at": b.created_at.isoformat(),
        "language": b.language,
        "contact": {"name": b.contact_name, "email": b.contact_email, "phone": b.contact_phone},
        "billing": b.billing,
        "passengers": [
            {
                "type": p.type,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "date_of_birth": p.date_of_birth.isoformat(),
                "nationality": p.nationality,
                "document_number": p.document_number,
            }
            for p in b.passengers.all()
        ],
        "vehicles": [_vehicle(v) for v in b.vehicles.all()],
        "legs": [
            {
                "direction": leg.direction,
                "from": leg.sailing.route.origin.code,
                "to": leg.sailing.route.destination.code,
                "departs_at": leg.sailing.departs_at.isoformat(),
                "fare": leg.fare_family,
            }
            for leg in b.legs.all()
        ],
        "total": {"amount_minor": b.total_minor, "currency": b.currency},
        "payments": [
            {"amount_minor": p.amount_minor, "currency": p.currency, "status": p.status, "at": p.created_at.isoformat()}
            for p in payments
        ],
        "refunds": [
            {"amount_minor": r.amount_minor, "currency": r.currency, "status": r.status, "at": r.created_at.isoformat()}
            for r in Refund.objects.filter(payment__booking=b).order_by("pk")
        ],
        "invoices": [
            {
                "number": i.number,
                "kind": i.kind,
                "issued_at": i.issued_at.isoformat(),
                "buyer": i.buyer,
                "total_minor": i.total_minor,
                "currency": i.currency,
            }
            for i in Invoice.objects.filter(booking=b).order_by("pk")
        ],
        "emails": _emails(Email.objects.filter(booking=b)),
    }


def _emails(emails) -> list[dict]:
    return [
        {"kind": e.kind, "to": e.recipient, "subject": e.subject, "status": e.status,
         "sent_at": e.sent_at.isoformat() if e.sent_at else None}
        for e in emails.order_by("pk")
    ]  # fmt: skip
