"""Filters every template has (settings: TEMPLATES builtins): dates and times in the page's language (kernel.l10n).

Like Django's `date`, each moves an aware datetime to the current time zone first, unless it was placed in a port's
zone already (`|timezone:…`, `port_time`): {{ sailing.departs_at|timezone:tz|day_time }} → Thu 3 Dec, 14:05.
"""

from django import template

from kernel import l10n

register = template.Library()

for _name in (
    "day",
    "day_year",
    "medium_date",
    "short_date",
    "long_date",
    "month_year",
    "day_month",
    "clock",
    "day_time",
    "day_year_time",
    "medium_date_time",
):
    register.filter(_name, getattr(l10n, _name), expects_localtime=True, is_safe=False)
