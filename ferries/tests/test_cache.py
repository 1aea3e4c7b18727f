"""The search cache on real Redis: keys, TTLs, clearing, counting, bursts and outages."""

import dataclasses
import datetime as dt
import json
import threading
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_redis import get_redis_connection

from ferries.api.views import answer_bytes
from ferries.cache import cache_service
from ferries.cache import service as cache_service_module
from ferries.cache.keys import (
    AVAILABILITY_LOOKUPS,
    AVAILABILITY_MISSES,
    SEARCH_LOOKUPS,
    answers_listing,
    availability_key,
    lock_for,
)
from ferries.cache.redis_store import CacheLock, RedisStore
from ferries.party import Party
from ferries.queries import parse_search_query
from ferries.search import leg_search, sailing_search, sailing_search_answer
from ferries.services import capacity_hold
from ferries.tests.factories import OperatorFactory, RouteFactory, local_time, sailing_factory
from kernel.metrics import CACHE_LOOKUPS


def in_days(n: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=n)).isoformat()


def search(**params):
    return sailing_search(query=parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(10), **params}))


def redis_ttl(key: str) -> int:
    return get_redis_connection("default").ttl(cache.make_key(key))


def all_at_once(travellers: int, search) -> list:
    """What `search()` answers to each of `travellers` threads, started together."""
    start = threading.Barrier(travellers)
    answers = []

    def traveller():
        start.wait()
        try:
            answers.append(search())
        finally:
            connection.close()

    threads = [threading.Thread(target=traveller) for _ in range(travellers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.fixture
def sailing(tunis_marseille):
    return sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=10, hour=12))


