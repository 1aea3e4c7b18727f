"""The search cache on the embedded default's local memory (`make run`, no Redis): what it does on Redis, it does
there too."""

import datetime as dt
import threading
import time

import pytest
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from ferries.cache import cache_service
from ferries.cache import keys as cache_keys
from ferries.models import SailingInventory
from ferries.queries import parse_calendar_query, parse_search_query
from ferries.tests.factories import sailing_factory

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ferry-tests"}}


@pytest.fixture(autouse=True)
def local_memory(settings):
    settings.CACHES = LOCAL_MEMORY
    cache.clear()
    yield
    cache.clear()


def query(*, adults: int = 1, days: int = 10, route: tuple[str, str] = ("TNTUN", "FRMRS"), back: int | None = None):
    day = timezone.now().date() + dt.timedelta(days=days)
    params = {"from": route[0], "to": route[1], "date": day.isoformat(), "adults": str(adults)}
    if back:
        params["return_date"] = (day + dt.timedelta(days=back)).isoformat()
    return parse_search_query(params)


def computed(result: dict, ttl: int = 300):
    return lambda: (result, ttl)


def test_the_second_identical_search_is_a_hit_and_says_how_long_it_has_left():
    leg = query().outbound
    cache_service.ferry_search_entry(leg, computed({"sailings": [1]}))

    found, left = cache_service.ferry_search_entry(leg, computed({"sailings": ["recomputed"]}))

    assert found == {"sailings": [1]}
    assert 295 < left <= 300
    figures = cache_service.stats()["search"]
    assert (figures["entries"], figures["lookups"], figures["hits"], figures["misses"]) == (1, 2, 1, 1)


def test_clearing_one_route_and_date_counts_what_it_removed():
    for leg in (query(adults=1).outbound, query(adults=2).outbound, query(route=("FRMRS", "TNTUN")).outbound):
        cache_service.set_ferry_search(leg, {"sailings": []})

    assert cache_service.clear_ferry_searches(route="FRMRS-TNTUN") == 1
    assert cache_service.clear_ferry_searches(route="tntun-frmrs", date=query(days=11).outbound.day.isoformat()) == 0
    assert cache_service.clear_ferry_searches(route="tntun-frmrs", date=query().outbound.day.isoformat()) == 2
    assert cache_service.clear_all_ferry_searches() == 0
    assert cache_service.get_ferry_search(query(adults=1).outbound) is None


def test_an_expired_search_is_neither_found_nor_counted_as_cleared():
    leg = query().outbound
    cache_service.set_ferry_search(leg, {"sailings": []}, ttl=1)
    time.sleep(1.1)

    assert cache_service.get_ferry_search(leg) is None
    assert cache_service.clear_all_ferry_searches() == 0


def test_twenty_identical_misses_at_once_compute_once():
    leg = query().outbound
    start = threading.Barrier(20)
    computations, answers = [], []

    def compute():
        computations.append(1)
        time.sleep(0.2)
        return {"sailings": [7]}, 300

    def traveller():
        start.wait()
        answers.append(cache_service.get_or_compute_ferry_search(leg, compute))

    threads = [threading.Thread(target=traveller) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(computations) == 1
    assert answers == [{"sailings": [7]}] * 20


def test_a_miss_that_caches_nothing_lets_the_waiting_request_compute_once_it_is_done():
    leg = query().outbound
    first_started, steps = threading.Event(), []

    def compute():
        steps.append("start")
        first_started.set()
        time.sleep(0.2)
        steps.append("end")
        return {"sailings": []}, 0  # not to be kept

    first = threading.Thread(target=lambda: cache_service.get_or_compute_ferry_search(leg, compute))
    first.start()
    first_started.wait()
    cache_service.get_or_compute_ferry_search(leg, compute)
    first.join()

    assert steps == ["start", "end", "start", "end"]


def test_a_sailing_s_capacity_change_drops_its_availability_and_the_answers_listing_it():
    cache_service.set_availability(7, {"places_left": 3})
    cache_service.set_search_answer(query(), b"{}", ttl=60, sailing_ids=[7])
    cache_service.set_search_answer(query(adults=2), b"{}", ttl=60, sailing_ids=[8])

    cache_service.invalidate_availability(7)

    assert cache_service.get_availability(7) is None
    assert cache_service.get_search_answer(query()) is None
    assert cache_service.get_search_answer(query(adults=2)) == b"{}"


def test_clearing_a_route_drops_the_whole_answers_made_of_its_searches():
    cache_service.set_search_answer(query(back=2), b"{}", ttl=60, sailing_ids=[])

    cache_service.clear_ferry_searches(route="FRMRS-TNTUN")

    assert cache_service.get_search_answer(query(back=2)) is None


def test_availability_lookups_and_misses_are_counted():
    cache_service.get_availabilities([1, 2])
    cache_service.set_availabilities({1: {"places_left": 1}, 2: {"places_left": 2}})

    assert cache_service.get_availabilities([1, 2, 3]) == {1: {"places_left": 1}, 2: {"places_left": 2}}
    figures = cache_service.stats()["availability"]
    assert (figures["entries"], figures["lookups"], figures["hits"], figures["misses"]) == (2, 5, 3, 2)
    cache_service.reset_stats()
    assert cache_service.stats()["availability"]["lookups"] == 0


@pytest.mark.django_db
def test_the_calendar_s_answer_is_kept_whole_and_dropped_with_a_sailing_s_capacity_here_too(
    tunis_marseille, django_capture_on_commit_callbacks
):
    day = timezone.now().date() + dt.timedelta(days=12)
    departs = dt.datetime.combine(day, dt.time(10), tzinfo=tunis_marseille.origin.tz)
    sailing = sailing_factory(route=tunis_marseille, departs_in=departs - timezone.now())
    params = {"from": "TNTUN", "to": "FRMRS", "date": day.isoformat(), "adults": "2"}
    client = APIClient()

    def the_day() -> dict:
        answer = client.get("/api/v1/sailings/calendar", params)
        assert answer.status_code == 200
        return next(entry for entry in answer.json()["days"] if entry["date"] == day.isoformat())

    assert the_day()["status"] == "available"
    assert cache.get(cache_keys.calendar_answer_key(parse_calendar_query(params))) is not None
    with django_capture_on_commit_callbacks(execute=True):
        SailingInventory.objects.filter(sailing=sailing).update(taken=F("capacity"))
        cache_service.invalidate_availability(sailing.pk)  # what every change of capacity does

    assert the_day()["status"] == "sold_out"
