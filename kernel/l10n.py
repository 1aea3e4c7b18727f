"""Amounts, dates and times as the active language writes them: the CLDR's patterns, through Babel.

Django translates month and day names but keeps the order of a hand-written format ("D j M"); these functions take
the whole pattern from the locale instead: "Thu 3 Dec" in English, "jeu. 3 déc." in French, "Do., 3. Dez." in
German, "الخميس، 3 ديسمبر" in Arabic. Times are on the 24-hour clock in every language (the timetables are), and
digits are Latin in Arabic too, as they are written in the Maghreb and on every ferry ticket.

A datetime is written in its own time zone (callers move it to the port's zone first); a naive one as it is.
"""

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.utils.translation import get_language, to_locale

# Our English is British English (travellers, cancelled): its formats too (3 Dec 2026, not Dec 3, 2026).
BABEL_LOCALES = {"en": "en_GB"}


def babel_locale(language: str | None = None) -> Locale:
    """The Babel locale of a language code (the active language when None; English when none is active)."""
    return _locale(language or get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=32)
def _locale(language: str) -> Locale:
    base = language.split("-")[0]
    try:
        return Locale.parse(BABEL_LOCALES.get(language) or BABEL_LOCALES.get(base) or to_locale(language))
    except (ValueError, LookupError):
        return Locale.parse(BABEL_LOCALES.get(base) or base)


def money(amount: Decimal, currency: str, language: str | None = None) -> str:
    """Decimal("1115.50"), "EUR" → €1,115.50 (en), 1 115,50 € (fr), 1.115,50 € (de); taken off: −€12.00."""
    sign = "\u2212" if amount < 0 else ""
    return sign + format_currency(abs(amount), currency, locale=babel_locale(language))


def number(value: int | Decimal, language: str | None = None) -> str:
    return format_decimal(value, locale=babel_locale(language))


def _skeleton(skeleton: str, value: dt.date | dt.datetime | None) -> str:
    return "" if value is None else format_skeleton(skeleton, value, locale=babel_locale())


def day(value: dt.date | None) -> str:
    """Thu 3 Dec · jeu. 3 déc. · gio 3 dic · jue, 3 dic · Do., 3. Dez. · الخميس، 3 ديسمبر"""
    return _skeleton("MMMEd", value)


def day_year(value: dt.date | None) -> str:
    """Thu, 3 Dec 2026"""
    return _skeleton("yMMMEd", value)


def medium_date(value: dt.date | None) -> str:
    """3 Dec 2026"""
    return _skeleton("yMMMd", value)


def short_date(value: dt.date | None) -> str:
    """03/12/2026 · 3.12.2026 (dates of birth, in tables)"""
    return _skeleton("yMd", value)


def long_date(value: dt.date | None) -> str:
    """Thursday, 3 December 2026"""
    return "" if value is None else format_date(value, "full", locale=babel_locale())


def month_year(value: dt.date | None) -> str:
    """December 2026"""
    return _skeleton("yMMMM", value)


def day_month(value: dt.date | None) -> str:
    """3 December"""
    return _skeleton("MMMMd", value)


def clock(value: dt.time | dt.datetime | None) -> str:
    """14:05"""
    return _skeleton("Hm", value)


def _at(date_part: str, value: dt.datetime) -> str:
    """A date and its time joined as the language joins them (Thu 3 Dec, 14:05)."""
    pattern = babel_locale().datetime_formats["medium"]
    return str(pattern).replace("{1}", date_part).replace("{0}", clock(value))


def day_time(value: dt.datetime | None) -> str:
    """Thu 3 Dec, 14:05"""
    return "" if value is None else _at(day(value), value)


def day_year_time(value: dt.datetime | None) -> str:
    """Thu, 3 Dec 2026, 14:05"""
    return "" if value is None else _at(day_year(value), value)


def medium_date_time(value: dt.datetime | None) -> str:
    """3 Dec 2026, 14:05"""
    return "" if value is None else _at(medium_date(value), value)