def test_two_misses_each_waiting_for_a_search_the_other_made_read_it_rather_than_wait_out_the_lock(monkeypatch):
    # Two searches of one party on days near each other, neither with anything to book: each makes its own day's
    # search, holding it back to keep with the rest of its answer, then looks at the other's day.
    monkeypatch.setattr(cache_service_module, "LOCK_WAIT_SECONDS", 5.0)
    legs = [parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(n), "adults": "3"}).outbound
            for n in (20, 21)]  # fmt: skip
    both_made_their_own = threading.Barrier(2, timeout=30)
    computed, found = [], {}

    def made(leg):
        def compute():
            computed.append(leg.day)
            return {"sailings": [], "operators": [], "day": leg.day.isoformat()}, 300

        return compute

    def traveller(own, other):
        with cache_service.writes_together():
            cache_service.ferry_search_entry(own, made(own))
            both_made_their_own.wait()
            found[own.day] = cache_service.ferry_search_entry(other, made(other))[0]

    threads = [threading.Thread(target=traveller, args=pair) for pair in (legs, legs[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(computed) == [leg.day for leg in legs]  # each day made once: the other's was read, not made again
    assert {day: answer["day"] for day, answer in found.items()} == {
        legs[0].day: legs[1].day.isoformat(),
        legs[1].day: legs[0].day.isoformat(),
    }
    assert not get_redis_connection("default").keys(cache.make_key("ferry:lock:*"))


@pytest.mark.django_db
def test_the_second_identical_search_is_a_hit(sailing):
    first = search(adults="2")
    second = search(adults="2")

    assert second == first
    assert [row["sailing_id"] for row in second["outbound"]] == [sailing.pk]
    figures = cache_service.stats()["search"]
    assert (figures["lookups"], figures["hits"], figures["misses"]) == (2, 1, 1)


def test_differently_ordered_and_spelled_parameters_share_one_key():
    date = in_days(10)
    one = parse_search_query({"from": "tntun", "to": "FRMRS", "date": date, "adults": "2", "vehicle": ""})
    other = parse_search_query(
        {"accommodation": "DECK", "adults": "2", "children": "0", "date": date, "to": "frmrs", "from": "TNTUN"}
    )

    assert cache_service.search_key(one.outbound) == cache_service.search_key(other.outbound)


def test_a_different_party_is_a_different_key():
    date = in_days(10)
    two = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": date, "adults": "2"})
    three = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": date, "adults": "3"})

    assert cache_service.search_key(two.outbound) != cache_service.search_key(three.outbound)


@pytest.mark.django_db
def test_searches_live_five_minutes_and_availability_one_minute(sailing):
    query = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(10)})
    leg_search(query=query.outbound)

    assert 295 <= redis_ttl(cache_service.search_key(query.outbound)) <= 300
    assert 55 <= redis_ttl(f"ferry:availability:{sailing.pk}") <= 60


@pytest.mark.django_db
def test_clearing_all_searches_answers_how_many_were_removed(sailing):
    search(adults="1")
    search(adults="2")
    search(adults="2", return_date=in_days(12))  # outbound already cached: adds only the way back

    assert cache_service.clear_all_ferry_searches() == 3
    assert cache_service.clear_all_ferry_searches() == 0
    assert cache_service.stats()["search"]["entries"] == 0


@pytest.mark.django_db
def test_a_kept_answer_goes_with_the_searches_its_key_names_and_only_with_them(sailing):
    # Out on day 10, back on day 14: the answer is made of those two searches, and of the days around them (nearby
    # dates offered when a day has nothing to book); nothing is written beside it to find it by.
    query = parse_search_query(
        {"from": "TNTUN", "to": "FRMRS", "date": in_days(10), "return_date": in_days(14), "adults": "2"}
    )
    sailing_search_answer(query=query, render=answer_bytes)
    redis = get_redis_connection("default")
    kept = cache.make_key(cache_service.answer_key(query))
    assert redis.exists(kept)
    assert not list(redis.scan_iter(match=cache.make_key("ferry:index:*"))), "no index kept beside the entries"

    cache_service.clear_ferry_searches(route="TNTUN-FRMRS", date=in_days(13))  # three days off the way out's day
    cache_service.clear_ferry_searches(route="FRMRS-TNTUN", date=in_days(10))  # the way back's route, on another day
    cache_service.clear_ferry_searches(route="TNTUN-GRPIR")
    cache_service.clear_ferry_searches(date=in_days(7))
    assert redis.exists(kept)

    cache_service.clear_ferry_searches(route="FRMRS-TNTUN", date=in_days(16))  # two days off the way back's day
    assert not redis.exists(kept)


@pytest.mark.django_db
def test_clearing_one_route_and_date_leaves_the_others(sailing):
    search(adults="1")
    search(adults="2")
    search(adults="1", return_date=in_days(12))

    assert cache_service.clear_ferry_searches(route="FRMRS-TNTUN") == 1
    assert cache_service.clear_ferry_searches(route="TNTUN-FRMRS", date=in_days(11)) == 0
    assert cache_service.clear_ferry_searches(route="tntun-frmrs", date=in_days(10)) == 2


@pytest.mark.django_db
def test_a_cleared_search_is_computed_again_with_fresh_data(tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=10, hour=12))
    search()
    later = sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=10, hour=14))

    assert [row["sailing_id"] for row in search()["outbound"]] == [sailing.pk]
    cache_service.clear_all_ferry_searches()
    assert [row["sailing_id"] for row in search()["outbound"]] == [sailing.pk, later.pk]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_misses_compute_once(operator_simulator, settings):
    simulator = operator_simulator(latency=0.3)
    remote = RouteFactory(operator=OperatorFactory(code="REM"))
    sailing_factory(route=remote, departs_at=local_time(remote, days=10, hour=12))
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    query = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(10)}).outbound
    answers = all_at_once(20, lambda: leg_search(query=query))

    assert simulator.calls["search"] == 1
    assert len(answers) == 20
    assert all(len(answer["sailings"]) == 1 for answer in answers)
    assert cache_service.stats()["search"]["misses"] == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_answers_missed_compute_once_though_their_writes_are_held_back(
    operator_simulator, settings
):
    # Each miss sends what it keeps, and gives its lock back, at its end: the waiters see the leg's entry then.
    simulator = operator_simulator(latency=0.3)
    remote = RouteFactory(operator=OperatorFactory(code="REM"))
    sailing_factory(route=remote, departs_at=local_time(remote, days=10, hour=12))
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    query = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(10)})
    answers = all_at_once(20, lambda: sailing_search_answer(query=query, render=answer_bytes))

    assert simulator.calls["search"] == 1
    assert len(answers) == 20
    assert all(json.loads(answer)["outbound"][0]["operator"]["code"] == "REM" for answer in answers)
    assert cache_service.stats()["search"]["misses"] == 1


@pytest.mark.django_db
def test_search_still_answers_with_redis_unreachable(sailing, caplog, settings):
    dead = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens
    with override_settings(CACHES=dead):
        first = search(adults="2")
        second = search(adults="2")

    assert [row["sailing_id"] for row in first["outbound"]] == [sailing.pk]
    assert second["outbound"][0]["availability"]["status"] == "available"
    assert "ferry cache unavailable" in caplog.text


