"""The booking form's one-click fill: the signed-in traveller's saved travellers who fit each passenger (by age on
the day of travel) and saved vehicles of the kind searched for, each with what fills the fields and a warning when
a document expires before the trip is over."""

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from accounts.selectors import saved_travellers, saved_vehicles
from bookings.requests import AGES
from kernel import l10n

register = template.Library()


@register.simple_tag(takes_context=True)
def saved_details(context, selection) -> dict:
    """{"travellers": {type: [choice…]}, "vehicles": {category: [choice…]}, "fill": {key: fields}} for the page, or
    nothing for a guest."""
    user = context["request"].user
    if not user.is_authenticated:
        return {}
    days = [leg.sailing.local_day for leg in selection.legs]
    first, last = min(days), max(days)
    travellers: dict[str, list[dict]] = {kind: [] for kind in AGES}
    fill: dict[str, dict] = {}
    for traveller in saved_travellers(user):
        key = f"traveller-{traveller.pk}"
        fill[key] = {
            "first_name": traveller.first_name, "last_name": traveller.last_name,
            "date_of_birth": traveller.date_of_birth.isoformat(), "nationality": traveller.nationality,
            "document_number": traveller.document_number, "warning": _document_warning(traveller, last),
        }  # fmt: skip
        for kind, (low, high) in AGES.items():
            if low <= _age(traveller.date_of_birth, first) <= high:
                travellers[kind].append({"key": key, "name": f"{traveller.first_name} {traveller.last_name}"})
    vehicles: dict[str, list[dict]] = {}
    wanted = {vehicle.category for vehicle in selection.party.vehicles}
    for vehicle in saved_vehicles(user).filter(category__in=wanted) if wanted else []:
        key = f"vehicle-{vehicle.pk}"
        fill[key] = {"registration": vehicle.registration, "length_cm": vehicle.length_cm,
                     "height_cm": vehicle.height_cm}  # fmt: skip
        vehicles.setdefault(vehicle.category, []).append({"key": key, "name": vehicle.registration})
    return {"travellers": travellers, "vehicles": vehicles, "fill": fill}


@register.filter
def choices_for(saved: dict, kind: str) -> list[dict]:
    return saved.get("travellers", {}).get(kind, []) if saved else []


@register.filter
def vehicle_choices_for(saved: dict, category: str) -> list[dict]:
    """The saved vehicles of this category."""
    return saved.get("vehicles", {}).get(category, []) if saved else []


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _document_warning(traveller, last_day: dt.date) -> str:
    expires = traveller.document_expires
    if expires is None or expires >= last_day:
        return ""
    return _("%(name)s's %(document)s expires on %(day)s, before the end of this trip (%(last)s): check it is "
             "accepted, or renew it before you travel.") % {
        "name": traveller.first_name, "document": traveller.get_document_type_display().lower(),
        "day": l10n.medium_date(expires), "last": l10n.medium_date(last_day),
    }  # fmt: skip
