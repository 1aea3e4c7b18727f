"""A repeated search on real Redis: one round trip with its rate limits, the web process's own copies of the answers
(and what drops them), the warming of the most asked answers, and a kept answer sent before the layers of the request
cycle it needs nothing of (ferries.api.middleware)."""

import dataclasses
import datetime as dt
import re
import threading
import time

import pytest
from celery import current_app as celery_app
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django_redis import get_redis_connection
from prometheus_client import REGISTRY
from redis import exceptions as redis_errors
from rest_framework.test import APIClient

from ferries import search as search_module
from ferries import warming
from ferries.api.middleware import LATER, KeptAnswerMiddleware
from ferries.api.views import KeptAnswerApi, SailingSearchApi, answer_bytes
from ferries.cache import cache_service, first_level
from ferries.cache import keys as cache_keys
from ferries.cache.redis_store import RedisStore
from ferries.party import Party
from ferries.queries import (
    forget_read_queries,
    parse_calendar_query,
    parse_search_query,
    read_calendar_query,
    read_search_query,
)
from ferries.search import sailing_search_answer
from ferries.services import capacity_hold
from ferries.tests.factories import sailing_factory
from ferries.tests.fixtures import commands_in, commands_sent
from kernel import redis_lane
from kernel import throttling as kernel_throttling
from kernel.metrics import CACHE_LOOKUPS
from kernel.outage import cache_breaker
from kernel.throttling import AnonThrottle, UserThrottle, forget_outage

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/sailings/search"
CALENDAR = "/api/v1/sailings/calendar"


@pytest.fixture(autouse=True)
def _fresh_copies():
    cache_service.first_level.clear()
    forget_outage()
    yield
    cache_service.first_level.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def sailing(tunis_marseille):
    return sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))


@pytest.fixture
def rates(settings):
    def set_rates(**given: str) -> None:
        everything = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "1000/minute", "user": "1000/minute"}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": everything | given}

    return set_rates


def sailing_day(sailing) -> dt.date:
    return sailing.departs_at.astimezone(sailing.route.origin.tz).date()


def params_of(sailing, **extra) -> dict:
    return {"from": "TNTUN", "to": "FRMRS", "date": sailing_day(sailing).isoformat(), **extra}


def answer_name(sailing, **extra) -> str:
    return cache.make_key(cache_keys.answer_key(parse_search_query(params_of(sailing, **extra))))


def search_figures() -> tuple[int, int]:
    figures = cache_service.stats()["search"]
    return figures["lookups"], figures["hits"]


def test_a_repeated_search_costs_one_round_trip_with_its_rate_limits_then_none_from_the_copy(api, sailing, round_trips):
    params = params_of(sailing, adults="2")
    api.get(SEARCH, params)  # the miss: computed and kept

    trips = []
    answers = []
    for _ in range(4):
        round_trips.clear()
        answers.append(api.get(SEARCH, params).content)
        trips.append(len(round_trips))

    # Read from Redis with the rate limits, which set places aside for the client in its windows (it came again within
    # the second); then from this process's copy, which Redis tells it of any change to, on those places: no round
    # trip; then, the places used, the limits alone.
    assert trips == [1, 0, 0, 1]
    assert len(set(answers)) == 1
    assert len(cache_service.first_level) == 1
    # The copies' lookups are counted with the next request that goes to Redis (here, the figures' own).
    assert search_figures() == (5, 4)
    window = get_redis_connection("default").zrange(cache.make_key("throttle_anon_127.0.0.1:window"), 0, -1)
    assert len(window) == 5  # three requests counted as they came, two on the places set aside


def test_a_miss_looks_up_and_locks_in_one_round_trip_and_keeps_all_it_made_in_one_more(api, sailing, round_trips):
    # The rate limits, then the answer's lookup, which finding nothing looks the leg up and takes its lock; then the
    # leg's search, its availability and the answer kept, and the lock given back, together.
    answer = api.get(SEARCH, params_of(sailing, adults="2"))

    assert answer.status_code == 200
    assert len(round_trips) == 2
    assert commands_in(round_trips[0]) == ["EVALSHA", "EVALSHA"]  # the limits' script and the lookup's, by digests
    assert commands_in(round_trips[-1]) == ["EVALSHA"]  # kept and given back in one command, the script by its digest
    redis = get_redis_connection("default")
    kept = [cache.make_key(cache_keys.search_key(parse_search_query(params_of(sailing, adults="2")).outbound)),
            answer_name(sailing, adults="2"), cache.make_key(cache_keys.availability_key(sailing.pk))]  # fmt: skip
    assert [bool(redis.exists(name)) for name in kept] == [True, True, True]
    assert not redis.keys(cache.make_key("ferry:lock:*"))  # given back
    assert redis_lane.owed(redis) == 0  # Redis's answer to the keeping read as the request ended


