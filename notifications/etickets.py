"""E-tickets: a boarding document per leg with a QR code of the leg's signed code (bookings.tickets), as a PNG and in
a PDF.

The PDF embeds DejaVu Sans (notifications/fonts/, with its licence), which has the Latin, Greek, Arabic and
Hebrew letters of the names on our routes: cut down ahead to those scripts when they draw all of a ticket's text
(notifications.typefaces); fpdf2 then keeps only the glyphs the ticket uses. Text goes through
HarfBuzz (fpdf2's text shaping, uharfbuzz), so Arabic letters are joined and right-to-left runs are laid out
right to left.

fpdf2 (with fontTools and numpy behind it) is imported when a PDF is made, not when the module is: every process
imports this module through the admin and the flows, and most never make a PDF (it would add about 0.4 s of CPU
to each start of a command, a worker or a web process).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import logging
from typing import TYPE_CHECKING

import qrcode
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bookings.models import Booking, BookingLeg, BookingVehicle
from bookings.tickets import ticket_code, ticket_signing_key_id
from ferries.party import pets_in_words
from kernel import l10n
from notifications import typefaces
from notifications.documents import digest, document_kept

if TYPE_CHECKING:
    from fpdf import FPDF

FAMILY = "DejaVuSans"
MARGIN, QR_SIZE, LABEL_WIDTH = 15, 48, 44  # millimetres
QR_MASK = 2  # one of the eight masks of the QR standard (0–7): stripes of every third column
GREY = (90, 100, 117)

# fontTools reports each step of cutting the fonts down to a ticket's glyphs at INFO: a score of lines per ticket.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


def right_to_left() -> bool:
    """Whether the document's language is written right to left (Arabic): its layout is then mirrored — text from
    the right edge, labels to the right of their values, the QR code on the left — and each paragraph is ordered by
    the Unicode bidirectional algorithm (fpdf2), so references and times keep their left-to-right order inside it."""
    return translation.get_language_bidi()


def start() -> str:
    """Where text lines up: the right edge in a right-to-left language, else the left."""
    return "R" if right_to_left() else "L"


def columns(cells: list) -> list:
    """A table row's cells from the start side: the first column on the right in a right-to-left language."""
    return cells[::-1] if right_to_left() else list(cells)


def leg_code(leg: BookingLeg) -> str:
    """The code of the leg on the booking's current e-tickets."""
    return ticket_code(reference=leg.booking.reference, direction=leg.direction, version=leg.booking.tickets_version)


def qr_png(leg: BookingLeg) -> bytes:
    return _qr_png(leg_code(leg))


