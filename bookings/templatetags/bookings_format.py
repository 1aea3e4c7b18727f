"""Filters that turn a booking's stored values (minor units, codes) into what a traveller reads."""

from django import template
from django_countries import countries

from kernel.money import format_money

register = template.Library()


@register.filter
def amount(minor: int | None, currency: str) -> str:
    """12350|amount:"EUR" → €123.50."""
    if minor is None or not currency:
        return ""
    return format_money(minor, currency)


@register.filter
def country_name(code: str) -> str:
    """ "TN" → "Tunisia" ("Tunisie" in French): ISO 3166-1 names in the page's language; an unknown code as it is."""
    return countries.name(code) or code
