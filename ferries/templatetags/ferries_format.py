"""Filters that turn search results (plain data, the same rows as the API's) into what a traveller reads."""

import datetime as dt

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ferries import fare_rules
from ferries.choices import Accommodation, Amenity, Extra, PassengerType, PetType, VehicleCategory, VehicleLoad
from ferries.party import Party, Vehicle, pets_in_words
from ferries.queries import party_params
from ferries.search import BOOKABLE
from kernel.money import format_money

register = template.Library()

AVAILABILITY_LABELS = {
    "available": gettext_lazy("Available"),
    "sold_out": gettext_lazy("Sold out"),
    "unavailable": gettext_lazy("Not available for your vehicle or cabin"),
    "cancelled": gettext_lazy("Cancelled"),
    "departed": gettext_lazy("Departed"),
    "unknown": gettext_lazy("Availability to be confirmed"),
}


class PortTime(dt.datetime):
    """A moment already in its port's time zone, which templates must not move to the site's zone."""

    convert_to_local_time = False


@register.filter
def port_time(value: str) -> PortTime | None:
    """An ISO 8601 moment with its offset ("2026-06-12T19:00:00+01:00"), kept at that offset for `date`/`time`."""
    try:
        return PortTime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


@register.filter
def money(value: dict | None) -> str:
    """{"amount_minor": 12350, "currency": "EUR"} → €123.50."""
    if not value:
        return ""
    return format_money(value["amount_minor"], value["currency"])


@register.filter
def duration(minutes: int | None) -> str:
    """1260 → 21 h 00."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": rest}


@register.filter
def availability_label(availability: dict | None) -> str:
    status = (availability or {}).get("status")
    if status == "limited":
        places = availability["places_left"]
        return ngettext("Only %(count)d place left", "Only %(count)d places left", places) % {"count": places}
    return str(AVAILABILITY_LABELS.get(status, AVAILABILITY_LABELS["unknown"]))


@register.filter
def availability_status_label(status: str) -> str:
    """An availability status alone in words (sold out, not offered…), as `availability_label` says it."""
    return availability_label({"status": status, "places_left": 0}) if status != "limited" else _("Few places left")


@register.filter
def party_summary(party: Party) -> str:
    """2 adults, 1 child — types with nobody left out."""
    counts = [
        (party.adults, ngettext("%(count)d adult", "%(count)d adults", party.adults)),
        (party.children, ngettext("%(count)d child", "%(count)d children", party.children)),
        (party.infants, ngettext("%(count)d infant", "%(count)d infants", party.infants)),
        (party.seniors, ngettext("%(count)d senior", "%(count)d seniors", party.seniors)),
    ]
    return ", ".join(text % {"count": count} for count, text in counts if count)


@register.filter
def vehicle_summary(vehicles: tuple[Vehicle, ...] | Vehicle | None) -> str:
    """Car, 450 × 160 cm + Roof box; Bicycle, 180 × 110 cm — each of the party's vehicles (or one)."""
    if isinstance(vehicles, Vehicle):
        vehicles = (vehicles,)
    if not vehicles:
        return _("No vehicle")
    parts = []
    for vehicle in vehicles:
        part = _("%(category)s, %(length)d × %(height)d cm") % {
            "category": VehicleCategory(vehicle.category).label,
            "length": vehicle.length_cm,
            "height": vehicle.height_cm,
        }
        parts.append(f"{part} + {VehicleLoad(vehicle.load).label}" if vehicle.load else part)
    return "; ".join(parts)


@register.filter
def pets_summary(counts: dict[str, int]) -> str:
    """A party's or booking's `pet_counts` in words: "1 dog, 1 cat"."""
    return pets_in_words(counts)


@register.filter
def vehicle_params(party: Party) -> list[tuple[str, object]]:
    """The search parameters of the party's vehicles (`vehicle`, `vehicle2_height_cm`…), as a form passes them on."""
    return [(name, value) for name, value in party_params(party).items() if name.startswith("vehicle")]


@register.filter
def accommodation_label(kind: str) -> str:
    return str(Accommodation(kind).label) if kind in Accommodation.values else kind


# What a calendar day says when it has no price (ferries.calendar.DayStatus).
DAY_STATUS_LABELS = {
    "sold_out": gettext_lazy("Sold out"),
    "unavailable": gettext_lazy("No place"),
    "unknown": gettext_lazy("Try again"),
    "no_sailing": gettext_lazy("No sailing"),
}


@register.filter
def day_status_label(status: str) -> str:
    return str(DAY_STATUS_LABELS.get(status, ""))


@register.filter
def amenity_label(code: str) -> str:
    return str(Amenity(code).label) if code in Amenity.values else code


@register.filter
def price_line_label(code: str) -> str:
    """A price line's code ("adult", "vehicle:car", "accommodation:seat", "pets", "meal:dinner", …) in words."""
    kind, _sep, value = code.partition(":")
    if kind == "vehicle" and value in VehicleCategory.values:
        return str(VehicleCategory(value).label)
    if kind == "accommodation" and value in Accommodation.values:
        return str(Accommodation(value).label)
    if code in PassengerType.values:
        return str(PassengerType(code).label)
    if code == "pets":
        return _("Pets")
    if kind == "pet" and value in PetType.values:
        return str(PetType(value).label)
    if code in Extra.values:
        return str(Extra(code).label)
    if kind == "promo" and value:
        return _("Promo code %(code)s") % {"code": value}
    return code


@register.filter
def price_line(line: dict) -> str:
    """A price line's quantity and what it is: "2 × Adult (12–64)"; pets are counted in words ("1 pet", "2 dogs")."""
    quantity = line["quantity"]
    if line["code"] == "pets":
        return ngettext("%(count)d pet", "%(count)d pets", quantity) % {"count": quantity}
    kind, _sep, pet = line["code"].partition(":")
    if kind == "pet" and pet in PetType.values:  # "1 dog", "2 cats"
        return pets_in_words({pet: quantity})
    if line["code"].startswith("promo:"):  # a discount: once, whatever its quantity
        return price_line_label(line["code"])
    return _("%(quantity)d × %(label)s") % {"quantity": quantity, "label": price_line_label(line["code"])}


@register.filter
def refund_rule(policy: dict) -> str:
    return fare_rules.refund_rule(policy)


@register.filter
def change_rule(policy: dict) -> str:
    return fare_rules.change_rule(policy)


@register.filter
def bookable(status: str) -> bool:
    """Whether a sailing of this availability status may be chosen: the hold decides in the end."""
    return status in BOOKABLE