def test_a_miss_sends_what_it_keeps_without_waiting_and_reads_redis_answer_as_it_ends(sailing, round_trips):
    query = parse_search_query(params_of(sailing, adults="3"))

    sailing_search_answer(query=query, render=answer_bytes)  # as a request makes it, before it ends

    redis = get_redis_connection("default")
    assert commands_in(round_trips[-1]) == ["EVALSHA"]  # kept and given back, sent
    assert redis_lane.owed(redis) == 1  # not waited for
    cache_service.settle()  # as the request ends
    assert redis_lane.owed(redis) == 0
    assert cache_service.get_search_answer(query) is not None
    assert not redis.keys(cache.make_key("ferry:lock:*"))


def test_with_redis_away_what_a_miss_sent_is_not_waited_for_as_it_ends(sailing):
    sailing_search_answer(query=parse_search_query(params_of(sailing, adults="4")), render=answer_bytes)
    redis = get_redis_connection("default")
    assert redis_lane.owed(redis) == 1
    cache_breaker.trip(redis_errors.ConnectionError("away"), message="away for %ss: %r")
    try:
        cache_service.settle()  # as the request ends
    finally:
        cache_breaker.reset()

    assert redis_lane.owed(redis) == 0  # its connection closed, not read
    assert redis_lane.round_trip(redis, [("PING",)]) == [True]  # a new one, in step


def test_a_key_of_another_kind_where_a_miss_keeps_is_replaced_and_said(api, sailing, caplog):
    redis = get_redis_connection("default")
    listing = cache.make_key(cache_keys.answers_listing(sailing.pk))
    redis.rpush(listing, "not a set")  # made by hand, say: its SADD meets WRONGTYPE

    assert api.get(SEARCH, params_of(sailing, adults="2")).status_code == 200

    assert "replaced a key of another kind" in caplog.text
    assert f"SADD {listing}: WRONGTYPE" in caplog.text
    assert not cache_breaker.is_open()  # Redis answered: not an outage
    assert redis_lane.owed(redis) == 0
    # The list replaced by the set listing the answer, which is kept (dropped with the sailing's availability); every
    # write made, the lock given back at once.
    key = cache.make_key(cache_keys.answer_key(parse_search_query(params_of(sailing, adults="2"))))
    assert redis.type(listing) == b"set"
    assert redis.smembers(listing) == {key.encode()}
    assert redis.exists(key)
    assert not redis.keys(cache.make_key("ferry:lock:*"))
    cache_service.invalidate_availability(sailing.pk)
    assert not redis.exists(key)
    again = api.get(SEARCH, params_of(sailing, adults="2"))
    assert again.status_code == 200
    assert [row["sailing_id"] for row in again.json()["outbound"]] == [sailing.pk]


@pytest.mark.parametrize("kind", ["answer", "leg"])
def test_a_key_of_another_kind_where_a_search_looks_reads_as_missing_and_is_replaced(api, sailing, kind, caplog):
    query = parse_search_query(params_of(sailing, adults="2"))
    name = cache.make_key(cache_keys.answer_key(query) if kind == "answer" else cache_keys.search_key(query.outbound))
    redis = get_redis_connection("default")
    redis.rpush(name, "not an entry")  # GET on it meets WRONGTYPE

    answer = api.get(SEARCH, params_of(sailing, adults="2"))

    assert answer.status_code == 200
    assert [row["sailing_id"] for row in answer.json()["outbound"]] == [sailing.pk]
    assert not cache_breaker.is_open()  # one key's trouble: the cache stands for every other search
    assert redis.type(name) == b"string"  # the entry made replaced it
    # Read as missing by the lookup itself: no error from Redis anywhere.
    for failure in ("ferry cache unavailable", "met a key of another kind", "riding with the rate limits failed"):
        assert failure not in caplog.text


@pytest.mark.parametrize("kind", ["lookups counter", "leg's lock", "leg's lock with a timeout"])
def test_a_count_or_lock_of_another_kind_is_replaced_where_the_lookup_goes(api, sailing, kind, caplog):
    query = parse_search_query(params_of(sailing, adults="2"))
    if kind == "lookups counter":
        name = cache.make_key(cache_keys.SEARCH_LOOKUPS)
    else:
        name = cache.make_key(cache_keys.lock_for(cache_keys.search_key(query.outbound)))
    redis = get_redis_connection("default")
    redis.rpush(name, "not a count nor a lock")  # a lock taken by no request, with a timeout or not
    if kind == "leg's lock with a timeout":
        redis.pexpire(name, 60_000)

    answer = api.get(SEARCH, params_of(sailing, adults="2"))

    assert answer.status_code == 200
    assert [row["sailing_id"] for row in answer.json()["outbound"]] == [sailing.pk]
    assert not cache_breaker.is_open()
    assert "riding with the rate limits failed" not in caplog.text
    if kind == "lookups counter":
        assert redis.type(name) == b"string"  # counted afresh
    else:
        assert not redis.exists(name)  # taken over, then given back with the keeping
        assert f"replaced a key of another kind: GET {name}: WRONGTYPE" in caplog.text
        assert redis.exists(cache.make_key(cache_keys.search_key(query.outbound)))


