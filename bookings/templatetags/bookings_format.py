"""Filters that turn a booking's stored values (minor units, codes) into what a traveller reads."""

from django import template

from ferries.money import format_money

register = template.Library()


@register.filter
def amount(minor: int | None, currency: str) -> str:
    """12350|amount:"EUR" → €123.50."""
    if minor is None or not currency:
        return ""
    return format_money(minor, currency)
