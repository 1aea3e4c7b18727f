"""The booking reference where a URL names one: `<reference:reference>` on the website, `<api_reference:reference>`
in the API (both registered by `BookingsConfig`).

Only the shape of a reference is ever looked up: PostgreSQL refuses even to compare a string holding a NUL
character (a 500), and a guess that cannot be a reference costs no query.
"""

import re


class BookingReferenceConverter:
    """A path that holds anything else matches no page: the website answers its 404 page."""

    # Letters and digits, in either case (read aloud, typed from an e-mail); references are made upper-case.
    regex = "[A-Za-z0-9]{1,12}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


REFERENCE = re.compile(BookingReferenceConverter.regex)


class ApiBookingReferenceConverter(BookingReferenceConverter):
    """In the API, anything in the reference's place reaches the view, as None when it cannot be a reference: the
    view answers it as it answers a reference that does not exist (401, or 404 to a signed-in user, as JSON), so
    that the answer tells nothing about the references that do."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str | None:
        return value.upper() if REFERENCE.fullmatch(value) else None


class ApiChangeIdConverter:
    """A change's number in the API (`<api_change:change_id>`): anything in its place reaches the view, as None when
    it cannot be one, and is answered as a change that does not exist (JSON), after the booking's credentials."""

    regex = "[^/]+"

    def to_python(self, value: str) -> int | None:
        return int(value) if re.fullmatch(r"[0-9]{1,5}", value) else None

    def to_url(self, value: int) -> str:
        return str(value)
