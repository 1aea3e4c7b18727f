"""The traveller's booking pages: who travels, the booking itself, cancelling it, and finding it again.

Views only carry things between the browser and the booking layer: `parse_booking_request` and
`checkout.booking_book` decide what may be booked, `cancelling.booking_cancel` what cancelling does and
`quotes.booking_refund_quote` what it gives back. The bookings this browser may open (made here, or found with
reference and e-mail) are remembered in its session; a signed-in traveller also opens their own.
"""

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, is_dataclass, replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings.disruptions import DisruptionRefused
from bookings.flows import cancelling, checkout, quotes
from bookings.flows import disruption as disruption_flow
from bookings.forms import BookingForm, ManageBookingForm
from bookings.models import Booking, BookingLeg, Disruption
from bookings.requests import ONWARD_LEGS, BookingRequest
from bookings.selectors import ACTIVE, BROWSER_SESSION_KEY, booking_for_browser, booking_for_guest
from bookings.services import OperatorUnavailable, TransitionNotAllowed
from ferries.choices import Accommodation
from ferries.models import Sailing
from ferries.party import Party
from ferries.pricing import DEFAULT_FAMILY
from ferries.queries import VEHICLE_FIELDS, LegQuery, SearchQuery, parse_search_query, party_params
from ferries.returns import Crossing, onward_problem, return_problem, trip_stops
from ferries.search import BOOKABLE, leg_search
from kernel.money import format_money
from kernel.throttling import BookingCreateThrottle, BookingLookupThrottle, PromoCodeThrottle, rate_limited

SESSION_KEY = BROWSER_SESSION_KEY
FORMS_SECRET_KEY = "bookings:forms-secret"  # this browser's own part of the keys of the forms it sends
REMEMBERED = 20  # references kept per browser, the latest ones
# The search's parameters that describe the party; the results page passes them on with the choice.
PARTY_PARAMS = (
    *("adults", "children", "infants", "seniors"),
    *VEHICLE_FIELDS,
    "accommodation",
    *("pets", "dogs", "cats"),
)
# A sailing chosen on the results page, with its fare family: "1234:flex"; "1234" alone is the Standard fare.
CHOICE = re.compile(r"(?P<sailing>[0-9]{1,10})(?::(?P<family>[a-z][a-z0-9-]{1,19}))?")


# --- the sailings chosen on the results page ---------------------------------------------------------


@dataclass(frozen=True)
class ChosenLeg:
    direction: str
    title: str
    sailing: Sailing
    fare_family: str
    offer: dict | None  # the sailing as the search shows it to this party, in the chosen fare family
    accommodation: str  # the party's on this leg

    @property
    def bookable(self) -> bool:
        return self.offer is not None and self.offer["availability"]["status"] in BOOKABLE


@dataclass(frozen=True)
class Selection:
    legs: list[ChosenLeg]
    query: SearchQuery

    @property
    def party(self) -> Party:
        return self.query.outbound.party

    @property
    def bookable(self) -> bool:
        return all(leg.bookable for leg in self.legs)

    @property
    def total(self) -> str:
        """The price of every leg together, when the search priced them all in one currency."""
        prices = [leg.offer["price"] for leg in self.legs if leg.offer]
        if len(prices) != len(self.legs) or len({price["currency"] for price in prices}) != 1:
            return ""
        return format_money(sum(price["amount_minor"] for price in prices), prices[0]["currency"])

    @property
    def mixed_accommodation(self) -> bool:
        """The legs are not all in the same accommodation: each leg's summary says its own."""
        return len({leg.accommodation for leg in self.legs}) > 1

    @property
    def several_legs(self) -> bool:
        """A trip of several legs (island hopping), not a one-way or a return journey."""
        return any(leg.direction in ONWARD_LEGS for leg in self.legs)

    @property
    def search_url(self) -> str:
        """The results page these sailings were chosen from, to choose others."""
        outbound, inbound = self.query.outbound, self.query.inbound
        params = {"from": outbound.origin, "to": outbound.destination, "date": outbound.day.isoformat()}
        if onward := [leg for leg in self.legs if leg.direction in ONWARD_LEGS]:
            params["trip"] = "legs"
            for leg in onward:
                route = leg.sailing.route
                params |= {f"{leg.direction}_from": route.origin.code, f"{leg.direction}_to": route.destination.code,
                           f"{leg.direction}_date": leg.sailing.local_day.isoformat()}  # fmt: skip
                if leg.accommodation != self.party.accommodation:
                    params[f"{leg.direction}_accommodation"] = leg.accommodation
        elif inbound:
            params["return_date"] = inbound.day.isoformat()
            params |= _open_jaw_params(outbound.origin, outbound.destination, inbound.origin, inbound.destination)
            if inbound.party.accommodation != self.party.accommodation:
                params["return_accommodation"] = inbound.party.accommodation
        else:
            params["trip"] = "one_way"
        return f"{reverse('sailing_results')}?{urlencode(params | party_params(self.party))}"


