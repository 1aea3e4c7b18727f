"""What the cache's keys name: the searches an entry is made of, read back by clearing (`keys.made_of`)."""

import datetime as dt

from ferries.cache import keys
from ferries.party import Party
from ferries.queries import NEARBY_DAYS, CalendarQuery, LegQuery, ResultsView, SearchQuery

DAY = dt.date(2027, 7, 14)


def leg(origin="TNTUN", destination="FRMRS", day=DAY) -> LegQuery:
    return LegQuery(origin=origin, destination=destination, day=day, party=Party(adults=2))


def test_a_legs_search_names_its_route_and_day():
    assert keys.made_of(keys.search_key(leg())) == [("TNTUN-FRMRS", DAY, DAY)]


def test_a_fare_calendar_names_its_route_and_every_day_it_shows():
    query = CalendarQuery("TNTUN", "FRMRS", dt.date(2027, 7, 1), dt.date(2027, 7, 31), Party(adults=2))
    named = [("TNTUN-FRMRS", dt.date(2027, 7, 1), dt.date(2027, 7, 31))]

    assert keys.made_of(keys.calendar_key(query)) == named
    assert keys.made_of(keys.calendar_answer_key(query)) == named


def test_a_fare_calendars_keys_are_remembered_and_the_same_as_made_afresh():
    def query(vehicles=()) -> CalendarQuery:
        return CalendarQuery("TNTUN", "FRMRS", dt.date(2027, 7, 1), dt.date(2027, 7, 31), Party(2, vehicles=vehicles))

    keys._calendar_answer_key.cache_clear()
    first, again = keys.calendar_answer_key(query()), keys.calendar_answer_key(query())  # equal queries: one key

    assert keys._calendar_answer_key.cache_info()[:2] == (1, 1)  # hits, misses
    assert first == again == keys._calendar_answer_key.__wrapped__(query())
    assert first.startswith(keys.CALENDAR_ANSWER_PREFIX)
    assert first.removeprefix(keys.CALENDAR_ANSWER_PREFIX) == keys.calendar_key(query()).removeprefix(
        keys.CALENDAR_PREFIX
    )
    # A query that cannot be hashed (a list somewhere) is keyed all the same, not remembered.
    assert keys.calendar_key(query(vehicles=[])) == keys.calendar_key(query())


def test_a_whole_answer_names_each_legs_route_and_the_days_its_nearby_dates_may_come_from():
    back = leg("FRMRS", "TNTUN", DAY + dt.timedelta(days=5))
    query = SearchQuery(outbound=leg(), inbound=back, view=ResultsView())
    reach = dt.timedelta(days=max(abs(n) for n in NEARBY_DAYS))
    name = keys.answer_key(query)

    assert keys.made_of(name) == [
        ("TNTUN-FRMRS", DAY - reach, DAY + reach),
        ("FRMRS-TNTUN", back.day - reach, back.day + reach),
    ]
    assert keys.names_all(name, [leg(day=DAY + dt.timedelta(days=n)) for n in NEARBY_DAYS])
    assert not keys.names_all(name, [leg(day=DAY + reach + dt.timedelta(days=1))])
    assert not keys.names_all(name, [leg("TNTUN", "ITGOA")])


def test_a_name_of_no_known_kind_names_nothing():
    assert keys.made_of("ferry:search:TNTUN-FRMRS:not-a-day:abc") == []
    assert keys.made_of(keys.availability_key(7)) == []
