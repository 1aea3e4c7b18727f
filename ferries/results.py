"""A leg's sailings as the traveller asked to see them: labelled, filtered and ordered (`ResultsView`).

Labels are given over every sailing the party can book that day, whatever the filters, when there are two or more:
"cheapest" (the lowest price in any fare family) and "fastest" (the shortest crossing), each to every sailing that
ties for it. The
filters then keep the operators, the parts of the day (port time) and, if asked, the sailings the party can book;
the order is by departure, price or duration, sailings the party cannot book last when by price or duration.
"""

import datetime as dt

from ferries.queries import TIME_BANDS, ResultsView

# What a search may say of a sailing the party can still choose; the hold decides in the end.
BOOKABLE = frozenset({"available", "limited", "unknown"})


def lowest_fare_minor(row: dict) -> int:
    """The sailing's lowest price for the party, in any fare family (minor units)."""
    return min((fare["price"]["amount_minor"] for fare in row["fares"]), default=row["price"]["amount_minor"])


def arranged(rows: list[dict], view: ResultsView) -> tuple[list[dict], int]:
    """(the rows to show, labelled, filtered and ordered; how many the filters left out)."""
    bookable = [row for row in rows if row["availability"]["status"] in BOOKABLE]
    if len(bookable) < 2:
        bookable = []  # a label compares: one sailing alone gets none
    cheapest = min(map(lowest_fare_minor, bookable), default=None)
    fastest = min((row["duration_minutes"] for row in bookable), default=None)
    for row in rows:
        row["labels"] = [
            label
            for label, best in (("cheapest", row in bookable and lowest_fare_minor(row) == cheapest),
                                ("fastest", row in bookable and row["duration_minutes"] == fastest))
            if best
        ]  # fmt: skip
    shown = [row for row in rows if _kept(row, view)]
    return sorted(shown, key=_order(view.sort)), len(rows) - len(shown)


def _kept(row: dict, view: ResultsView) -> bool:
    if view.operators and row["operator"]["code"] not in view.operators:
        return False
    if view.available_only and row["availability"]["status"] not in BOOKABLE:
        return False
    if view.departs:
        hour = dt.datetime.fromisoformat(row["departs_local"]).hour
        return any(start <= hour < end for start, end in (TIME_BANDS[band] for band in view.departs))
    return True


def _order(sort: str):
    def by_departure(row: dict) -> tuple:
        return (row["departs_at"], row["operator"]["code"])

    def cannot_book(row: dict) -> bool:
        return row["availability"]["status"] not in BOOKABLE

    if sort == "price":
        return lambda row: (cannot_book(row), lowest_fare_minor(row), *by_departure(row))
    if sort == "duration":
        return lambda row: (cannot_book(row), row["duration_minutes"], *by_departure(row))
    return by_departure
