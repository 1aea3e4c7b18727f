import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ferries.queries import parse_search_query
from ferries.search import sailing_search
from ferries.tests.factories import local_time, sailing_factory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def cached_searches(tunis_marseille):
    sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=10, hour=12))
    date = (timezone.now().date() + dt.timedelta(days=10)).isoformat()
    back = (timezone.now().date() + dt.timedelta(days=12)).isoformat()
    for adults in ("1", "2"):
        params = {"from": "TNTUN", "to": "FRMRS", "date": date, "return_date": back, "adults": adults}
        sailing_search(query=parse_search_query(params))
    return date


@pytest.mark.django_db
def test_clear_ferry_cache_prints_how_many_entries_went(cached_searches):
    assert run("clear_ferry_cache", "--route", "FRMRS-TNTUN") == "Removed 2 cached searches (FRMRS-TNTUN).\n"
    assert run("clear_ferry_cache", "--date", cached_searches) == f"Removed 2 cached searches ({cached_searches}).\n"
    assert run("clear_ferry_cache") == "Removed 0 cached searches (all routes and dates).\n"


@pytest.mark.django_db
def test_clear_ferry_cache_reads_a_date_in_any_iso_spelling_as_the_cache_spells_it(cached_searches):
    compact = cached_searches.replace("-", "")

    assert run("clear_ferry_cache", "--date", compact) == f"Removed 2 cached searches ({cached_searches}).\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--route", "TUNIS"], "--route must be two port codes"),
        (["--route", ""], "--route must be two port codes"),
        (["--date", "31/12/2026"], "--date must be a date"),
        (["--date", ""], "--date must be a date"),
    ],
)
def test_clear_ferry_cache_refuses_bad_options_naming_them(args, message):
    with pytest.raises(CommandError, match=message):
        run("clear_ferry_cache", *args)


@pytest.mark.django_db
def test_cache_stats_shows_entries_hits_misses_and_hit_rate(cached_searches):
    date = cached_searches
    sailing_search(query=parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": date, "adults": "2"}))

    table = run("cache_stats").splitlines()

    search_row = next(line.split() for line in table if line.startswith("search"))
    assert search_row == ["search", "4", "5", "1", "4", "20.0%"]


@pytest.mark.django_db
def test_cache_stats_resets_its_counters(cached_searches):
    run("cache_stats", "--reset")

    assert '"lookups": 0' in run("cache_stats", "--json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "2"], "--error-rate"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--port", "70000"], "--port"),
    ],
)
def test_the_operator_simulator_refuses_bad_options_naming_them(args, message):
    with pytest.raises(CommandError, match=message):
        run("run_operator_simulator", *args)
