"""E-tickets: a QR code per leg encoding a signed booking reference, as a PNG and in a PDF.

The code is signed with SECRET_KEY, so a scanner at the port (`ticket_verify`) can tell a genuine
ticket from a made-up reference without asking anyone.
"""

import io

import qrcode
from django.core import signing
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF

from bookings.models import Booking, BookingLeg

SALT = "maritime.eticket"


def ticket_code(leg: BookingLeg) -> str:
    return signing.dumps({"booking": leg.booking.reference, "leg": leg.direction}, salt=SALT, compress=True)


def ticket_verify(code: str) -> dict:
    """{"booking", "leg"} of a genuine code; raises django.core.signing.BadSignature otherwise."""
    return signing.loads(code, salt=SALT)


def qr_png(leg: BookingLeg) -> bytes:
    image = qrcode.make(ticket_code(leg), box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def eticket_pdf(booking: Booking) -> bytes:
    """One page per leg: what the crew checks — who, which sailing, when in port time, and the code."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    for leg in booking.legs.select_related("sailing__route__origin", "sailing__route__destination",
                                           "sailing__route__operator", "sailing__vessel"):  # fmt: skip
        _leg_page(pdf, booking, leg)
    return bytes(pdf.output())


def _leg_page(pdf: FPDF, booking: Booking, leg: BookingLeg) -> None:
    sailing, route = leg.sailing, leg.sailing.route
    departs = timezone.localtime(sailing.departs_at, route.origin.tz)
    arrives = timezone.localtime(sailing.arrives_at, route.destination.tz)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    title, reference, operator_reference = _("E-ticket"), _("Booking reference"), _("Operator reference")
    pdf.cell(0, 12, _latin(f"Maritime - {title}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 8, _latin(f"{reference}: {booking.reference}"), new_x="LMARGIN", new_y="NEXT")
    if leg.operator_booking_ref:
        pdf.cell(0, 8, _latin(f"{operator_reference}: {leg.operator_booking_ref}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, _latin(f"{route.origin.name} -> {route.destination.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    departs_label, arrives_label, on_board = _("Departs"), _("Arrives"), _("On board")
    for line in (
        f"{departs_label}: {date_format(departs, 'D j M Y H:i')} ({route.origin.name})",
        f"{arrives_label}: {date_format(arrives, 'D j M Y H:i')} ({route.destination.name})",
        f"{route.operator.name} - {sailing.vessel.name}",
        f"{on_board}: {booking.get_accommodation_display()}",
    ):
        pdf.cell(0, 7, _latin(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _latin(_("Passengers")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    for passenger in booking.passengers.all():
        name = f"{passenger.first_name} {passenger.last_name}"
        text = f"{name} ({passenger.get_type_display()}) - {passenger.document_number}"
        pdf.cell(0, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")
    vehicle = getattr(booking, "vehicle", None)
    if vehicle:
        label = _("Vehicle")
        pdf.cell(0, 7, _latin(f"{label}: {vehicle.get_category_display()} {vehicle.registration}"),
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(4)
    pdf.image(io.BytesIO(qr_png(leg)), w=60)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, _latin(_("Show this code at check-in with each passenger's passport or identity card.")))


def _latin(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1; other letters are shown as '?' rather than failing."""
    return str(text).replace("—", "-").replace("’", "'").encode("latin-1", "replace").decode("latin-1")