def _choices(params: QueryDict) -> dict[str, tuple[Sailing, str] | None] | None:
    """The sailings and fare families named by `outbound`, `return` and `leg_2`… (a trip of several legs), or None
    when one is not one of ours."""
    texts = {name: (params.get(name) or "").strip() for name in ("outbound", "return", *ONWARD_LEGS)}
    choices = {name: CHOICE.fullmatch(text) for name, text in texts.items()}
    if not choices["outbound"] or any(texts[name] and not choices[name] for name in texts):
        return None
    wanted = [int(choice["sailing"]) for choice in choices.values() if choice]
    found = Sailing.objects.select_related("route__origin", "route__destination", "route__operator", "vessel")
    found = {sailing.pk: sailing for sailing in found.filter(pk__in=wanted)}
    if any(number not in found for number in wanted):
        return None
    return {
        name: (found[int(choice["sailing"])], choice["family"] or DEFAULT_FAMILY) if choice else None
        for name, choice in choices.items()
    }


def _open_jaw_params(origin: str, destination: str, back_from: str, back_to: str) -> dict[str, str]:
    """The search's parameters of an open-jaw return's ports, those that are not the outbound's reversed."""
    params = {"return_from": back_from} if back_from != destination else {}
    return params | ({"return_to": back_to} if back_to != origin else {})


class ReturnRefused(ValidationError):
    """The return chosen cannot follow the outbound: the traveller chooses again on the results page."""

    def __init__(self, message: str, *, search_url: str):
        super().__init__(message)
        self.search_url = search_url


def _selection(params: QueryDict) -> Selection:
    """The chosen sailings, and the party read as the search reads it; ValidationError with what is wrong
    (ReturnRefused when the return cannot follow the outbound)."""
    choices = _choices(params)
    if choices is None:
        raise ValidationError(_("We could not find the sailings you chose."))
    (outbound, outbound_family), (inbound, inbound_family) = choices["outbound"], choices["return"] or (None, None)
    search = {name: params[name] for name in PARTY_PARAMS if name in params}
    search |= {"from": outbound.route.origin.code, "to": outbound.route.destination.code}
    search["date"] = outbound.local_day.isoformat()
    if inbound:
        search["return_date"] = inbound.local_day.isoformat()
        if params.get("return_accommodation"):  # chosen for the return on the results page
            search["return_accommodation"] = params["return_accommodation"]
        ports = (outbound.route.origin.code, outbound.route.destination.code)
        search |= _open_jaw_params(*ports, inbound.route.origin.code, inbound.route.destination.code)
    try:
        query = parse_search_query(search)
    except ValidationError as error:
        if inbound and {"return_from", "return_to"} & set(error.message_dict):  # it cannot be a return at all
            refused = return_problem(outbound=Crossing.of_sailing(outbound), inbound=Crossing.of_sailing(inbound))
            straight_back = {name: value for name, value in search.items() if name not in ("return_from", "return_to")}
            query = parse_search_query(straight_back)
            raise ReturnRefused(refused, search_url=Selection(legs=[], query=query).search_url) from None
        raise
    if inbound and (
        problem := return_problem(outbound=Crossing.of_sailing(outbound), inbound=Crossing.of_sailing(inbound))
    ):
        raise ReturnRefused(problem, search_url=Selection(legs=[], query=query).search_url)
    legs = [_chosen_leg("outbound", _("Outbound"), outbound, outbound_family, query.outbound)]
    if inbound:
        legs.append(_chosen_leg("return", _("Return"), inbound, inbound_family, query.inbound))
    legs += _onward_chosen(choices, params, query)
    return Selection(legs=legs, query=query)


