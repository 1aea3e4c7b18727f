"""The check-in page for port agents, made for a phone or tablet at the quay: choose the port and the sailing, scan an
e-ticket with the camera (or type the reference), see the party and whether it boards, record each traveller checked
in, then boarded.

Agents sign in with their staff account; the "Port agent" group (permission bookings.check_in_travellers) opens these
pages. The views only carry things: bookings.boarding decides what a scan means and records check-in and boarding.
"""

import functools

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings import boarding
from bookings.change_requests import ChangeRefused
from bookings.flows import remeasuring
from bookings.forms.quay import VehicleMeasureForm
from bookings.manifests import quay_sailings, sailing_progress
from bookings.models import BookingChange, TicketScan
from bookings.services import OperatorUnavailable
from ferries.models import Port, Sailing
from kernel.money import format_money
from kernel.throttling import SignInThrottle, rate_limited

PERMISSION = "bookings.check_in_travellers"
PORT_SESSION_KEY = "quay:port"


def agent(request: HttpRequest) -> str:
    return f"staff:{request.user.pk}"


def port_agent_required(view):
    """Signed in (else the sign-in page) and allowed to check travellers in (else 403)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('quay_login')}?next={request.path}")
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return never_cache(view)(request, *args, **kwargs)

    return guarded


@method_decorator(rate_limited(SignInThrottle), name="dispatch")
class QuayLoginView(auth_views.LoginView):
    template_name = "bookings/quay/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("quay_sailings")


@port_agent_required
def quay_sailings_page(request: HttpRequest) -> HttpResponse:
    """The chosen port's departures (the choice is remembered in the session)."""
    ports = Port.objects.order_by("name")
    code = request.GET.get("port") or request.session.get(PORT_SESSION_KEY, "")
    port = next((p for p in ports if p.code == code), None)
    if port:
        request.session[PORT_SESSION_KEY] = port.code
    sailings = (
        [(sailing, sailing_progress(sailing_id=sailing.pk)) for sailing in quay_sailings(port=port)] if port else []
    )
    return render(request, "bookings/quay/sailings.html", {"ports": ports, "port": port, "sailings": sailings})


@port_agent_required
@require_http_methods(["GET", "POST"])
def quay_sailing_page(request: HttpRequest, sailing_id: int) -> HttpResponse:
    """One sailing's check-in: the scanner and the reference field; a scan is recorded and its answer shown."""
    sailing = get_object_or_404(Sailing.objects.select_related("route__origin", "route__destination", "vessel"),
                                pk=sailing_id)  # fmt: skip
    if request.method == "POST":
        text = request.POST.get("code", "").strip()
        if not text or len(text) > 2000:
            messages.error(request, _("Scan an e-ticket or type a booking reference."))
            return redirect("quay_sailing", sailing_id=sailing.pk)
        scan = boarding.ticket_scan(sailing_id=sailing.pk, text=text, agent=agent(request))
        return redirect("quay_scan", sailing_id=sailing.pk, scan_id=scan.pk)
    recent = TicketScan.objects.filter(sailing=sailing, agent=agent(request)).select_related("booking")[:8]
    context = {"sailing": sailing, "progress": sailing_progress(sailing_id=sailing.pk), "recent": recent}
    return render(request, "bookings/quay/sailing.html", context)


@port_agent_required
@require_http_methods(["GET", "POST"])
def quay_scan_page(request: HttpRequest, sailing_id: int, scan_id: int) -> HttpResponse:
    """A scan's answer: loud when the ticket does not board, else the party with check-in and boarding to record."""
    scan = get_object_or_404(TicketScan.objects.select_related("sailing__route__origin"), pk=scan_id,
                             sailing_id=sailing_id)  # fmt: skip
    view = boarding.at_the_quay(scan=scan)
    if request.method == "POST" and view.leg is not None and request.POST.get("action") == "remeasure":
        form = VehicleMeasureForm(request.POST)
        if form.is_valid() and _remeasured(request, view, form):
            return redirect("quay_scan", sailing_id=sailing_id, scan_id=scan.pk)
        return _scan_page(request, scan, view, form, status=400)
    if request.method == "POST" and view.leg is not None:
        record = boarding.travellers_board if request.POST.get("action") == "board" else boarding.travellers_check_in
        try:
            ids = [int(pk) for pk in request.POST.getlist("passenger") if pk.isdigit()]
            record(leg_id=view.leg.pk, passenger_ids=ids, vehicle="vehicle" in request.POST, agent=agent(request))
        except boarding.BoardingRefused as refusal:
            messages.error(request, refusal.message)
        else:
            done = _("Boarded.") if request.POST.get("action") == "board" else _("Checked in.")
            messages.success(request, done)
        return redirect("quay_scan", sailing_id=sailing_id, scan_id=scan.pk)
    return _scan_page(request, scan, view, VehicleMeasureForm(initial=_booked_size(view)))


def _scan_page(request: HttpRequest, scan: TicketScan, view, form: VehicleMeasureForm, *, status: int = 200):
    context = {"sailing": scan.sailing, "view": view, "progress": sailing_progress(sailing_id=scan.sailing_id),
               "measure_form": form, "pending": view.booking and _awaiting_payment(view.booking)}  # fmt: skip
    return render(request, "bookings/quay/scan.html", context, status=status)


def _booked_size(view) -> dict:
    vehicle = view.vehicle
    return {"length_cm": vehicle.length_cm, "height_cm": vehicle.height_cm} if vehicle else {}


def _awaiting_payment(booking) -> BookingChange | None:
    return booking.changes.filter(kind=BookingChange.Kind.REMEASURED,
                                  status=BookingChange.Status.AWAITING_PAYMENT).first()  # fmt: skip


def _remeasured(request: HttpRequest, view, form: VehicleMeasureForm) -> bool:
    """Record the measure; False (the form's errors set) when it cannot be taken as it is."""
    try:
        done = remeasuring.vehicle_remeasure(booking_id=view.booking.pk, actor=agent(request), **form.cleaned_data)
    except ValidationError as error:
        for field, errors in getattr(error, "message_dict", {NON_FIELD_ERRORS: error.messages}).items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
        return False
    except ChangeRefused as refusal:
        form.add_error(None, refusal.message)
        return False
    except OperatorUnavailable as error:
        form.add_error(None, str(error))
        return False
    if done.change is None:
        messages.success(request, _("Measured: the size booked is right."))
    elif done.payment is not None:
        messages.warning(request, _("Larger than booked: %(amount)s to pay. The traveller is e-mailed a link to pay "
                                    "from their booking page.") % {
            "amount": format_money(done.change.due_minor, done.change.currency)})  # fmt: skip
    else:
        messages.success(request, _("Measured smaller than booked: the space is given back."))
    return True
