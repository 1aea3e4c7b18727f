import re

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from bookings.selectors import booking_for_browser
from ferries.queries import PARTY_FIELDS
from kernel.throttling import TravelAlertThrottle, rate_limited
from notifications import travel_alerts
from notifications.etickets import eticket_pdf
from notifications.forms import TravelAlertForm
from notifications.invoices import invoice_link_opens, invoice_pdf
from notifications.models import TravelAlert
from payments.models import Invoice

INVOICE_NUMBER = re.compile(r"(INV|CN)-[0-9]{4}-[0-9]{6}")


@never_cache
@require_safe
def eticket_download(request: HttpRequest, reference: str) -> HttpResponse:
    """The e-tickets of a confirmed booking, for the browser that has it (as on "manage my booking")."""
    booking = booking_for_browser(reference=reference, session=request.session, user=request.user)
    if booking is None or not booking.has_tickets:
        raise Http404
    with translation.override(request.LANGUAGE_CODE):
        pdf = eticket_pdf(booking)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="e-ticket-{booking.reference}.pdf"'
    return response


@never_cache
@require_safe
def invoice_download(request: HttpRequest, reference: str, number: str) -> HttpResponse:
    """An invoice or credit note of the booking, as a PDF: for the browser that has the booking, staff who may see
    bookings, or a link the API gave (`?key=`, valid a day). Anyone else learns nothing."""
    if not INVOICE_NUMBER.fullmatch(number):
        raise Http404
    invoice = Invoice.objects.select_related("booking").filter(number=number, booking__reference=reference).first()
    if invoice is None or not _may_open(request, invoice):
        raise Http404
    with translation.override(invoice.booking.language):
        pdf = invoice_pdf(invoice)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


def _may_open(request: HttpRequest, invoice: Invoice) -> bool:
    user = request.user
    if user.is_authenticated and user.is_staff and user.has_perm("bookings.view_booking"):
        return True
    if key := request.GET.get("key"):
        return invoice_link_opens(key, invoice)
    reference = invoice.booking.reference
    return booking_for_browser(reference=reference, session=request.session, user=user) is not None


# --- travel alerts -------------------------------------------------------------------------------------------------

# What the link from the results page names: the kind, the sailing or the day's search, and the party.
ALERT_PARAMS = ("kind", "from", "to", "date", *PARTY_FIELDS)


def _watched(params: QueryDict) -> dict:
    data = {name: params[name] for name in ALERT_PARAMS if params.get(name)}
    if params.get("sailing"):
        data["sailing_id"] = params["sailing"]
    return data


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited(TravelAlertThrottle)  # each alert set may e-mail an address
def travel_alert_new(request: HttpRequest) -> HttpResponse:
    """An alert on what the results page's link names (GET), set for the address typed (POST)."""
    watched = _watched(request.GET)
    try:
        target = travel_alerts.parse_alert_request(watched, whole=False)
    except ValidationError as error:
        return render(request, "notifications/travel_alert_refused.html", {"problems": error.messages}, status=400)
    price = target.kind == TravelAlert.Kind.PRICE
    preview = travel_alerts.alert_preview(target)
    user_email = request.user.email if request.user.is_authenticated else ""
    currency = preview["lowest"]["currency"] if preview["lowest"] else "EUR"
    form = TravelAlertForm(request.POST or None, price=price, currency=currency, initial={"email": user_email})
    context = {"form": form, "target": target, "preview": preview}
    if request.method != "POST":
        return render(request, "notifications/travel_alert_new.html", context)
    data = watched | {"email": form.data.get("email", "")}
    if price and (limit := form.limit()):
        data["below"] = limit
    try:
        alert_request = travel_alerts.parse_alert_request(data)
        if form.errors:  # the limit typed is not an amount
            return render(request, "notifications/travel_alert_new.html", context, status=400)
        alert = travel_alerts.alert_create(
            request=alert_request, owner=request.user if request.user.is_authenticated else None,
            language=request.LANGUAGE_CODE, verified=travel_alerts.address_verified(request.user, alert_request.email),
        )  # fmt: skip
    except ValidationError as error:
        form.add_request_errors(error)
        return render(request, "notifications/travel_alert_new.html", context, status=400)
    return render(request, "notifications/travel_alert_done.html", {"alert": alert, "target": target})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def travel_alert_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation e-mail: a page with the button that confirms (a link opened by a mail scanner
    confirms nothing)."""
    alert = travel_alerts.alert_of_token(token, stop=False)
    if alert is None:
        return render(request, "notifications/travel_alert_link.html", {"invalid": True}, status=404)
    done = request.method == "POST" and travel_alerts.alert_confirm(alert=alert)
    return render(request, "notifications/travel_alert_link.html", {"alert": alert, "confirm": True, "done": done})


@csrf_exempt  # the token is the proof; mail programs send their one-click unsubscribe (RFC 8058) without a form
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def travel_alert_stop(request: HttpRequest, token: str) -> HttpResponse:
    """The link of every alert e-mail: a page with the button that stops it; a mail program's one-click POST."""
    alert = travel_alerts.alert_of_token(token, stop=True)
    if alert is None:
        return render(request, "notifications/travel_alert_link.html", {"invalid": True}, status=404)
    if request.method == "POST":
        travel_alerts.alert_stop(alert=alert)
    done = alert.stopped_at is not None
    return render(request, "notifications/travel_alert_link.html", {"alert": alert, "confirm": False, "done": done})