def _onward_chosen(choices: dict, params: QueryDict, query: SearchQuery) -> list[ChosenLeg]:
    """The legs of a trip of several legs after the first, as the search shows them; ValidationError when one is
    missing or cannot follow the one before (the booking request says the same)."""
    chosen, previous = [], choices["outbound"][0]
    wanted = min(int(params["legs"]), len(ONWARD_LEGS) + 1) if params.get("legs", "").isdigit() else 1
    for number, direction in enumerate(ONWARD_LEGS, start=2):
        if choices[direction] is None:
            if number <= wanted:
                raise ValidationError(_("Choose a sailing for every leg of the trip, then continue."))
            break
        if choices["return"]:
            raise ValidationError(_("A trip of several legs has no return: make the way back its last leg."))
        sailing, family = choices[direction]
        if problem := onward_problem(previous=Crossing.of_sailing(previous), following=Crossing.of_sailing(sailing)):
            raise ValidationError(problem)
        route, party = sailing.route, query.outbound.party
        if (accommodation := params.get(f"{direction}_accommodation", "")) in Accommodation.values:
            party = replace(party, accommodation=accommodation)  # chosen for the leg on the results page
        leg = LegQuery(route.origin.code, route.destination.code, sailing.local_day, party)
        chosen.append(_chosen_leg(direction, str(BookingLeg.Direction(direction).label), sailing, family, leg))
        previous = sailing
    return chosen


def _chosen_leg(direction: str, title: str, sailing: Sailing, family: str, leg: LegQuery) -> ChosenLeg:
    """The sailing as the search shows it, priced in `family`; ValidationError when it is not sold in it."""
    found = [row for row in leg_search(query=leg)["sailings"] if row["sailing_id"] == sailing.pk]
    if not found:
        return ChosenLeg(direction, title, sailing, family, None, leg.party.accommodation)
    fares = [fare for fare in found[0]["fares"] if fare["fare_family"]["code"] == family]
    if not fares:
        raise ValidationError(_("This sailing is not sold in the fare you chose; choose another."))
    return ChosenLeg(direction, title, sailing, family, found[0] | fares[0], leg.party.accommodation)


def _return_left_out(params: QueryDict) -> str | None:
    """A return search continued with an outbound only (possible without JavaScript): its results page."""
    choice = CHOICE.fullmatch(params.get("outbound", ""))
    if params.get("return") or not params.get("return_date") or not choice:
        return None
    sailing = Sailing.objects.select_related("route__origin", "route__destination").filter(pk=choice["sailing"])
    if not (sailing := sailing.first()):
        return None
    search = {"from": sailing.route.origin.code, "to": sailing.route.destination.code}
    search |= {"date": sailing.local_day.isoformat(), "return_date": params["return_date"]}
    kept = (*PARTY_PARAMS, "return_from", "return_to", "return_accommodation")
    search |= {name: params[name] for name in kept if params.get(name)}
    return f"{reverse('sailing_results')}?{urlencode(search)}"


# --- who may open a booking --------------------------------------------------------------------------


def _remember(request: HttpRequest, booking: Booking) -> None:
    references = [ref for ref in request.session.get(SESSION_KEY, []) if ref != booking.reference]
    request.session[SESSION_KEY] = [*references, booking.reference][-REMEMBERED:]


def _booking_or_404(request: HttpRequest, reference: str) -> Booking:
    """The booking, if this browser has it or it is the signed-in traveller's; anyone else learns nothing."""
    booking = booking_for_browser(reference=reference, session=request.session, user=request.user)
    if booking is None:
        raise Http404
    return booking


def _actor(request: HttpRequest) -> str:
    return f"user:{request.user.pk}" if request.user.is_authenticated else "traveller"


# --- pages -------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
# Each booking holds places: counted with the API's bookings; a promo code typed is a guess, counted with the API's.
@rate_limited(BookingCreateThrottle, PromoCodeThrottle)
def booking_new(request: HttpRequest) -> HttpResponse:
    """Who travels on the chosen sailings (GET), and the places held for them (POST)."""
    if "outbound" not in request.GET:
        return redirect("home")
    if results := _return_left_out(request.GET):
        messages.error(request, _("Choose a return sailing as well, then continue."))
        return redirect(results)
    try:
        selection = _selection(request.GET)
    except ReturnRefused as refused:  # back to the sailings, to choose another return
        messages.error(request, refused.message)
        return redirect(refused.search_url)
    except ValidationError as error:
        return render(request, "bookings/selection_problem.html", {"problems": error.messages}, status=400)
    form = _booking_form(request, selection)
    _forms_secret(request)  # now, for the tabs this page is opened in to share it
    status = 200
    if request.method == "POST":
        booking, status = _hold_places(request, form) if form.is_valid() else (None, 400)
        if booking:
            _remember(request, booking)
            return redirect("booking_detail", reference=booking.reference)
    context = {"form": form, "selection": selection, "hold_minutes": settings.BOOKING_HOLD_MINUTES}
    return render(request, "bookings/booking_form.html", context, status=status)