def test_the_days_around_a_day_without_sailings_are_looked_up_together_and_their_availability_read_together(
    api, tunis_marseille, round_trips
):
    around = [sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10 + n)) for n in (-2, -1, 1, 2)]
    day = sailing_day(around[1]) + dt.timedelta(days=1)
    params = {"from": "TNTUN", "to": "FRMRS", "date": day.isoformat(), "adults": "2"}

    # The rate limits with the answer's lookup and the day's; the four days around looked up (their locks taken)
    # together; all that was made kept together.
    answer = api.get(SEARCH, params)
    assert answer.status_code == 200
    assert [d["date"] for d in answer.json()["explanations"]["outbound"]["nearby_dates"]] == [
        sailing_day(s).isoformat() for s in around
    ]
    assert len(round_trips) == 3
    keeping = [argument for command in commands_sent(round_trips[-1]) for argument in command]
    redis = get_redis_connection("default")
    leg = parse_search_query(params).outbound
    kept = [cache.make_key(cache_keys.search_key(dataclasses.replace(leg, day=sailing_day(s)))) for s in around]
    assert redis.exists(*kept) == 4
    assert not redis.keys(cache.make_key("ferry:lock:*"))
    # Each sailing's availability is kept once, by the search of its own day.
    for kept_sailing in around:
        assert keeping.count(cache.make_key(cache_keys.availability_key(kept_sailing.pk)).encode()) == 1

    # Asked again in another order of its rows (another answer): the day's and the four days' searches are found,
    # the availability of all their sailings read in one round trip, none of it asked twice.
    round_trips.clear()
    assert api.get(SEARCH, params | {"sort": "price"}).status_code == 200
    # The rate limits, the answer and the day; the days around; their availability; the answer kept.
    assert len(round_trips) == 4
    lookups, hits = search_figures()
    assert (lookups, hits) == (10, 5)


def test_a_day_without_sailings_whose_days_around_have_none_either_makes_no_lookup_for_them(
    api, tunis_marseille, round_trips
):
    far = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))  # the route runs, far from the day
    day = sailing_day(far) + dt.timedelta(days=7)
    params = {"from": "TNTUN", "to": "FRMRS", "date": day.isoformat(), "adults": "2"}

    answer = api.get(SEARCH, params)

    assert answer.status_code == 200
    assert answer.json()["explanations"]["outbound"]["nearby_dates"] == []
    # The rate limits with the answer's lookup and the day's; what was made kept: nothing looked up for no day.
    assert len(round_trips) == 2
    assert search_figures() == (1, 0)


def test_a_miss_that_fails_gives_its_lock_back_and_keeps_nothing(sailing, monkeypatch):
    query = parse_search_query(params_of(sailing, adults="2"))
    monkeypatch.setattr(search_module, "offer_rows", lambda *args: 1 / 0)  # a bug, or an operator's answer we choke on

    with pytest.raises(ZeroDivisionError):
        sailing_search_answer(query=query, render=answer_bytes)

    redis = get_redis_connection("default")
    assert not redis.keys(cache.make_key("ferry:lock:*"))
    assert not redis.exists(answer_name(sailing, adults="2"))
    monkeypatch.undo()
    assert b'"outbound"' in sailing_search_answer(query=query, render=answer_bytes)  # made at the next request


def test_a_hit_is_sent_with_the_same_headers_and_body_by_every_path(api, sailing, settings):
    params = params_of(sailing)
    computed = api.get(SEARCH, params)
    from_redis = api.get(SEARCH, params)
    from_copy = api.get(SEARCH, params)
    # With no rate limit to go with, the answer is looked up in a round trip of its own, as before.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    cache_service.first_level.clear()
    alone = api.get(SEARCH, params)

    answers = [computed, from_redis, from_copy, alone]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len({tuple(sorted(a.headers.items())) for a in answers}) == 1
    assert computed["Content-Type"] == "application/json"
    assert {"Accept", "Accept-Language"} <= {word.strip() for word in computed["Vary"].split(",")}
    assert search_figures() == (4, 3)


def test_copies_are_counted_as_hits_in_prometheus_too(api, sailing):
    params = params_of(sailing)
    before = CACHE_LOOKUPS.labels(cache="search")._value.get()

    for _ in range(3):
        api.get(SEARCH, params)

    assert CACHE_LOOKUPS.labels(cache="search")._value.get() - before == 3


def test_a_hold_drops_the_copy_at_once_so_the_next_search_shows_the_places_taken(
    api, sailing, django_capture_on_commit_callbacks
):
    params = params_of(sailing, adults="2")
    api.get(SEARCH, params)
    before = api.get(SEARCH, params).json()["outbound"][0]["availability"]["places_left"]
    assert len(cache_service.first_level) == 1

    with django_capture_on_commit_callbacks(execute=True):
        capacity_hold(sailing=sailing, party=Party(adults=3), minutes=20)
    after = api.get(SEARCH, params).json()["outbound"][0]["availability"]["places_left"]

    assert after == before - 3


def test_an_answer_kept_again_in_redis_replaces_the_copy(api, sailing):
    params = params_of(sailing)
    api.get(SEARCH, params)
    api.get(SEARCH, params)  # copied
    get_redis_connection("default").set(answer_name(sailing), b'{"kept":"again"}', ex=60)

    assert api.get(SEARCH, params).content == b'{"kept":"again"}'