@pytest.mark.django_db
def test_availability_shown_is_refreshed_when_capacity_changes(sailing, django_capture_on_commit_callbacks):
    before = search(adults="2")["outbound"][0]["availability"]["places_left"]
    with django_capture_on_commit_callbacks(execute=True):
        capacity_hold(sailing=sailing, party=Party(adults=3), minutes=20)
    after = search(adults="2")["outbound"][0]["availability"]["places_left"]

    assert (before, after) == (100, 97)


@pytest.mark.django_db
def test_a_thousand_availabilities_kept_at_once_are_each_counted_and_timed_with_nothing_beside_them():
    cache_service.reset_stats()
    redis = get_redis_connection("default")
    data = {pk: {"status": "scheduled", "remaining": {"passengers": pk}} for pk in range(1, 1202)}

    cache_service.set_availabilities(data)

    assert cache_service.stats()["availability"]["entries"] == 1201
    assert int(redis.get(cache.make_key(AVAILABILITY_MISSES))) == 1201
    assert cache_service.get_availabilities(list(data)) == data
    written = {key.decode() for key in redis.scan_iter(match=cache.make_key("ferry:*"), count=1000)}
    counters = {key for key in written if key.startswith(cache.make_key("ferry:stats:"))}
    assert written - counters == {cache.make_key(availability_key(pk)) for pk in data}, "no index beside them"
    assert {0 < redis_ttl(f"ferry:availability:{pk}") <= 60 for pk in (1, 600, 1201)} == {True}


def test_held_writes_keep_the_entries_and_leave_alone_a_lock_another_took_after_it_timed_out():
    # Two misses held back; the first's lock timed out meanwhile and another request took it: sending the writes
    # keeps both entries, gives back the second lock, and leaves the other request's lock as it holds it.
    legs = [parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(n), "adults": "2"}).outbound
            for n in (30, 31)]  # fmt: skip
    redis = get_redis_connection("default")
    with cache_service.writes_together():
        for n, leg in enumerate(legs):

            def compute(n=n):
                if n == 0:  # its lock lapsed while it computed, and another took it
                    redis.set(cache.make_key(f"ferry:lock:{cache_service.search_key(legs[0])}"), b"another's")
                return {"sailings": [], "operators": [], "n": n}, 300

            cache_service.ferry_search_entry(leg, compute)
        assert not redis.exists(*(cache.make_key(cache_service.search_key(leg)) for leg in legs)), "held back"

    assert [cache_service.get_ferry_search(leg)["n"] for leg in legs] == [0, 1]
    locks = [cache.make_key(f"ferry:lock:{cache_service.search_key(leg)}") for leg in legs]
    assert [redis.get(lock) for lock in locks] == [b"another's", None]
    assert 0 < redis_ttl(cache_service.search_key(legs[1])) <= 300
    assert cache_service.stats()["search"]["entries"] == 2


def test_writes_sent_to_a_redis_that_forgot_the_script_are_kept_all_the_same(monkeypatch):
    # After a restart Redis knows no script: the one keeping entries is sent again whole, and the entry is kept.
    leg = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(32), "adults": "2"}).outbound
    cache_service.set_ferry_search(leg, {"sailings": [], "operators": []}, ttl=300)  # the script made known
    monkeypatch.setattr(RedisStore._keep_script, "sha", "0" * 40)  # a digest Redis does not know
    other = dataclasses.replace(leg, party=Party(adults=3))
    with cache_service.writes_together():
        cache_service.ferry_search_entry(other, lambda: ({"sailings": [], "operators": [], "kept": True}, 300))
    cache_service.settle()  # as a request ends: Redis's answer read, the script sent again whole

    assert cache_service.get_ferry_search(other) == {"sailings": [], "operators": [], "kept": True}
    assert not get_redis_connection("default").keys(cache.make_key("ferry:lock:*"))


