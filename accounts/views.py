"""The traveller's account pages: trips, saved travellers and vehicles, claiming a guest booking, privacy.
Signing up, in and out, passwords and the e-mail address are allauth's pages (under /accounts/ too)."""

import json

from allauth.account.decorators import verified_email_required
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts import flows, selectors, services
from accounts.forms import ClaimCodeForm, ClaimForm, DeleteAccountForm, TravellerForm, VehicleForm
from kernel.throttling import BookingClaimThrottle, rate_limited

# GET and HEAD show a page; POST changes something.
PAGE = ["GET", "HEAD"]
PAGE_OR_FORM = ["GET", "HEAD", "POST"]


@never_cache
@require_http_methods(PAGE)
@verified_email_required
def my_trips(request: HttpRequest) -> HttpResponse:
    trips = selectors.account_trips(request.user)
    return render(request, "accounts/trips.html", {"trips": trips})


@never_cache
@require_http_methods(PAGE)
@verified_email_required
def account_home(request: HttpRequest) -> HttpResponse:
    context = {
        "travellers": list(selectors.saved_travellers(request.user)),
        "vehicles": list(selectors.saved_vehicles(request.user)),
        "today": timezone.localdate(),
    }
    return render(request, "accounts/account.html", context)


# --- saved travellers and vehicles -----------------------------------------------------------------------------


def _saved_page(request: HttpRequest, *, form_class, instance, add, update, headings: tuple[str, str], lead: str,
                saved: str):  # fmt: skip
    initial = {}
    if instance is not None:
        initial = {name: getattr(instance, name) for name in form_class.base_fields}
        initial = {name: "" if value is None else value for name, value in initial.items()}
    form = form_class(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        try:
            if instance is None:
                add(owner=request.user, data=form.data_for_service)
            else:
                update(instance, data=form.data_for_service)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, saved)
            return redirect("account_home")
    context = {"form": form, "heading": headings[instance is not None], "lead": lead}
    return render(request, "accounts/saved_form.html", context, status=400 if form.errors else 200)


@never_cache
@require_http_methods(PAGE_OR_FORM)
@verified_email_required
def traveller_page(request: HttpRequest, traveller_id: int | None = None) -> HttpResponse:
    traveller = None
    if traveller_id is not None:
        traveller = selectors.saved_travellers(request.user).filter(pk=traveller_id).first() or _not_found()
    return _saved_page(
        request, form_class=TravellerForm, instance=traveller, add=services.traveller_add,
        update=lambda t, data: services.traveller_update(traveller=t, data=data),
        headings=(_("Add a traveller"), _("Edit a traveller")), saved=_("Traveller saved."),
        lead=_("As written in the passport or identity card they travel with."),
    )  # fmt: skip


@never_cache
@require_http_methods(PAGE_OR_FORM)
@verified_email_required
def vehicle_page(request: HttpRequest, vehicle_id: int | None = None) -> HttpResponse:
    vehicle = None
    if vehicle_id is not None:
        vehicle = selectors.saved_vehicles(request.user).filter(pk=vehicle_id).first() or _not_found()
    return _saved_page(
        request, form_class=VehicleForm, instance=vehicle, add=services.vehicle_add,
        update=lambda v, data: services.vehicle_update(vehicle=v, data=data),
        headings=(_("Add a vehicle"), _("Edit a vehicle")), saved=_("Vehicle saved."),
        lead=_("As on its registration certificate; its size is checked at the port."),
    )  # fmt: skip


@require_POST
@verified_email_required
def traveller_delete(request: HttpRequest, traveller_id: int) -> HttpResponse:
    deleted, _rows = selectors.saved_travellers(request.user).filter(pk=traveller_id).delete()
    if not deleted:
        _not_found()
    messages.success(request, _("Traveller removed."))
    return redirect("account_home")


@require_POST
@verified_email_required
def vehicle_delete(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    deleted, _rows = selectors.saved_vehicles(request.user).filter(pk=vehicle_id).delete()
    if not deleted:
        _not_found()
    messages.success(request, _("Vehicle removed."))
    return redirect("account_home")


@csrf_exempt  # answers nothing but 404, to any method
def not_offered(request: HttpRequest) -> JsonResponse:
    """What allauth's headless API offers and accounts here do not have (a phone number): not found, as JSON."""
    return JsonResponse({"status": 404, "errors": [{"message": _("Not found."), "code": "not_found"}]}, status=404)


def _not_found():
    raise Http404  # another account's, or none: the same answer


# --- claiming a guest booking ----------------------------------------------------------------------------------


@never_cache
@require_http_methods(PAGE_OR_FORM)
@verified_email_required
@rate_limited(BookingClaimThrottle)  # each code asked for, and each code typed, is a guess
def claim_page(request: HttpRequest) -> HttpResponse:
    """Reference → a code to the booking's address → the code typed → the booking in the account's trips."""
    if request.method == "POST" and "code" in request.POST:
        form = ClaimCodeForm(request.POST)
        reference = request.POST.get("reference", "")
        try:
            booking = services.claim_confirm(user=request.user, reference=reference, code=request.POST["code"])
        except ValidationError as error:
            form.add_service_errors(error)
            return render(request, "accounts/claim_code.html", {"form": form, "reference": reference}, status=400)
        messages.success(request, _("Booking %(reference)s is in your trips now.") % {"reference": booking.reference})
        return redirect("booking_detail", reference=booking.reference)
    form = ClaimForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        reference = request.POST.get("reference", "").strip().upper()[:12]
        try:
            services.claim_start(user=request.user, reference=reference)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            # The same words whether or not the booking exists: the reference alone reveals nothing.
            code_form = ClaimCodeForm(initial={"reference": reference})
            return render(request, "accounts/claim_code.html", {"form": code_form, "reference": reference})
    return render(request, "accounts/claim.html", {"form": form}, status=400 if form.errors else 200)


# --- privacy: export and deletion --------------------------------------------------------------------------------


@never_cache
@require_http_methods(PAGE)
@verified_email_required
def privacy_page(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/privacy.html", {"form": DeleteAccountForm()})


@never_cache
@require_http_methods(PAGE)
@verified_email_required
def export_download(request: HttpRequest) -> HttpResponse:
    data = selectors.account_export(request.user)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="maritime-account-{stamp}.json"'
    return response


@require_POST
@verified_email_required
def account_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST)
    try:
        flows.account_delete(
            user=request.user, password=request.POST.get("password", ""), confirmed=bool(request.POST.get("confirm"))
        )
    except ValidationError as error:
        form.add_error(None, error)
        return render(request, "accounts/privacy.html", {"form": form}, status=400)
    logout(request)
    messages.success(request, _("Your account is deleted. Bookings still to travel can be found with their reference."))
    return redirect("home")
