"""A sailing's manifest as a PDF for the crew and the port's authorities: the sailing, then every passenger (name,
date of birth, nationality, document), every vehicle (category, registration, size), cabins and pets, each with check-in
and boarding times — landscape A4, names of any alphabet shaped as on the e-tickets."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.manifests import Manifest
from kernel import l10n
from notifications.etickets import FAMILY, new_document

PASSENGER_COLUMNS = (22, 48, 48, 22, 24, 16, 30, 34, 15, 15)
VEHICLE_COLUMNS = (22, 40, 40, 36, 15, 15)


def manifest_pdf(manifest: Manifest) -> bytes:
    from fpdf import FontFace

    sailing, route = manifest.sailing, manifest.sailing.route
    # Strings to translate are never inside an f-string: xgettext does not find them there.
    manifest_title = _("Manifest")
    pdf = new_document(title=f"{manifest_title} {sailing.ref}", language="en", orientation="landscape")
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 16)
    pdf.cell(0, 9, f"{manifest_title} — {route.origin.name} → {route.destination.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    departs = l10n.day_year_time(timezone.localtime(sailing.departs_at, route.origin.tz))
    departs_label = _("Departs")
    pdf.cell(0, 6, f"{route.operator.name} · {sailing.vessel.name} (IMO {sailing.vessel.imo}) · {sailing.ref} · "
                   f"{departs_label} {departs}", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    progress = manifest.progress
    now = l10n.day_year_time(timezone.localtime(timezone.now(), route.origin.tz))
    pdf.cell(0, 6, _("%(passengers)d passengers (%(checked_in)d checked in, %(boarded)d boarded) · %(vehicles)d "
                     "vehicles · %(pets)d pets · printed %(now)s") % {
        "passengers": progress.passengers, "checked_in": progress.checked_in, "boarded": progress.boarded,
        "vehicles": progress.vehicles, "pets": manifest.pets, "now": now}, new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    heading = FontFace(emphasis="BOLD", fill_color=(230, 236, 242))
    _title(pdf, _("Passengers"))
    with pdf.table(col_widths=PASSENGER_COLUMNS, headings_style=heading, line_height=5.5) as table:
        table.row([_("Booking"), _("Last name"), _("First name"), _("Type"), _("Born"), _("Nationality"),
                   _("Document"), _("On board"), _("Checked in"), _("Boarded")])  # fmt: skip
        for p in manifest.passengers:
            table.row([p.reference, p.last_name, p.first_name, p.type_label,
                       l10n.short_date(p.date_of_birth), p.nationality, p.document_number,
                       p.accommodation_label, _time(p.checked_in_at, route), _time(p.boarded_at, route)])  # fmt: skip
    if manifest.vehicles:
        _title(pdf, _("Vehicles"))
        with pdf.table(col_widths=VEHICLE_COLUMNS, headings_style=heading, line_height=5.5) as table:
            table.row([_("Booking"), _("Category"), _("Registration"), _("Length × height (cm)"),
                       _("Checked in"), _("Boarded")])  # fmt: skip
            for v in manifest.vehicles:
                table.row([v.reference, v.category_label, v.registration,
                           f"{v.length_cm} × {v.height_cm}" + (" (" + _("measured") + ")" if v.measured_at else "")
                           + (f" + {v.load_label}" if v.load else ""),
                           _time(v.checked_in_at, route),
                           _time(v.boarded_at, route)])  # fmt: skip
    if manifest.assistance:
        _title(pdf, _("Assistance"))
        with pdf.table(col_widths=(30, 70, 70), headings_style=heading, line_height=5.5) as table:
            table.row([_("Booking"), _("Name"), _("Needs")])
            for p in manifest.assistance:
                table.row([p.reference, f"{p.last_name}, {p.first_name}", str(p.assistance_label)])
    extras = [b for b in manifest.bookings if b.cabins or b.pets]
    if extras:
        _title(pdf, _("Cabins and pets"))
        with pdf.table(col_widths=(30, 65, 20, 55), headings_style=heading, line_height=5.5) as table:
            table.row([_("Booking"), _("On board"), _("Cabins"), _("Pets")])
            for b in extras:
                table.row([b.reference, b.accommodation_label, str(b.cabins), b.pets_label or "0"])
    return bytes(pdf.output())


def _title(pdf, text: str) -> None:
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 12)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 8.5)


def _time(moment, route) -> str:
    return timezone.localtime(moment, route.origin.tz).strftime("%H:%M") if moment else ""