def test_a_counter_of_another_kind_is_replaced_said_and_the_cache_is_not_taken_for_away(caplog):
    # The misses' counter made a list by hand: its INCRBY meets WRONGTYPE, so it is replaced; Redis answered, so no
    # outage, and the availability is kept with it.
    redis = get_redis_connection("default")
    counter = cache.make_key(AVAILABILITY_MISSES)
    redis.rpush(counter, "not a count")

    cache_service.set_availabilities({7001: {"status": "scheduled", "remaining": {"passengers": 9}}})

    assert f"replaced a key of another kind: INCRBY {counter}: WRONGTYPE" in caplog.text
    assert not cache_service_module.cache_breaker.is_open()
    assert redis.get(counter) == b"1"
    assert cache_service.get_availability(7001) == {"status": "scheduled", "remaining": {"passengers": 9}}


def test_a_lookups_counter_of_another_kind_is_replaced_by_the_lookup_script_and_said(caplog):
    leg = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(34), "adults": "2"}).outbound
    redis = get_redis_connection("default")
    counter = cache.make_key(SEARCH_LOOKUPS)
    redis.delete(counter)
    redis.rpush(counter, "not a count")

    answer, _left = cache_service.ferry_search_entry(leg, lambda: ({"sailings": [], "operators": []}, 300))

    assert answer == {"sailings": [], "operators": []}
    assert f"replaced a key of another kind: INCRBY {counter}: WRONGTYPE" in caplog.text
    assert redis.get(counter) == b"1"  # counted afresh, in the lookup's own round trip
    assert not cache_service_module.cache_breaker.is_open()


def test_a_key_of_another_kind_read_outside_a_script_is_searched_without_and_the_cache_stands(caplog):
    leg = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(33), "adults": "2"}).outbound
    redis = get_redis_connection("default")
    redis.rpush(cache.make_key(cache_service.search_key(leg)), "not an entry")
    counted = redis.get(cache.make_key(SEARCH_LOOKUPS))
    prometheus = CACHE_LOOKUPS.labels(cache="search")._value.get()

    assert cache_service.get_ferry_search(leg) is None  # GET meets WRONGTYPE: as missing

    assert "met a key of another kind" in caplog.text
    assert int(redis.get(cache.make_key(SEARCH_LOOKUPS))) == int(counted or 0) + 1  # the lookup counted all the same
    assert CACHE_LOOKUPS.labels(cache="search")._value.get() == prometheus + 1  # in its Prometheus twin too
    assert not cache_service_module.cache_breaker.is_open()
    cache_service.set_ferry_search(leg, {"sailings": [], "operators": []}, ttl=300)  # made again, it replaces it
    assert cache_service.get_ferry_search(leg) == {"sailings": [], "operators": []}


def test_a_sailing_whose_answers_set_is_of_another_kind_has_its_availability_dropped_all_the_same():
    redis = get_redis_connection("default")
    cache_service.set_availability(7002, {"status": "scheduled", "remaining": {"passengers": 9}})
    redis.rpush(cache.make_key(answers_listing(7002)), "not a set")

    cache_service.invalidate_availability(7002)

    assert not cache_service_module.cache_breaker.is_open()
    assert not redis.exists(cache.make_key(availability_key(7002)), cache.make_key(answers_listing(7002)))


def test_a_counter_of_another_kind_met_outside_the_scripts_is_made_afresh(caplog):
    redis = get_redis_connection("default")
    cache_service.set_availability(7003, {"status": "scheduled", "remaining": {"passengers": 4}})
    counter = cache.make_key(AVAILABILITY_LOOKUPS)
    redis.rpush(counter, "not a count")
    prometheus = CACHE_LOOKUPS.labels(cache="availability")._value.get()

    assert cache_service.get_availability(7003) is None  # its count met WRONGTYPE: searched without the cache

    assert "met a key of another kind" in caplog.text
    assert "replaced a key of another kind: ferry:stats:availability:lookups" in caplog.text
    assert CACHE_LOOKUPS.labels(cache="availability")._value.get() == prometheus  # Redis did not count it: nor its twin
    assert not cache_service_module.cache_breaker.is_open()
    assert cache_service.get_availability(7003) == {"status": "scheduled", "remaining": {"passengers": 4}}
    assert redis.get(counter) == b"1"


def made_by_hand(redis, lock: str, stray: str) -> str:
    """Make under the lock's name a key no request holds (with `redis-cli`, say): a string with no timeout, or a
    list; answers what the log says as it is replaced."""
    redis.delete(lock)
    if stray == "no timeout":
        redis.set(lock, b"by hand")
        return f"replaced a lock with no timeout: {lock}"
    redis.rpush(lock, "not a lock")
    return f"replaced a key of another kind: GET {lock}: WRONGTYPE"


