"""Typed readers for settings that come from the environment.

Each reader names the variable in its error, so a bad value stops the process at start with a
message an operator can act on, instead of surfacing as a strange failure at the first request.
"""

import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# A rate as Django REST framework reads it: DRF looks only at the first letter of the period.
_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def is_set(name: str) -> bool:
    """True when the variable is present and not blank."""
    return bool(os.environ.get(name, "").strip())


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if not raw:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None
    _check_range(name, value, minimum, maximum)
    return value


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from None
    _check_range(name, value, minimum, maximum)
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blanks between commas are dropped."""
    raw = env_str(name)
    if not raw:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, *, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}; got {value!r}.")
    return value


def env_rate(name: str, default: str) -> str:
    """A request rate such as "120/minute" (per second, minute, hour or day)."""
    value = env_str(name, default)
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 120/minute (per second, minute, hour or day); got {value!r}."
        )
    return value


def env_url(name: str, default: str = "", *, schemes: set[str]) -> str:
    """A URL whose scheme is one of `schemes` (e.g. {"redis", "rediss"})."""
    value = env_str(name, default)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(f'{s}://' for s in sorted(schemes))}; got {value!r}."
        )
    return value


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server as `url`, database `db`."""
    parts = urlsplit(url)
    return parts._replace(path=f"/{db}").geturl()


def redis_location(url: str) -> tuple[str, int, int]:
    """(host, port, db) of a Redis URL, to tell whether two URLs share a database."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    return (parts.hostname or "localhost", parts.port or 6379, int(path) if path.isdigit() else 0)


def _check_range(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}.")
