"""Changing a booking on the website: the form (the booking as it stands, and the sailings of the days chosen for each
leg, priced for the party), the quote with its new places held, and its confirmation — paid for on the checkout page
when something is due. Staff allowed to change bookings open the same pages from the admin, and act as staff.

The views only carry things: `changing.change_request` reads and checks the change, `changing.change_confirm` makes
it or asks for its payment.
"""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings import cancellations
from bookings.change_requests import PREFIX, ChangeRefused
from bookings.flows import cancelling, changing
from bookings.forms.changes import ChangeForm
from bookings.models import Booking, BookingChange, BookingLeg
from bookings.orders import booking_party
from bookings.selectors import booking_details, booking_for_browser
from bookings.services import OperatorUnavailable
from ferries.models import Sailing
from ferries.queries import LegQuery
from ferries.search import leg_search
from kernel.money import format_money
from kernel.throttling import BookingCreateThrottle, PaymentStartThrottle, rate_limited


def changeable_booking(request: HttpRequest, reference: str) -> tuple[Booking, str]:
    """The booking and who acts: staff who may change bookings, else the traveller whose browser has it."""
    user = request.user
    staff = user.is_authenticated and user.is_staff and user.has_perm("bookings.change_booking")
    if staff and (booking := booking_details().filter(reference=reference).first()):
        return booking, f"staff:{user.pk}"
    booking = booking_for_browser(reference=reference, session=request.session, user=user)
    if booking is None:
        raise Http404
    return booking, f"user:{user.pk}" if user.is_authenticated else "traveller"


def booking_url(booking: Booking, actor: str) -> str:
    """The booking's page: the traveller's, or the admin's for staff."""
    if actor.startswith("staff:"):
        return reverse("admin:bookings_booking_change", args=[booking.pk])
    return reverse("booking_detail", kwargs={"reference": booking.reference})


def back_to_booking(booking: Booking, actor: str) -> HttpResponse:
    return redirect(booking_url(booking, actor))