def _hold_places(request: HttpRequest, form: BookingForm) -> tuple[Booking | None, int]:
    """The booking with its places held, or None and the status that says why not (its errors on the form)."""
    try:
        booking = checkout.booking_book(
            request=form.booking_request,
            owner=request.user if request.user.is_authenticated else None,
            language=request.LANGUAGE_CODE,
            idempotency_key=_submission_key(request, form.booking_request),
        )
    except ValidationError as error:
        form.add_request_errors(error)
        return None, 400
    except OperatorUnavailable as error:  # nothing was kept: the same details may be sent again shortly
        form.add_error(None, str(error))
        return None, 503
    return booking, 302


def _submission_key(request: HttpRequest, booking_request: BookingRequest) -> str:
    """The idempotency key of a details form: the same traveller sending the same form gets the same booking.

    *The same traveller* is this browser: its session, which its tabs share and which outlives a visit to another
    page (signing in keeps it). *The same form* is the same request as the booking layer reads it — the same
    sailings, passengers, vehicle, accommodation, pets and contact — whatever page it was sent from: the page shown
    again by Back (which the browser may fetch afresh), a reload, a second tab, a double click. Spaces and letter
    case the parser ignores do not make another form.

    Other details make another booking: the traveller changed something on purpose. So does the same form from
    another browser, which cannot be told apart from another traveller. And once the booking of a form has ended
    (expired unpaid, cancelled, refused), sending the form again books again: the next key follows from that booking.
    """
    details = {**vars(booking_request), "outbound": booking_request.outbound.pk}
    details["inbound"] = booking_request.inbound.pk if booking_request.inbound else None
    details["onward"] = [[leg.sailing.pk, leg.fare_family, vars(leg.extras)] for leg in booking_request.onward]
    details["contact"] = {**vars(booking_request.contact), "email": booking_request.contact.email.lower()}
    as_text = json.dumps(details, sort_keys=True, default=_plain)
    key = _key(_forms_secret(request), as_text)
    ended = Booking.objects.exclude(status__in=ACTIVE).values_list("reference", flat=True)
    while reference := ended.filter(idempotency_key=key).first():
        key = _key(key, reference)
    return key


def _plain(value) -> dict | str:
    return vars(value) if is_dataclass(value) else str(value)  # passengers, vehicle; dates


def _key(*parts: str) -> str:
    return "web-" + hashlib.sha256(":".join(parts).encode()).hexdigest()


def _forms_secret(request: HttpRequest) -> str:
    """This browser's part of its forms' keys, kept in its session: no other browser can send a form with the same
    key, and the key says nothing of what was typed."""
    return request.session.setdefault(FORMS_SECRET_KEY, secrets.token_hex(16))