@functools.lru_cache(maxsize=64)  # a confirmation draws each code twice: in its e-mail and on its e-tickets
def _qr_png(code: str) -> bytes:
    # A quiet zone of four modules, as the QR standard asks: scanners find the code by the blank around it. The mask
    # is chosen, not searched for: trying the eight masks for the one a scanner would find least ambiguous took most of
    # a code's CPU, and any of them makes a valid code (test_etickets scans those we draw).
    qr = qrcode.QRCode(box_size=6, border=4, mask_pattern=QR_MASK)
    qr.add_data(code)
    image = qr.make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def new_document(
    *,
    title: str,
    language: str,
    orientation: str = "portrait",
    text: str | None = None,
    dated: dt.datetime | None = None,
) -> FPDF:
    """An A4 document with our fonts, margins and text shaping, in the active language (else `language`). `text`:
    everything variable it will show, which chooses the fonts (typefaces.font_files; the whole ones when not given).
    `dated`: the creation date it carries, so that the same facts make the same bytes (else the time it is made)."""
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, format="A4")
    pdf.set_margins(MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.set_title(title)
    if dated is not None:
        pdf.set_creation_date(dated)
    pdf.set_lang(translation.get_language() or language)
    shown = None if text is None else f"{title}{text}"
    typefaces.add_fonts(pdf, FAMILY, typefaces.font_files(shown))
    pdf.set_text_shaping(typefaces.shaped(shown))
    return pdf


def eticket_pdf(booking: Booking) -> bytes:
    """The booking's e-tickets in the active language: one page per leg with what the crew checks — which sailing,
    when and where to check in, who and what boards. Made once for what they show, then kept (notifications.documents):
    a change of the booking, of its sailings or of the language makes them again."""
    facts = eticket_facts(booking)
    return document_kept(
        kind="eticket", folder=f"etickets/{booking.reference}", series=facts["language"], version=digest(facts),
        render=lambda: eticket_render(facts),
    )  # fmt: skip


def eticket_facts(booking: Booking) -> dict:
    """Everything the e-tickets show, in the active language, as plain data: what they are made from, and what the
    name they are kept under is made of."""
    # What the caller fetched already (booking_details) is used as it is; the rest is fetched here, once.
    legs = Prefetch(
        "legs",
        BookingLeg.objects.select_related(
            "sailing__route__origin", "sailing__route__destination", "sailing__route__operator", "sailing__vessel"
        ),
    )
    prefetch_related_objects([booking], legs, "passengers", "vehicles")
    vehicles = list(booking.vehicles.all())
    # Strings to translate are never inside an f-string: xgettext does not find them there.
    return {
        "language": translation.get_language() or booking.language,
        "rtl": right_to_left(),
        "reference": booking.reference,
        "booked_at": booking.created_at.isoformat(),  # the documents' date
        "version": booking.tickets_version,
        "signed_with": ticket_signing_key_id(),  # the codes drawn on the pages
        "title": _("E-ticket"),
        "reference_label": _("Booking reference"),
        "legs": [
            {
                "direction": leg.direction,
                "heading": f"{leg.get_direction_display()}: {leg.sailing.route.origin.name} → "
                f"{leg.sailing.route.destination.name}",
                "facts": _sailing_facts(leg),
            }
            for leg in booking.legs.all()
        ],
        "passengers_label": _("Passengers"),
        "columns": [_("Name"), _("Type"), _("Document")],
        "passengers": [
            [f"{passenger.first_name} {passenger.last_name}", passenger.get_type_display(), passenger.document_number]
            for passenger in booking.passengers.all()
        ],
        "party": [
            (_("Pets"), pets_in_words(booking.pet_counts) if booking.pets else _("None")),
            (_("On board"), booking.get_accommodation_display()),
            *[(_("Vehicle"), _vehicle(vehicle) if vehicle else _("None")) for vehicle in vehicles or [None]],
        ],
        "note": _("Show this code at check-in with each passenger's passport or identity card."),
    }


def eticket_render(facts: dict) -> bytes:
    """The PDF of `eticket_facts`, made now."""
    text = json.dumps(facts, ensure_ascii=False, default=str)
    dated = dt.datetime.fromisoformat(facts["booked_at"])
    pdf = new_document(
        title=f"{facts['title']} {facts['reference']}", language=facts["language"], text=text, dated=dated
    )
    for leg in facts["legs"]:
        _leg_page(pdf, facts, leg)
    return bytes(pdf.output())


def _leg_page(pdf: FPDF, facts: dict, leg: dict) -> None:
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 10, "Maritime — " + facts["title"], align=start(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 12)
    pdf.cell(0, 7, f"{facts['reference_label']}: {facts['reference']}", align=start(), new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    pdf.ln(3)
    pdf.set_font(FAMILY, "B", 14)
    pdf.multi_cell(0, 8, leg["heading"], align=start(), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    top = pdf.get_y()
    # The code beside the sailing's facts, large and alone on the page: one leg, one code to scan.
    rtl = right_to_left()
    code = ticket_code(reference=facts["reference"], direction=leg["direction"], version=facts["version"])
    pdf.image(io.BytesIO(_qr_png(code)), x=MARGIN if rtl else pdf.w - MARGIN - QR_SIZE, y=top, w=QR_SIZE, h=QR_SIZE)
    width = pdf.w - 2 * MARGIN - QR_SIZE - 3
    left = pdf.w - MARGIN - width if rtl else MARGIN
    for label, value, emphasis in leg["facts"]:
        _fact(pdf, label, value, left=left, width=width, emphasis=emphasis)
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE) + 4)
    _party(pdf, facts)
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(0, 5, facts["note"], align=start())


def _sailing_facts(leg: BookingLeg) -> list[tuple[str, str, bool]]:
    """Label, value and emphasis of each fact of the sailing; times in the time zone of the port they happen in."""
    sailing, route = leg.sailing, leg.sailing.route
    origin, destination = route.origin, route.destination
    departs = timezone.localtime(sailing.departs_at, origin.tz)
    arrives = timezone.localtime(sailing.arrives_at, destination.tz)
    closes = timezone.localtime(sailing.check_in_closes_at, origin.tz)
    facts = [
        (_("Operator"), route.operator.name, False),
        (_("Vessel"), sailing.vessel.name, False),
        (_("Sailing"), sailing.ref, False),
    ]
    if leg.operator_booking_ref:
        facts.append((_("Operator reference"), leg.operator_booking_ref, False))
    facts += [
        (_("Departs"), f"{l10n.day_year_time(departs)} · {origin.name}", True),
        (_("Arrives"), f"{l10n.day_year_time(arrives)} · {destination.name}", False),
        # Who comes later than this does not board: the one time on the ticket a traveller must not miss.
        (_("Check-in closes"), l10n.day_year_time(closes), True),
    ]
    terminal = route.departure_terminal
    if terminal.name:
        facts.append((_("Terminal"), ", ".join(filter(None, [terminal.name, terminal.address])), False))
    return facts


def _party(pdf: FPDF, facts: dict) -> None:
    """Who boards, with their type and document, and what comes with them."""
    pdf.set_font(FAMILY, "B", 12)
    pdf.cell(0, 8, facts["passengers_label"], align=start(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10.5)
    # A name has a cell of its own, so a right-to-left name is laid out on its own and not mixed into other text.
    from fpdf import FontFace

    with pdf.table(col_widths=tuple(columns([90, 50, 40])), headings_style=FontFace(emphasis="BOLD"),
                   line_height=7, text_align="RIGHT" if right_to_left() else "LEFT") as table:  # fmt: skip
        table.row(columns(facts["columns"]))
        for row in facts["passengers"]:
            table.row(columns(row))
    pdf.ln(3)
    width = pdf.w - 2 * MARGIN
    for label, value in facts["party"]:
        _fact(pdf, label, value, left=MARGIN, width=width)


def _vehicle(vehicle: BookingVehicle) -> str:
    size = _("%(length)s × %(height)s cm (length × height)") % {
        "length": vehicle.length_cm,
        "height": vehicle.height_cm,
    }
    load = f" + {vehicle.get_load_display()}" if vehicle.load else ""
    return f"{vehicle.get_category_display()} · {vehicle.registration} · {size}{load}"


def _fact(pdf: FPDF, label: str, value: str, *, left: float, width: float, emphasis: bool = False) -> None:
    """A label and its value side by side in the band [left, left + width]: the label at the start side."""
    top = pdf.get_y()
    rtl = right_to_left()
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.set_text_color(*GREY)
    pdf.set_x(left + width - LABEL_WIDTH + 2 if rtl else left)
    # Labels wrap rather than run into their value: some translations are long ("Référence de l'armateur").
    label_height = pdf.multi_cell(LABEL_WIDTH - 2, 6.5, label, align=start(), new_x="RIGHT", new_y="TOP",
                                  output="HEIGHT")  # fmt: skip
    pdf.set_xy(left if rtl else left + LABEL_WIDTH, top)
    pdf.set_font(FAMILY, "B" if emphasis else "", 10)
    pdf.set_text_color(0)
    pdf.multi_cell(width - LABEL_WIDTH, 6.5, value, align=start(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + label_height))