@pytest.mark.parametrize("stray", ["no timeout", "another kind"])
def test_a_lock_no_request_holds_is_taken_over_by_a_warming_rather_than_waited_on(stray, caplog):
    leg = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(34), "adults": "2"}).outbound
    redis = get_redis_connection("default")
    lock = cache.make_key(lock_for(cache_service.search_key(leg)))
    said = made_by_hand(redis, lock, stray)
    while_computing = []

    def compute():
        while_computing.append((redis.type(lock), redis.pttl(lock)))
        return {"sailings": [], "operators": [], "warmed": True}, 300

    with cache_service.warming(60):  # the lookup, then the lock taken on its own
        found = cache_service.ferry_search_entry(leg, compute, counted=False)

    assert found == ({"sailings": [], "operators": [], "warmed": True}, 300.0)
    assert len(while_computing) == 1
    kind, left = while_computing[0]
    assert kind == b"string"  # computed holding the lock,
    assert left > 0  # which times out as every lock of the cache
    assert said in caplog.text
    assert not redis.exists(lock)  # given back
    assert cache_service.get_ferry_search(leg) == {"sailings": [], "operators": [], "warmed": True}
    assert not cache_service_module.cache_breaker.is_open()


@pytest.mark.parametrize("stray", ["another kind", "no timeout"])
def test_a_lock_that_becomes_no_ones_while_a_search_waits_on_it_is_taken_over(stray, monkeypatch, caplog):
    leg = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": in_days(35), "adults": "2"}).outbound
    redis = get_redis_connection("default")
    lock = cache.make_key(lock_for(cache_service.search_key(leg)))
    redis.set(lock, b"another's", px=10_000)  # another request computes the search: this one waits for it
    said = []

    def meanwhile(seconds: float) -> None:  # as the waiting starts, the other's lock goes; a stray key takes its place
        if not said:
            said.append(made_by_hand(redis, lock, stray))
        time.sleep(seconds)

    monkeypatch.setattr(cache_service_module, "time", SimpleNamespace(monotonic=time.monotonic, sleep=meanwhile))
    while_computing = []

    def compute():
        while_computing.append((redis.type(lock), redis.pttl(lock)))
        return {"sailings": [], "operators": [], "waited": True}, 300

    found = cache_service.ferry_search_entry(leg, compute)

    assert said, "the search waited"
    assert found == ({"sailings": [], "operators": [], "waited": True}, 300.0)
    assert len(while_computing) == 1
    kind, left = while_computing[0]
    assert kind == b"string"  # computed holding the lock,
    assert left > 0  # which times out
    assert said[0] in caplog.text
    assert not redis.exists(lock)  # given back
    assert cache_service.get_ferry_search(leg) == {"sailings": [], "operators": [], "waited": True}
    assert not cache_service_module.cache_breaker.is_open()


def test_a_lock_taken_from_a_redis_that_forgot_the_script_is_taken_all_the_same(monkeypatch):
    # After a restart Redis knows no script: the one taking a lock is sent again whole, and takes it.
    redis = get_redis_connection("default")
    store = RedisStore()
    assert store.lock("ferry:lock:first", timeout=10).acquire(blocking=False)  # the script made known
    monkeypatch.setattr(CacheLock._script, "sha", "0" * 40)  # a digest Redis does not know
    redis.set(store.key("ferry:lock:second"), b"by hand")

    lock = store.lock("ferry:lock:second", timeout=10)
    assert lock.acquire(blocking=False)

    assert redis.get(lock.name) == lock.local.token
    assert redis.pttl(lock.name) > 0


def _key_of_another_form(key, key_prefix, version):
    return f"{key}@{key_prefix}:{version}"  # the name first: not a prefix before it


@pytest.mark.parametrize("key_function", [None, f"{__name__}._key_of_another_form"])
def test_the_store_names_each_key_as_the_cache_does_whatever_its_key_function(settings, key_function):
    if key_function:
        settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "KEY_FUNCTION": key_function}}
    names = ["ferry:search:GRPIR-GRJTR:2027-01-10:0f3a", SEARCH_LOOKUPS, ""]

    made = [RedisStore().key(name) for name in names]

    assert made == [caches["default"].make_key(name) for name in names]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert made[1] == (f"{SEARCH_LOOKUPS}@{prefix}:1" if key_function else f"{prefix}:1:{SEARCH_LOOKUPS}")