def _booking_form(request: HttpRequest, selection: Selection) -> BookingForm:
    contact = None
    if request.user.is_authenticated:
        contact = {"contact-name": request.user.get_full_name(), "contact-email": request.user.email}
    return BookingForm(
        request.POST if request.method == "POST" else None,
        party=selection.party,
        chosen={
            f"{leg.direction}_{name}": value
            for leg in selection.legs
            for name, value in (("sailing_id", str(leg.sailing.pk)), ("fare_family", leg.fare_family))
        },
        travel_day=selection.query.outbound.day,
        extras={leg.direction: leg.offer["extras"] for leg in selection.legs if leg.offer},
        leg_accommodations={leg.direction: leg.accommodation for leg in selection.legs},
        contact=contact,
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def booking_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _booking_or_404(request, reference)
    now = timezone.now()
    context = {
        "booking": booking,
        "legs": list(booking.legs.all()),
        "passengers": list(booking.passengers.all()),
        "vehicles": list(booking.vehicles.all()),
        "hold": _hold(booking, now),
        "refund_now": quotes.booking_refund_quote(booking=booking, at=now),
        "changes": list(booking.changes.order_by("number")),
        "invoices": list(booking.invoices.order_by("issued_at", "pk")),
    }
    several = any(leg.direction in ONWARD_LEGS for leg in context["legs"])  # a return's heading names two ports
    context["stops"] = several and trip_stops([(leg.sailing.route.origin.name, leg.sailing.route.destination.name)
                                               for leg in context["legs"]])  # fmt: skip
    if len({leg.on_board for leg in context["legs"]}) > 1:  # each leg in its own accommodation: say which
        context["legs_on_board"] = [(leg.get_direction_display(), leg.on_board) for leg in context["legs"]]
    context["pending_change"] = next((c for c in context["changes"] if c.is_pending and c.expires_at > now), None)
    context["disruptions"] = _open_disruptions(booking)
    if context["disruptions"]:  # the re-routing's hold is the disruption's, not a change of the traveller's
        context["pending_change"] = None
    return render(request, "bookings/booking_detail.html", context)


def _open_disruptions(booking: Booking) -> list[Disruption]:
    """The choices open, each with the sailing held for its re-routing and what its refund gives back."""
    open_ones = list(booking.disruptions.filter(status=Disruption.Status.OFFERED).select_related(
        "sailing__route__origin", "reroute"))  # fmt: skip
    for disruption in open_ones:
        held = disruption.reroute if disruption.reroute and disruption.reroute.is_pending else None
        disruption.offer_sailing = held and Sailing.objects.select_related("route__origin").get(
            pk=held.new_legs[0]["sailing_id"]
        )
        disruption.refund = quotes.disruption_refund_minor(booking=booking, direction=disruption.direction)
    return open_ones


@never_cache
@require_http_methods(["POST"])
def booking_disruption(request: HttpRequest, reference: str, disruption_id: int) -> HttpResponse:
    """The traveller's choice after a disruption: re-routing, a refund of the leg, or the delayed sailing."""
    booking = _booking_or_404(request, reference)
    disruption = booking.disruptions.filter(pk=disruption_id).first()
    choice = request.POST.get("choice", "")
    if disruption is None or choice not in {"reroute", "refund", "keep"}:
        raise Http404
    try:
        disruption_flow.disruption_choose(disruption_id=disruption.pk, choice=choice, actor="traveller")
    except DisruptionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, {
            "reroute": _("Done: you travel on the new sailing. Your new e-tickets are on their way."),
            "refund": _("Done: the crossing is refunded to the card that paid."),
            "keep": _("Noted: you travel on the delayed sailing."),
        }[choice])  # fmt: skip
    return redirect("booking_detail", reference=booking.reference)


def _hold(booking: Booking, now: dt.datetime) -> dict | None:
    """How long the places stay held, while the booking waits for payment."""
    if booking.status != Booking.Status.HELD:
        return None
    seconds = max(int((booking.hold_expires_at - now).total_seconds()), 0)
    return {"until": booking.hold_expires_at, "seconds": seconds, "minutes": -(-seconds // 60)}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def booking_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """Asks for confirmation with the refund cancelling would give now (GET), then cancels (POST)."""
    booking = _booking_or_404(request, reference)
    if request.method == "POST":
        return _cancel(request, booking)
    if not booking.is_active:
        messages.info(request, _("This booking is no longer active, so there is nothing to cancel."))
        return redirect("booking_detail", reference=booking.reference)
    context = {"booking": booking, "refund_now": quotes.booking_refund_quote(booking=booking)}
    return render(request, "bookings/booking_cancel.html", context)


def _cancel(request: HttpRequest, booking: Booking) -> HttpResponse:
    try:
        cancellation = cancelling.booking_cancel(
            booking_id=booking.pk, actor=_actor(request), reason="cancelled by the traveller on the website"
        )
    except TransitionNotAllowed as error:
        messages.error(request, str(error))
    else:
        if not cancellation.changed:
            messages.info(request, _("This booking was already cancelled."))
        elif cancellation.refund_minor:
            refund = format_money(cancellation.refund_minor, booking.currency)
            messages.success(
                request,
                _("Your booking is cancelled. %(refund)s will be refunded to the card you paid with.")
                % {"refund": refund},
            )
        else:
            messages.success(request, _("Your booking is cancelled and its places are released."))
    return redirect("booking_detail", reference=booking.reference)


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited(BookingLookupThrottle)  # each attempt is a guess at a reference and an e-mail
def manage_booking(request: HttpRequest) -> HttpResponse:
    """Reference and e-mail open a booking in this browser. A miss never says which of the two was wrong."""
    # E-mails link here with the reference filled in; the e-mail address is still asked for.
    initial = {"reference": request.GET.get("reference", "")[:12]}
    form = ManageBookingForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        booking = booking_for_guest(reference=form.cleaned_data["reference"], email=form.cleaned_data["email"])
        if booking is not None:
            _remember(request, booking)
            return redirect("booking_detail", reference=booking.reference)
        form.add_error(None, _("No booking matches this reference and e-mail. Check both and try again."))
    context = {"form": form, "remembered": list(reversed(request.session.get(SESSION_KEY, [])))}
    return render(request, "bookings/manage.html", context, status=400 if form.errors else 200)
