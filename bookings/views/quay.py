"""The check-in page for port agents, made for a phone or tablet at the quay: choose the port and the sailing, scan an
e-ticket with the camera (or type the reference), see the party and whether it boards, record each traveller checked
in, then boarded.

Agents sign in with their staff account; the "Port agent" group (permission bookings.check_in_travellers) opens these
pages. The views only carry things: bookings.boarding decides what a scan means and records check-in and boarding.
"""

import functools

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings import boarding
from bookings.manifests import quay_sailings, sailing_progress
from bookings.models import TicketScan
from ferries.models import Port, Sailing
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
    context = {"sailing": scan.sailing, "view": view, "progress": sailing_progress(sailing_id=sailing_id)}
    return render(request, "bookings/quay/scan.html", context, status=200)
