"""Ids of saved travellers and vehicles in URLs: only what fits the database's keys is looked up (PostgreSQL refuses
to compare a bigint with a larger number: a 500)."""

import re

ID = re.compile(r"[0-9]{1,18}")  # below 2**63, whatever the digits


class SavedIdConverter:
    """The website's: any other path matches no page (its 404)."""

    regex = ID.pattern

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class ApiSavedIdConverter(SavedIdConverter):
    """The API's: anything in its place reaches the view, as None when it cannot be an id, and is answered 404 as
    JSON, like an id that is not the account's."""

    regex = "[^/]+"

    def to_python(self, value: str) -> int | None:
        return int(value) if ID.fullmatch(value) else None
