"""A sailing's manifest in the admin: the page (load factor by resource, check-in progress, everyone and everything on
board) and its downloads, CSV and PDF. Staff who may read bookings open it from the sailings' list and pages."""

import csv
import datetime as dt
import io

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from bookings.manifests import Manifest, sailing_manifest
from ferries.choices import Resource
from ferries.models import Sailing
from notifications.manifests import manifest_pdf

PERMISSION = "bookings.view_booking"
CSV_COLUMNS = [
    "kind", "booking", "last_name", "first_name", "type", "date_of_birth", "nationality", "document_number",
    "assistance", "accommodation", "category", "registration", "length_cm", "height_cm", "load", "measured_at",
    "checked_in_at", "boarded_at",
]  # fmt: skip


def manifest_page(model_admin, request: HttpRequest, sailing_id: int) -> HttpResponse:
    manifest = _manifest(request, sailing_id)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Manifest of %(ref)s") % {"ref": manifest.sailing.ref},
        "manifest": manifest,
        "loads": _loads(manifest.sailing),
    }
    return TemplateResponse(request, "admin/bookings/sailing_manifest.html", context)


def manifest_csv(model_admin, request: HttpRequest, sailing_id: int) -> HttpResponse:
    manifest = _manifest(request, sailing_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in manifest_rows(manifest):
        writer.writerow(row)
    return _download(out.getvalue().encode("utf-8-sig"), "text/csv", f"manifest-{manifest.sailing.ref}.csv")


def manifest_download_pdf(model_admin, request: HttpRequest, sailing_id: int) -> HttpResponse:
    manifest = _manifest(request, sailing_id)
    return _download(manifest_pdf(manifest), "application/pdf", f"manifest-{manifest.sailing.ref}.pdf")


def manifest_rows(manifest: Manifest) -> list[dict]:
    """One row per passenger then per vehicle; times in UTC, ISO 8601."""
    stamp = lambda moment: moment.astimezone(dt.UTC).isoformat() if moment else ""  # noqa: E731
    rows = [
        {"kind": "passenger", "booking": p.reference, "last_name": p.last_name, "first_name": p.first_name,
         "type": p.type, "date_of_birth": p.date_of_birth.isoformat(), "nationality": p.nationality,
         "document_number": p.document_number, "assistance": p.assistance, "accommodation": p.accommodation,
         "checked_in_at": stamp(p.checked_in_at), "boarded_at": stamp(p.boarded_at)}
        for p in manifest.passengers
    ]  # fmt: skip
    rows += [
        {"kind": "vehicle", "booking": v.reference, "category": v.category, "registration": v.registration,
         "length_cm": v.length_cm, "height_cm": v.height_cm, "load": v.load, "measured_at": stamp(v.measured_at),
         "checked_in_at": stamp(v.checked_in_at),
         "boarded_at": stamp(v.boarded_at)}
        for v in manifest.vehicles
    ]  # fmt: skip
    return rows


def _manifest(request: HttpRequest, sailing_id: int) -> Manifest:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    get_object_or_404(Sailing, pk=sailing_id)
    return sailing_manifest(sailing_id=sailing_id)


def _loads(sailing: Sailing) -> list[dict]:
    """Each resource of the sailing: capacity, taken (held or sold), and the load factor."""
    loads = []
    for row in sailing.inventory.order_by("resource"):
        scale = 100 if row.resource == Resource.LANE_CM else 1  # lane metres, as staff count them
        loads.append({
            "resource": _("Vehicle deck (lane metres)") if scale == 100 else Resource(row.resource).label,
            "capacity": row.capacity // scale, "taken": row.taken // scale, "remaining": row.remaining // scale,
            "percent": round(100 * row.taken / row.capacity) if row.capacity else 0,
        })  # fmt: skip
    return loads


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