def _day(value: str, sailing: Sailing) -> dt.date:
    """The day asked for the leg, or the day it sails on now: port time."""
    booked = sailing.local_day
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return booked
    return day if day >= timezone.now().date() else booked


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited(BookingCreateThrottle)  # a quote holds places, as a booking does
def booking_change(request: HttpRequest, reference: str) -> HttpResponse:
    """The booking as it stands, to change (GET, with `outbound_date` / `return_date` choosing the days whose
    sailings are offered); the quote (POST)."""
    booking, actor = changeable_booking(request, reference)
    if booking.status != Booking.Status.CONFIRMED:
        messages.info(request, _("Only a confirmed booking can be changed."))
        return back_to_booking(booking, actor)
    party = booking_party(booking)
    legs = []
    for leg in booking.legs.select_related("sailing__route__origin", "sailing__route__destination"):
        prefix, route = PREFIX[leg.direction], leg.sailing.route
        day = _day(request.GET.get(f"{prefix}_date", ""), leg.sailing)
        rows = leg_search(query=LegQuery(route.origin.code, route.destination.code, day, party))["sailings"]
        legs.append({"prefix": prefix, "leg": leg, "day": day, "rows": rows})
    form = ChangeForm(
        request.POST if request.method == "POST" else None, booking=booking, rows={x["prefix"]: x["rows"] for x in legs}
    )
    if request.method == "POST" and form.is_valid():
        try:
            change = changing.change_request(booking=booking, data=form.body, actor=actor)
        except ValidationError as error:
            form.add_change_errors(error)
        except (ChangeRefused, OperatorUnavailable) as refusal:
            form.add_error(None, getattr(refusal, "message", str(refusal)))
        else:
            return redirect("booking_change_quote", reference=booking.reference, number=change.number)
    for item in legs:
        item["fields"] = form.leg_fields(item["prefix"])
    context = {
        "booking": booking, "form": form, "legs": legs, "today": timezone.now().date(),
        "back_url": booking_url(booking, actor),
    }  # fmt: skip
    return render(request, "bookings/booking_change.html", context, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited(PaymentStartThrottle)
def booking_change_quote(request: HttpRequest, reference: str, number: int) -> HttpResponse:
    """The quote: what changes and for how much money (GET); confirming it (POST) makes it, or opens its payment."""
    booking, actor = changeable_booking(request, reference)
    change = booking.changes.filter(number=number).first()
    if change is None:
        raise Http404
    if request.method == "POST":
        try:
            change, payment = changing.change_confirm(change=change)
        except ChangeRefused as refusal:
            messages.error(request, refusal.message)
            return redirect("booking_change_quote", reference=booking.reference, number=change.number)
        if payment is not None and actor.startswith("staff:"):
            # Staff take no card: the traveller pays from their booking page before the quote runs out.
            messages.info(request, _("Change %(number)d awaits the traveller's payment of %(due)s, from their booking "
                                     "page, before its places are released.") % {
                "number": change.number, "due": format_money(change.due_minor, change.currency)})  # fmt: skip
            return back_to_booking(booking, actor)
        if payment is not None:
            return redirect("booking_change_pay", reference=booking.reference, number=change.number)
        messages.success(request, made_message(change))
        return back_to_booking(booking, actor)
    return render(
        request, "bookings/booking_change_quote.html", quote_context(change) | {"back_url": booking_url(booking, actor)}
    )


def made_message(change: BookingChange) -> str:
    if change.status != BookingChange.Status.CONFIRMED:
        return _("Your change is being confirmed with the operator; we e-mail your new e-tickets as soon as it is.")
    if change.refund_minor:
        return _("Your booking is changed: new e-tickets are on their way, and %(refund)s will be refunded to the "
                 "card you paid with.") % {"refund": format_money(change.refund_minor, change.currency)}  # fmt: skip
    return _("Your booking is changed: new e-tickets are on their way by e-mail.")


def quote_context(change: BookingChange) -> dict:
    ids = [leg["sailing_id"] for leg in change.new_legs + change.old_legs]
    sailings = Sailing.objects.select_related("route__origin", "route__destination", "route__operator").in_bulk(ids)

    def legs(items: list[dict]) -> list[dict]:
        return [{**leg, "sailing": sailings[leg["sailing_id"]], "title": BookingLeg.Direction(leg["direction"]).label,
                 "price": format_money(leg["price_minor"], change.currency)} for leg in items]  # fmt: skip

    now = timezone.now()
    seconds = max(int((change.expires_at - now).total_seconds()), 0)
    return {
        "booking": change.booking,
        "change": change,
        "new_legs": legs(change.new_legs),
        "old_legs": legs(change.old_legs),
        "difference": format_money(abs(change.difference_minor), change.currency),
        "fee": format_money(change.fee_minor, change.currency),
        "due": format_money(change.due_minor, change.currency),
        "refund": format_money(change.refund_minor, change.currency),
        "pending": change.is_pending and change.expires_at > now,
        "minutes": -(-seconds // 60),
    }


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def booking_cancel_part(request: HttpRequest, reference: str) -> HttpResponse:
    """One leg (`?leg=return`) or one passenger (`?passenger=<id>`) of the booking: what cancelling it gives back now
    (GET), then cancelling it (POST)."""
    booking, actor = changeable_booking(request, reference)
    leg, passenger = request.GET.get("leg", ""), request.GET.get("passenger", "")
    if leg not in PREFIX.values() and not passenger.isdigit():
        raise Http404
    try:
        if request.method == "POST":
            if leg:
                change = cancelling.leg_cancel(booking_id=booking.pk, direction=leg, actor=actor)
            else:
                change = cancelling.passenger_cancel(booking_id=booking.pk, passenger_id=int(passenger), actor=actor)
            messages.success(request, part_cancelled_message(change))
            return back_to_booking(booking, actor)
        if leg:
            quote = cancellations.leg_cancel_quote(booking=booking, direction=leg)
        else:
            quote = cancellations.passenger_cancel_quote(booking=booking, passenger_id=int(passenger))
    except (ChangeRefused, OperatorUnavailable) as refusal:
        messages.error(request, getattr(refusal, "message", str(refusal)))
        return back_to_booking(booking, actor)
    context = {
        "booking": booking,
        "leg": next((x for x in booking.legs.all() if PREFIX[x.direction] == leg), None),
        "passenger": booking.passengers.filter(pk=int(passenger)).first() if passenger.isdigit() else None,
        "refund": format_money(quote.refund_minor, quote.currency),
        "refund_minor": quote.refund_minor,
        "back_url": booking_url(booking, actor),
    }
    return render(request, "bookings/booking_cancel_part.html", context)


def part_cancelled_message(change: BookingChange) -> str:
    if change.refund_minor:
        return _(
            "Cancelled: %(refund)s will be refunded to the card you paid with; new e-tickets are on their way."
        ) % {"refund": format_money(change.refund_minor, change.currency)}
    return _("Cancelled. Under the fare's conditions nothing is refunded; new e-tickets are on their way.")
