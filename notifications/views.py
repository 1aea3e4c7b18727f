from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from bookings.selectors import booking_for_browser
from notifications.etickets import eticket_pdf


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