def test_rate_limits_still_refuse_on_the_fast_path_and_a_refused_search_is_not_counted(api, sailing, rates):
    rates(anon="3/minute")
    params = params_of(sailing)

    answers = [api.get(SEARCH, params) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert search_figures() == (3, 2)


def warm() -> int:
    return warming.warm_popular_searches(render=answer_bytes)


def about_to_expire(api, sailing, *, asked: dict[str, int]):
    """Each party size searched that many times; then every answer and part made has 5 seconds left."""
    for adults, times in asked.items():
        for _ in range(times):
            api.get(SEARCH, params_of(sailing, adults=adults))
    client = get_redis_connection("default")
    for name in client.scan_iter(match=cache.make_key("ferry:*")):
        if client.ttl(name) > 0 and b"answer-query:" not in name:
            client.expire(name, 5)
    return client


def test_the_search_asked_most_is_warmed_before_it_expires_and_one_asked_once_is_not(api, sailing, settings):
    client = about_to_expire(api, sailing, asked={"2": 3, "3": 1})
    popular, popular_name = params_of(sailing, adults="2"), answer_name(sailing, adults="2")
    once_name = answer_name(sailing, adults="3")
    lookups = search_figures()

    warmed = warm()

    assert warmed == 1
    assert client.ttl(popular_name) > settings.SEARCH_WARM_WITHIN
    assert 0 < client.ttl(once_name) <= 5
    assert search_figures() == lookups  # warming asks nothing on a traveller's behalf
    # The warmed answer is what a search would send.
    assert api.get(SEARCH, popular).content == client.get(popular_name)


def test_one_warming_run_at_a_time_and_none_past_its_time_limit(api, sailing, monkeypatch):
    client = about_to_expire(api, sailing, asked={"2": 3})
    name = answer_name(sailing, adults="2")

    cache.add(warming.LOCK, 1)  # another run under way
    while_another_runs = warm()
    cache.delete(warming.LOCK)
    monkeypatch.setattr(warming, "RUN_SECONDS", 0.0)
    out_of_time = warm()
    ttl_after_both = client.ttl(name)
    monkeypatch.setattr(warming, "RUN_SECONDS", 10.0)
    next_run = warm()

    assert (while_another_runs, out_of_time, next_run) == (0, 0, 1)
    assert 0 < ttl_after_both <= 5
    assert client.ttl(name) > 5
    assert not cache.get(warming.LOCK), "each run lets go of the lock"


def test_warming_runs_on_the_default_queue_on_a_schedule(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("warm_popular_searches_task"))
    route = celery_app.amqp.router.route({}, entry["task"])

    assert route["queue"].name == "default"
    assert entry["schedule"] < settings.SEARCH_WARM_WITHIN


def test_a_query_string_read_lately_is_not_read_again_and_one_in_error_is_told_every_time():
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    text = f"from=TNTUN&to=FRMRS&date={day}&adults=2"
    data = QueryDict(text)

    first, again = read_search_query(text), read_search_query(text)

    assert again is first
    assert first == parse_search_query(data)
    for _ in range(2):
        with pytest.raises(ValidationError) as error:
            read_search_query("from=TNTUN&to=FRMRS&date=yesterday")
        assert "date" in error.value.message_dict
    month = f"from=TNTUN&to=FRMRS&month={day[:7]}&adults=2"
    calendar = read_calendar_query(month)
    assert read_calendar_query(month) is calendar
    assert calendar == parse_calendar_query(QueryDict(month))
    assert read_search_query(text) is first  # each kind remembered apart
    forget_read_queries()
    fresh = read_search_query(text)
    assert fresh is not first  # read again, as a process just started reads it
    assert fresh == first


@pytest.fixture
def drf_cycles(monkeypatch):
    """The requests the search and calendar APIs put through DRF's request cycle (its `initial`: negotiation,
    limits, …)."""
    seen = []
    initial = KeptAnswerApi.initial

    def counted(view, request, *args, **kwargs):
        seen.append(request.get_full_path())
        return initial(view, request, *args, **kwargs)

    monkeypatch.setattr(KeptAnswerApi, "initial", counted)
    return seen


def test_a_hit_within_the_limits_is_sent_before_drfs_request_cycle_and_anything_else_goes_through_it(
    api, sailing, drf_cycles, round_trips
):
    params = params_of(sailing, adults="2")
    computed = api.get(SEARCH, params)  # a miss: DRF's cycle computes it
    assert len(drf_cycles) == 1

    round_trips.clear()
    hits = [api.get(SEARCH, params), api.get(SEARCH, params, HTTP_ACCEPT="application/json")]

    assert len(drf_cycles) == 1  # neither hit went through it
    # One: the limits and the lookup together, the limits setting places aside for the client (back within the second:
    # kernel.throttling's CountedAhead); then none for the copy, let through on one of them.
    assert len(round_trips) == 1
    assert {hit.content for hit in hits} == {computed.content}
    assert {tuple(sorted(hit.headers.items())) for hit in hits} == {tuple(sorted(computed.headers.items()))}
    # Another format, or a format named in the query string: DRF's negotiation decides, as before.
    indented = api.get(SEARCH, params, HTTP_ACCEPT="application/json; indent=2")
    named = api.get(SEARCH, {**params, "format": "json"})
    assert [indented.status_code, named.status_code] == [200, 200]
    assert indented.content.startswith(b"{\n")
    assert named.json() == computed.json()
    assert len(drf_cycles) == 3


def test_a_search_makes_each_of_its_limits_once_and_works_out_the_client_once(api, sailing, monkeypatch):
    made, idents = [], []
    client_address = kernel_throttling._client_address

    def counted_ident(meta):
        idents.append(meta["REMOTE_ADDR"])
        return client_address(meta)

    monkeypatch.setattr(kernel_throttling, "_client_address", counted_ident)
    for limit in (AnonThrottle, UserThrottle):
        init = limit.__init__
        monkeypatch.setattr(limit, "__init__", lambda throttle, init=init: made.append(throttle) or init(throttle))
    params = params_of(sailing, adults="2")

    counts = []
    for _ in range(3):  # the miss (through DRF's cycle), the hit read from Redis, the hit from the copy
        made.clear()
        idents.clear()
        assert api.get(SEARCH, params).status_code == 200
        counts.append((len(made), len(idents)))

    # The request's two limits (anon, user), shared by the hit's own check, DRF's and the decision of both.
    assert counts == [(2, 1), (2, 1), (2, 1)]


def test_a_request_over_the_limit_is_refused_by_drfs_cycle_and_counted_once(
    api, sailing, rates, drf_cycles, round_trips
):
    rates(anon="2/minute")
    params = params_of(sailing)
    answers = [api.get(SEARCH, params) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) > 0
    # The refused request asked Redis once, on the way in: DRF's cycle reused that decision.
    assert len(round_trips) == 2 + 1 + 1  # the miss's two, the hit's one, the refusal's one
    assert len(drf_cycles) == 2  # the miss and the refusal; the hit was sent before it
    window = get_redis_connection("default").zcard(cache.make_key("throttle_anon_127.0.0.1:window"))
    assert window == 2
    assert search_figures()[0] == 2  # the refused request's lookup was not counted


def test_a_refused_search_gives_back_the_lock_its_lookup_took_for_its_missing_answers_leg(api, sailing, rates):
    rates(anon="1/minute")
    assert api.get(SEARCH, params_of(sailing)).status_code == 200
    # Another answer, missing: its lookup, sent with the limits that refuse the request, took its leg's lock.
    refused = api.get(SEARCH, params_of(sailing, adults="2"))

    assert refused.status_code == 429
    assert not get_redis_connection("default").keys(cache.make_key("ferry:lock:*"))
    rates(anon="10/minute")
    assert api.get(SEARCH, params_of(sailing, adults="2")).status_code == 200  # made at once, nobody's lock in the way
    assert search_figures()[1] == 0


def test_a_search_that_fails_before_searching_a_leg_gives_back_the_lock_taken_for_it(api, sailing):
    day = dt.date.fromisoformat(params_of(sailing)["date"])
    # A return trip from a port that is not ours: its outbound's search fails, its return's leg is never searched.
    params = params_of(sailing) | {"from": "ITGOA", "return_date": (day + dt.timedelta(days=3)).isoformat()}
    answer = api.get(SEARCH, params)

    assert answer.status_code == 400
    assert "from" in answer.json()
    assert not get_redis_connection("default").keys(cache.make_key("ferry:lock:*"))


def test_a_search_sent_to_a_redis_that_forgot_the_scripts_is_answered_and_counted_once(api, sailing, monkeypatch):
    # After a restart Redis knows no script: the limits' and the lookup's, sent by their digests in one round trip,
    # are each sent again whole, and each runs once.
    assert api.get(SEARCH, params_of(sailing)).status_code == 200  # the scripts made known
    for script in [RedisStore._answer_script, *kernel_throttling._scripts.values()]:
        monkeypatch.setattr(script, "sha", "0" * 40)  # a digest Redis does not know
    missed = api.get(SEARCH, params_of(sailing, adults="2"))

    assert missed.status_code == 200
    assert api.get(SEARCH, params_of(sailing, adults="2")).content == missed.content
    assert search_figures() == (3, 1)
    name = cache.make_key("throttle_anon_127.0.0.1:window")
    places = kernel_throttling._ahead._windows[name].places  # set aside for this process, unused
    assert get_redis_connection("default").zcard(name) - len(places) == 3  # each request counted once
    assert not get_redis_connection("default").keys(cache.make_key("ferry:lock:*"))


def test_a_lookup_script_failing_after_the_rate_limits_leaves_their_count_standing_once(api, sailing, monkeypatch):
    # The limits' script ran and counted the request; the answer's lookup, sent right after it, failed (a bug in
    # it, say). The count stands as made — not handed back to the process to be sent again — and the search is
    # answered without the cache.
    broken = get_redis_connection("default").register_script("return redis.error_reply('a bug in the lookup')")
    monkeypatch.setattr(RedisStore, "_answer_script", broken)

    answer = api.get(SEARCH, params_of(sailing, adults="2"))

    assert answer.status_code == 200
    assert [row["sailing_id"] for row in answer.json()["outbound"]] == [sailing.pk]
    name = cache.make_key("throttle_anon_127.0.0.1:window")
    places = kernel_throttling._ahead._windows[name].places  # set aside for this process by the limits' script
    assert get_redis_connection("default").zcard(name) - len(places) == 1  # the request, counted once


def test_a_miss_after_a_lookup_before_drfs_cycle_computes_without_looking_up_again(api, sailing, round_trips):
    response = api.get(SEARCH, params_of(sailing, adults="2"))

    assert response.status_code == 200
    assert len(round_trips) == 2  # the limits, the lookup, the leg's lookup and lock; what the miss keeps
    assert search_figures() == (1, 0)  # one lookup of its one leg, no hit


def test_the_calendar_is_sent_before_drfs_request_cycle_when_kept_too(api, sailing, drf_cycles):
    day = params_of(sailing)["date"]
    params = {"from": "TNTUN", "to": "FRMRS", "month": day[:7]}

    computed, kept = api.get(CALENDAR, params), api.get(CALENDAR, params)

    assert [computed.status_code, kept.status_code] == [200, 200]
    assert kept.content == computed.content
    assert len(drf_cycles) == 1


def listener_standing() -> bool:
    """Whether this process's connection on which Redis tells of the answers' changes stands, in Redis's own list."""
    listener = cache_service.listener
    return any(int(c["id"]) == listener.client_id for c in get_redis_connection("default").client_list())


def test_a_copy_goes_as_soon_as_redis_tells_its_answer_changed_by_another_process(api, sailing, round_trips):
    params = params_of(sailing, adults="2")
    api.get(SEARCH, params)
    kept = api.get(SEARCH, params).content
    assert len(cache_service.first_level) == 1

    # Another process keeps the answer again (made afresh after a sale, say): other bytes under the same key.
    other = get_redis_connection("default").connection_pool.make_connection()
    other.send_command("SET", answer_name(sailing, adults="2"), b'{"made":"elsewhere"}', "EX", 60)
    assert other.read_response() in (b"OK", "OK")
    other.disconnect()
    round_trips.clear()
    after = api.get(SEARCH, params)

    assert kept != after.content == b'{"made":"elsewhere"}'
    assert len(round_trips) == 1  # read from Redis again, with the rate limits
    assert api.get(SEARCH, params).content == b'{"made":"elsewhere"}'  # the new copy


def test_a_lookup_without_a_copy_leaves_what_redis_said_for_the_next_with_one_which_sees_it(api, sailing):
    params = params_of(sailing, adults="2")
    api.get(SEARCH, params)
    kept = api.get(SEARCH, params).content
    key = cache_keys.answer_key(parse_search_query(params))
    assert cache_service.first_level.get(key).body == kept

    other = get_redis_connection("default").connection_pool.make_connection()
    other.send_command("SET", answer_name(sailing, adults="2"), b'{"made":"elsewhere"}', "EX", 60)
    assert other.read_response() in (b"OK", "OK")
    other.disconnect()
    # The lookup of an answer this process holds no copy of (a miss in the making, whose answer another process will
    # keep, say): it goes to Redis anyway, so what Redis said is left unread.
    assert cache_service.answer_lookup(parse_search_query(params_of(sailing, adults="3"))).copy is None
    still = cache_service.first_level.get(key)
    after = api.get(SEARCH, params)

    assert still is not None  # not read by that lookup (the idle read comes a second apart)
    assert still.body == kept
    assert after.content == b'{"made":"elsewhere"}'  # read before the copy was used: never sent stale


def test_threads_of_a_process_check_their_copies_at_once_and_each_sees_a_change_told(api, sailing):
    params = params_of(sailing, adults="2")
    api.get(SEARCH, params)
    kept = api.get(SEARCH, params).content
    key = cache_keys.answer_key(parse_search_query(params_of(sailing, adults="2")))
    assert cache_service.first_level.get(key).body == kept
    threads = 8
    start, told = threading.Barrier(threads), threading.Barrier(threads + 1)
    changed = threading.Event()
    seen: dict[int, tuple] = {}
    failures = []

    def lookups(n: int) -> None:
        try:
            start.wait(timeout=10)
            before = [cache_service.told_of_changes() and cache_service.first_level.get(key) is not None
                      for _ in range(200)]  # fmt: skip
            told.wait(timeout=10)
            changed.wait(timeout=10)
            seen[n] = (all(before), cache_service.told_of_changes(), cache_service.first_level.get(key))
        except Exception as exc:
            failures.append(exc)

    workers = [threading.Thread(target=lookups, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    told.wait(timeout=10)
    other = get_redis_connection("default").connection_pool.make_connection()
    other.send_command("SET", answer_name(sailing, adults="2"), b'{"made":"elsewhere"}', "EX", 60)
    assert other.read_response() in (b"OK", "OK")
    other.disconnect()
    changed.set()
    for worker in workers:
        worker.join(timeout=10)

    assert failures == []
    # Each thread trusted the copy while nothing was said, and none trusted it once Redis had said it changed, whichever
    # thread read what Redis said (the others wait for it rather than trust a socket it emptied).
    assert seen == {n: (True, True, None) for n in range(threads)}


def test_without_redis_telling_it_the_process_checks_each_copy_and_sends_none_dropped(
    api, sailing, round_trips, monkeypatch
):
    monkeypatch.setattr(first_level, "LISTENER_RETRY_SECONDS", 3600.0)
    params = params_of(sailing, adults="2")
    api.get(SEARCH, params)
    api.get(SEARCH, params)
    redis = get_redis_connection("default")
    assert listener_standing()
    redis.client_kill_filter(_id=cache_service.listener.client_id)

    round_trips.clear()
    answers = [api.get(SEARCH, params) for _ in range(3)]  # the lost connection seen: copies go, read again, copied
    trips = [len(round_trips)]
    redis.delete(answer_name(sailing, adults="2"))  # dropped by another process: no one tells this one now
    round_trips.clear()
    made_again = api.get(SEARCH, params)

    assert {a.status_code for a in answers} == {200}
    assert trips == [3]  # each copy checked in its rate limits' round trip (PEXPIRETIME): none sent as it is
    assert len(round_trips) > 1  # the copy did not stand: a miss, made again
    assert made_again.content == answers[0].content
    assert not listener_standing()  # not tried again before LISTENER_RETRY_SECONDS


def test_a_copy_is_not_kept_when_redis_told_a_change_of_its_answer_while_it_was_read():
    copies = first_level.FirstLevel()
    put = {"body": b"{}", "expires_at_ms": int(time.time() * 1000) + 60_000, "ttl": 5.0, "size": 10}

    read_at = copies.mark()
    copies.changed(["ferry:answer:en:a"])  # told between the read and the copy
    copies.put("ferry:answer:en:a", **put, read_at=read_at)
    copies.put("ferry:answer:en:b", **put, read_at=read_at)  # another key: told nothing of it
    assert (copies.get("ferry:answer:en:a"), len(copies)) == (None, 1)

    read_at = copies.mark()
    copies.changed(None)  # a flush: every read before it may be stale
    copies.put("ferry:answer:en:c", **put, read_at=read_at)
    assert len(copies) == 0
    copies.put("ferry:answer:en:c", **put, read_at=copies.mark())
    assert len(copies) == 1


# --- a kept answer sent early ---------------------------------------------------------------------------------------

OURS = f"{KeptAnswerMiddleware.__module__}.{KeptAnswerMiddleware.__name__}"


def queries(sailing) -> dict[str, dict]:
    return {
        SEARCH: params_of(sailing, adults="2"),
        CALENDAR: {"from": "TNTUN", "to": "FRMRS", "month": sailing_day(sailing).isoformat()[:7]},
    }


def without_ours(settings) -> None:
    settings.MIDDLEWARE = [name for name in django_settings.MIDDLEWARE if name != OURS]


class Later:
    """A layer this middleware does not know, after it: it marks every response it sees."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Later"] = "seen"
        return response


def test_every_layer_after_it_in_the_settings_is_one_it_knows():
    later = django_settings.MIDDLEWARE[django_settings.MIDDLEWARE.index(OURS) + 1 :]
    assert later
    assert set(later) <= set(LATER)


@pytest.mark.parametrize("path", [SEARCH, CALENDAR])
@pytest.mark.parametrize("language", ["", "fr", "de-DE,de;q=0.9"])
def test_a_kept_answer_skips_the_layers_it_needs_nothing_of_and_is_the_response_the_whole_cycle_sends(
    sailing, settings, path, language
):
    params = queries(sailing)[path]
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    client = APIClient()
    client.cookies["sessionid"] = "a-session-of-the-website"
    computed = client.get(path, params, **headers)
    early = client.get(path, params, **headers)  # from Redis
    copied = client.get(path, params, **headers)  # from the process's copy
    without_ours(settings)
    cache_service.first_level.clear()
    whole = APIClient()
    whole.cookies["sessionid"] = "a-session-of-the-website"
    through = whole.get(path, params, **headers)

    answers = [computed, early, copied, through]
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.content for a in answers}) == 1
    assert len({tuple(sorted(a.headers.items())) for a in answers}) == 1
    assert early["Content-Language"] == ("fr" if language == "fr" else "de" if language else "en")
    assert early["X-Frame-Options"] == "DENY"
    assert early["Content-Length"] == str(len(early.content))
    # The kept answers skipped the session layer (and those after it); the miss and the whole cycle went through it.
    assert [hasattr(a.wsgi_request, "session") for a in answers] == [True, False, False, True]


def test_a_kept_answer_sent_early_is_counted_by_view_with_its_latency(sailing):
    labels = {"status": "200", "view": "api-sailing-search", "method": "GET"}

    def counted() -> tuple[float, float]:
        responses = REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", labels)
        latencies = REGISTRY.get_sample_value(
            "django_http_requests_latency_seconds_by_view_method_count", {"view": "api-sailing-search", "method": "GET"}
        )
        return responses or 0.0, latencies or 0.0

    client = APIClient()
    params = queries(sailing)[SEARCH]
    client.get(SEARCH, params)  # computed
    before = counted()
    kept = [client.get(SEARCH, params) for _ in range(3)]

    assert [hasattr(k.wsgi_request, "session") for k in kept] == [False] * 3  # all three sent early
    after = counted()
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)


def test_with_a_layer_after_it_that_it_does_not_know_every_request_takes_the_whole_cycle(sailing, settings):
    at = django_settings.MIDDLEWARE.index(OURS)
    marker = f"{__name__}.Later"
    settings.MIDDLEWARE = [*django_settings.MIDDLEWARE[: at + 1], marker, *django_settings.MIDDLEWARE[at + 1 :]]
    client = APIClient()
    params = queries(sailing)[SEARCH]

    answers = [client.get(SEARCH, params) for _ in range(3)]

    assert [a.status_code for a in answers] == [200] * 3
    assert [a["X-Later"] for a in answers] == ["seen"] * 3  # what the layer does is done to every response
    assert [hasattr(a.wsgi_request, "session") for a in answers] == [True] * 3


def test_with_user_agents_refused_a_kept_answer_takes_the_whole_cycle_which_refuses_them(sailing, settings):
    client = APIClient()
    params = queries(sailing)[SEARCH]
    assert client.get(SEARCH, params).status_code == 200  # kept
    settings.DISALLOWED_USER_AGENTS = [re.compile(r"^BadBot")]
    refused = APIClient().get(SEARCH, params, HTTP_USER_AGENT="BadBot/1.0")
    served = APIClient().get(SEARCH, params, HTTP_USER_AGENT="Traveller/2.0")
    without_ours(settings)
    refused_whole = APIClient().get(SEARCH, params, HTTP_USER_AGENT="BadBot/1.0")

    assert [refused.status_code, served.status_code] == [403, 200]
    assert hasattr(served.wsgi_request, "session")  # the whole cycle, which may refuse it
    assert sorted(refused.headers.items()) == sorted(refused_whole.headers.items())
    assert refused.content == refused_whole.content


@pytest.mark.parametrize(
    ("extra", "headers"),
    [
        ({}, {"HTTP_ACCEPT": "text/html"}),  # the browsable API: DRF's negotiation
        ({"format": "json"}, {}),  # a format named
        ({"adults": "two"}, {}),  # an error in the query: told by the view
    ],
)
def test_what_is_not_a_plain_json_hit_goes_through_the_whole_cycle(sailing, extra, headers):
    client = APIClient()
    params = queries(sailing)[SEARCH]
    assert client.get(SEARCH, params).status_code == 200  # kept

    answer = client.get(SEARCH, params | extra, **headers)

    assert hasattr(answer.wsgi_request, "session")
    assert answer.status_code == (400 if extra.get("adults") == "two" else 200)
    if answer.status_code == 400:
        assert "adults" in answer.json()


def test_a_post_or_a_head_to_a_kept_answers_address_takes_the_whole_cycle(sailing):
    client = APIClient()
    params = queries(sailing)[SEARCH]
    assert client.get(SEARCH, params).status_code == 200  # kept

    head = client.head(SEARCH, params)
    post = client.post(SEARCH, params)

    assert [head.status_code, post.status_code] == [200, 405]
    assert hasattr(head.wsgi_request, "session")
    assert hasattr(post.wsgi_request, "session")


def test_an_error_raised_while_a_kept_answer_is_sent_early_is_answered_and_counted_as_the_whole_cycle_does(
    sailing, settings, monkeypatch
):
    def broken(query, lookup):
        raise RuntimeError("a bug in sending a kept answer")

    params = queries(sailing)[SEARCH]
    assert APIClient().get(SEARCH, params).status_code == 200  # kept
    monkeypatch.setattr(SailingSearchApi, "kept_answer", staticmethod(broken))
    statuses = {"status": "500", "view": "api-sailing-search", "method": "GET"}
    before = REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", statuses) or 0
    raised = REGISTRY.get_sample_value("django_http_exceptions_total_by_type_total", {"type": "RuntimeError"}) or 0

    early = APIClient(raise_request_exception=False).get(SEARCH, params)
    without_ours(settings)
    whole = APIClient(raise_request_exception=False).get(SEARCH, params)

    assert [early.status_code, whole.status_code] == [500, 500]
    assert not hasattr(early.wsgi_request, "session")  # raised on the early path
    assert {k: v for k, v in early.headers.items() if k != "Content-Length"} == {
        k: v for k, v in whole.headers.items() if k != "Content-Length"
    }
    responses = REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", statuses)
    exceptions = REGISTRY.get_sample_value("django_http_exceptions_total_by_type_total", {"type": "RuntimeError"})
    assert (responses - before, exceptions - raised) == (2, 2)


def test_a_miss_whose_early_try_raises_gives_back_the_lock_its_lookup_took(sailing, monkeypatch):
    decide = UserThrottle.allow_request

    def broken(throttle, request, view):
        decide(throttle, request, view)  # the limits decided, the missing answer's leg looked up and locked
        raise RuntimeError("a bug after the lookup")

    monkeypatch.setattr(UserThrottle, "allow_request", broken)
    answer = APIClient(raise_request_exception=False).get(SEARCH, queries(sailing)[SEARCH])

    assert answer.status_code == 500
    assert not hasattr(answer.wsgi_request, "session")  # raised on the early path
    assert not get_redis_connection("default").keys(cache.make_key("ferry:lock:*"))
