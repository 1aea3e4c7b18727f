import re

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from bookings.selectors import booking_for_browser
from notifications.etickets import eticket_pdf
from notifications.invoices import invoice_link_opens, invoice_pdf
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
