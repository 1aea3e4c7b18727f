"""Reads of bookings: who may open one, and what the sweepers must pick up again.

References come as a URL's `<reference:…>` (bookings.converters) or the "manage my booking" form reads them:
upper-case letters and digits."""

import datetime as dt

from allauth.account.models import EmailAddress
from django.db.models import Prefetch, Q, QuerySet

from bookings.access import token_opens
from bookings.models import Booking, BookingChange, BookingLeg, Disruption
from ferries.models import Sailing
from kernel.prefetch import keep_prefetched

# Bookings no longer travelling, whose operators may still hold places for them.
ENDED = [Booking.Status.EXPIRED, Booking.Status.CANCELLED, Booking.Status.FAILED, Booking.Status.REFUNDED]


def booking_details() -> QuerySet[Booking]:
    disruptions = Disruption.objects.select_related("sailing", "reroute")
    return booking_as_shown().prefetch_related("events", Prefetch("disruptions", disruptions))


def booking_as_shown() -> QuerySet[Booking]:
    """A booking with what its e-mails and documents show: its legs, passengers and vehicles (not its history nor
    its disruptions, which `booking_details` adds)."""
    # Legs with their sailing, route, ports, operator and vessel in one query rather than one per relation.
    legs = BookingLeg.objects.select_related(
        "sailing__route__origin", "sailing__route__destination", "sailing__route__operator", "sailing__vessel"
    )
    return Booking.objects.select_related("promo_use__promo_code").prefetch_related(
        "passengers", "vehicles", Prefetch("legs", legs)
    )


# What booking_details() reads with a booking, and `made_whole` keeps on one just written.
WHOLE = {"legs", "passengers", "vehicles", "events", "disruptions"}


def made_whole(booking: Booking, *, legs, passengers, vehicles, events) -> Booking:
    """A booking just written, with the rows written with it, kept on it as `booking_details()` would read them
    (in the same order), so that whoever made it is answered without reading it back."""
    keep_prefetched(booking, "legs", sorted(legs, key=lambda leg: (leg.sailing.departs_at, leg.pk)))
    keep_prefetched(booking, "passengers", sorted(passengers, key=lambda passenger: passenger.pk))
    keep_prefetched(booking, "vehicles", sorted(vehicles, key=lambda vehicle: vehicle.pk))
    keep_prefetched(booking, "events", sorted(events, key=lambda event: (event.at, event.pk)))
    keep_prefetched(booking, "disruptions", [])
    Booking._meta.get_field("promo_use").set_cached_value(booking, None)
    return booking


def booking_in_details(booking: Booking) -> Booking:
    """The booking as `booking_details()` reads it: itself when it was just made whole (`made_whole`), else read."""
    if set(getattr(booking, "_prefetched_objects_cache", {})) >= WHOLE:
        return booking
    return booking_details().get(pk=booking.pk)


def booking_for_guest(*, reference: str, email: str) -> Booking | None:
    """Reference + the contact e-mail, as the website's "manage my booking" asks."""
    return booking_details().filter(reference=reference, contact_email__iexact=email.strip()).first()


def booking_for_token(*, reference: str, token: str, details: bool = True) -> Booking | None:
    """Reference + the booking's access token (API guests). `details`: read as `booking_details()` reads it, else
    its row alone (for a request that needs no more: opening it costs one query, not six)."""
    booking = _read(details).filter(reference=reference).first()
    return booking if booking and token_opens(booking, token) else None


# The session key under which a browser keeps the references of the bookings it made or found.
BROWSER_SESSION_KEY = "bookings"


def booking_for_browser(*, reference: str, session, user) -> Booking | None:
    """The booking if this browser made or found it (session), or it is the signed-in traveller's."""
    if reference in session.get(BROWSER_SESSION_KEY, []):
        return booking_details().filter(reference=reference).first()
    return booking_for_owner(reference=reference, user=user)


def booking_for_owner(*, reference: str, user, details: bool = True) -> Booking | None:
    if not user.is_authenticated:
        return None
    return _read(details).filter(account_bookings_filter(user), reference=reference).first()


def _read(details: bool) -> QuerySet[Booking]:
    """Bookings as `booking_details()` reads them, or their rows alone."""
    return booking_details() if details else Booking.objects.all()


def booking_list(*, owner) -> QuerySet[Booking]:
    """A signed-in user's bookings, newest first, with their legs' sailings and ports."""
    legs = ["legs__sailing__route__origin", "legs__sailing__route__destination", "legs__sailing__route__operator"]
    bookings = Booking.objects.filter(account_bookings_filter(owner))
    return bookings.prefetch_related(*legs).order_by("-created_at", "-pk")


def account_bookings_filter(user) -> Q:
    """An account's bookings: those it made or claimed, and the guest bookings made with one of its verified
    addresses (nobody else's: a booking another account owns stays that account's)."""
    mine = Q(owner=user)
    for address in verified_addresses(user):
        mine |= Q(owner__isnull=True, contact_email__iexact=address)
    return mine


def verified_addresses(user) -> list[str]:
    return list(EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True))


def bookings_awaiting_release(*, before: dt.datetime) -> list[int]:
    """Ended bookings with a leg whose operator hold was not given back, untouched since `before`."""
    return list(
        Booking.objects.filter(status__in=ENDED, updated_at__lt=before, legs__released_at__isnull=True)
        .values_list("pk", flat=True)
        .distinct()[:500]
    )


def bookings_awaiting_confirmation(*, before: dt.datetime) -> list[int]:
    """Paid bookings not confirmed with their operator since `before`: their confirmation was lost."""
    return list(
        Booking.objects.filter(status=Booking.Status.PAID, updated_at__lt=before).values_list("pk", flat=True)[:500]
    )


# Bookings whose travel is still planned.
ACTIVE = [Booking.Status.HELD, Booking.Status.PAID, Booking.Status.CONFIRMED]


def changes_paid_not_made(*, before: dt.datetime) -> list[tuple[int, int]]:
    """(booking, change) of changes paid for and not made since `before`: their making was lost."""
    paid = BookingChange.objects.filter(status=BookingChange.Status.PAID, updated_at__lt=before)
    return list(paid.values_list("booking_id", "pk")[:500])


def changes_awaiting_release(*, before: dt.datetime) -> list[int]:
    """Changes, made or dropped, whose remote places were not given back since `before`."""
    return list(
        BookingChange.objects.filter(remote_pending=True, updated_at__lt=before).values_list("pk", flat=True)[:500]
    )


def bookings_on_sailing(*, sailing_id: int) -> list[int]:
    """Bookings still travelling on the sailing, oldest first (a booking has one leg per sailing)."""
    return list(
        Booking.objects.filter(status__in=ACTIVE, legs__sailing_id=sailing_id)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


def sailings_with_travellers(*, operator_id: int, start: dt.datetime, end: dt.datetime) -> list[Sailing]:
    """The operator's scheduled sailings leaving between `start` and `end` with an active booking on them."""
    return list(
        Sailing.objects.filter(
            route__operator_id=operator_id,
            status=Sailing.Status.SCHEDULED,
            departs_at__gte=start,
            departs_at__lte=end,
            booking_legs__booking__status__in=ACTIVE,
        )
        .distinct()
        .order_by("departs_at")
    )


def bookings_on_cancelled_sailings() -> list[int]:
    """Bookings still travelling on a sailing that was cancelled: their cancellation was lost."""
    return list(
        Booking.objects.filter(status__in=ACTIVE, legs__sailing__status=Sailing.Status.CANCELLED)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()[:500]
    )
