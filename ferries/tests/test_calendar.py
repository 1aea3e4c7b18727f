"""The fare calendar: the lowest price for the party each day, as the searches of those days give it; one cached
answer per month; availability as fresh as a search's."""

import datetime as dt
import json
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_redis import get_redis_connection
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from ferries.cache import cache_service
from ferries.cache import keys as cache_keys
from ferries.calendar import fare_calendar
from ferries.choices import PassengerType
from ferries.models import PassengerFare, Sailing, SailingInventory
from ferries.queries import CalendarQuery, parse_calendar_query, parse_search_query, searchable_days
from ferries.search import BOOKABLE, leg_search, lowest_price
from ferries.services import searches_changed
from ferries.tests.factories import FareFactory, OperatorFactory, RouteFactory, VesselFactory, sailing_factory
from ferries.tests.test_api import response_schema
from maritime.tests.pages import admin_form_data

pytestmark = pytest.mark.django_db

CALENDAR = "/api/v1/sailings/calendar"
TODAY = timezone.now().date()
# Far enough ahead that a whole strip either side is in the future, and inside one month where it can be.
DAY = TODAY + dt.timedelta(days=12)


def sailing_at(route, *, day: dt.date, time: str, **options) -> Sailing:
    departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=route.origin.tz)
    return sailing_factory(route=route, departs_in=departs - timezone.now(), **options)


def full(sailing: Sailing) -> None:
    SailingInventory.objects.filter(sailing=sailing).update(taken=F("capacity"))


def season(route, *, first: dt.date, last: dt.date, adult_minor: int):
    """A fare for these days only, at another adult price: it wins over the year-long one (it started later)."""
    fare = FareFactory(route=route, name="Season", valid_from=first, valid_to=last)
    PassengerFare.objects.filter(fare=fare, passenger_type=PassengerType.ADULT).update(amount_minor=adult_minor)
    return fare


@pytest.fixture
def network(tunis_marseille):
    """Around DAY: two sailings on DAY (the later one full), a cheaper season on DAY+1 and DAY+2, a full day on
    DAY-1, a vessel too low for a tall car on DAY+3, nothing on DAY-2 and DAY-3."""
    route = tunis_marseille
    sailing_at(route, day=DAY, time="10:00")
    full(sailing_at(route, day=DAY, time="19:00"))
    sailing_at(route, day=DAY + dt.timedelta(days=1), time="11:00")
    sailing_at(route, day=DAY + dt.timedelta(days=2), time="11:00")
    season(route, first=DAY + dt.timedelta(days=1), last=DAY + dt.timedelta(days=2), adult_minor=7000)
    full(sailing_at(route, day=DAY - dt.timedelta(days=1), time="12:00"))
    sailing_at(route, day=DAY + dt.timedelta(days=3), time="09:00", vessel=VesselFactory(max_vehicle_height_cm=200))
    return route


def calendar_of(month: str | None = None, day: dt.date | None = None, **party) -> dict:
    params = {"from": "TNTUN", "to": "FRMRS", **party}
    params |= {"month": month} if month else {"date": day.isoformat()}
    return fare_calendar(query=parse_calendar_query(params))


def api_calendar_of(month: str | None = None, day: dt.date | None = None, **party) -> dict:
    """The same, as the API sends it: its whole answer kept as sent, availability laid over."""
    params = {"from": "TNTUN", "to": "FRMRS", **party}
    params |= {"month": month} if month else {"date": day.isoformat()}
    answer = APIClient().get(CALENDAR, params)
    assert answer.status_code == 200, answer.content.decode()
    return json.loads(answer.content)


# What keeps a calendar fresh holds for the prices kept (read by the website) and for the API's whole answer.
EITHER_READ = pytest.mark.parametrize("read", [calendar_of, api_calendar_of], ids=["prices kept", "answer kept"])


def search_of(day: dt.date, **party) -> dict:
    query = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": day.isoformat(), **party})
    return leg_search(query=query.outbound)


@pytest.mark.parametrize(
    "party",
    [{"adults": "2"}, {"adults": "1", "children": "2", "vehicle": "car", "vehicle_height_cm": "240"}, {"seniors": "3"}],
)
def test_each_day_of_the_calendar_is_what_a_search_of_that_day_gives(network, party):
    calendar = calendar_of(month=DAY.strftime("%Y-%m"), **party)

    first, last = max(DAY.replace(day=1), TODAY), searchable_days()[1]
    expected_days = [d for d in (DAY.replace(day=1) + dt.timedelta(days=n) for n in range(31)) if d.month == DAY.month]
    assert [entry["date"] for entry in calendar["days"]] == [d.isoformat() for d in expected_days if first <= d <= last]
    for entry in calendar["days"]:
        found = search_of(dt.date.fromisoformat(entry["date"]), **party)["sailings"]
        bookable = [row for row in found if row["availability"]["status"] in BOOKABLE]
        assert entry["lowest"] == (lowest_price(bookable) if bookable else None), entry["date"]
        statuses = {row["availability"]["status"] for row in found}
        expected = "available" if bookable else "sold_out" if "sold_out" in statuses else (
            "unavailable" if statuses else "no_sailing"
        )  # fmt: skip
        assert entry["status"] == expected, entry["date"]
    assert calendar["complete"] is True


def test_the_days_around_a_date_are_seven_with_the_cheaper_season_and_the_full_days_told_apart(network):
    days = {entry["date"]: entry for entry in calendar_of(day=DAY, adults="2")["days"]}

    def at(offset: int) -> dict:
        return days[(DAY + dt.timedelta(days=offset)).isoformat()]

    assert len(days) == 7
    assert at(0)["lowest"] == {"amount_minor": 17000, "currency": "EUR"}  # 2 × 100.00 in Basic; the 19:00 is full
    assert at(0)["status"] == "available"
    assert at(1)["lowest"] == {"amount_minor": 11900, "currency": "EUR"}  # 2 × 70.00 in Basic (85 %)
    assert (at(-1)["lowest"], at(-1)["status"], at(-1)["cheapest"]) == (None, "sold_out", False)
    assert [offset for offset in range(-3, 4) if at(offset)["cheapest"]] == [1, 2]  # the season's two days
    assert at(-3)["status"] == at(-2)["status"] == "no_sailing"
    van = {entry["date"]: entry for entry in calendar_of(day=DAY, vehicle="car", vehicle_height_cm="240")["days"]}
    assert van[(DAY + dt.timedelta(days=3)).isoformat()]["status"] == "unavailable"


def test_a_month_is_one_cached_answer_read_without_a_query(network, django_assert_num_queries):
    calendar_of(month=DAY.strftime("%Y-%m"), adults="2")

    with django_assert_num_queries(0):
        again = calendar_of(month=DAY.strftime("%Y-%m"), adults="2")

    assert any(entry["status"] == "available" for entry in again["days"])


def test_our_inventory_answers_a_month_in_a_few_queries_whatever_its_sailings(network, django_assert_max_num_queries):
    for n in range(4, 12):
        sailing_at(network, day=DAY + dt.timedelta(days=n), time="08:00")

    with django_assert_max_num_queries(12):
        calendar_of(month=DAY.strftime("%Y-%m"), adults="2")


@EITHER_READ
def test_a_sailing_filling_up_shows_its_day_sold_out_at_the_next_read(
    read, tunis_marseille, django_capture_on_commit_callbacks
):
    only = sailing_at(tunis_marseille, day=DAY, time="10:00")
    assert read(day=DAY, adults="2")["days"][3]["status"] == "available"

    with django_capture_on_commit_callbacks(execute=True):
        full(only)
        cache_service.invalidate_availability(only.pk)  # what every change of capacity does (ferries.services)

    assert read(day=DAY, adults="2")["days"][3] == {"date": DAY.isoformat(), "lowest": None,
                                                    "status": "sold_out", "cheapest": False}  # fmt: skip


@EITHER_READ
def test_a_new_sailing_shows_once_the_searches_of_its_route_and_day_are_dropped(
    read, tunis_marseille, django_capture_on_commit_callbacks
):
    sailing_at(tunis_marseille, day=DAY, time="10:00")
    assert read(day=DAY, adults="2")["days"][4]["status"] == "no_sailing"

    with django_capture_on_commit_callbacks(execute=True):
        added = sailing_at(tunis_marseille, day=DAY + dt.timedelta(days=1), time="10:00")
        searches_changed(sailing=added)

    assert read(day=DAY, adults="2")["days"][4]["status"] == "available"


@EITHER_READ
def test_a_fare_changed_in_the_admin_drops_the_route_s_cached_prices(
    read, admin_client, tunis_marseille, django_capture_on_commit_callbacks
):
    sailing_at(tunis_marseille, day=DAY, time="10:00")
    assert read(day=DAY, adults="2")["days"][3]["lowest"]["amount_minor"] == 17000
    fare = tunis_marseille.fares.get()
    adult = fare.passenger_fares.get(passenger_type=PassengerType.ADULT)
    url = reverse("admin:ferries_fare_change", args=[fare.pk])
    form = admin_form_data(admin_client.get(url))
    prefix = next(k for k, v in form.items() if k.endswith("-id") and v == str(adult.pk)).removesuffix("-id")
    form[f"{prefix}-amount_minor"] = "9000"

    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(url, form)

    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert read(day=DAY, adults="2")["days"][3]["lowest"]["amount_minor"] == 15300  # 2 × 90.00 × 85 %


@pytest.mark.django_db(transaction=True)
@EITHER_READ
def test_a_remote_operator_is_asked_each_day_and_its_silence_leaves_days_unknown(
    read, tunis_marseille, operator_simulator, settings
):
    remote = RouteFactory(operator=OperatorFactory(code="REM", name="Remote Lines"))
    sailing_at(remote, day=DAY + dt.timedelta(days=1), time="13:00")
    settings.OPERATOR_API_URLS = {"REM": operator_simulator(latency=0.01).url_for("REM")}

    days = {entry["date"]: entry for entry in read(day=DAY, adults="2")["days"]}
    assert days[(DAY + dt.timedelta(days=1)).isoformat()]["status"] == "available"
    assert days[DAY.isoformat()]["status"] == "no_sailing"

    cache_service.clear_ferry_searches(route="TNTUN-FRMRS")
    settings.OPERATOR_API_URLS = {"REM": operator_simulator(error_rate=1.0).url_for("REM")}
    silent = read(day=DAY, adults="2")
    assert silent["complete"] is False
    assert {entry["status"] for entry in silent["days"]} == {"unknown"}


# --- the API ---------------------------------------------------------------------------------------------------


@pytest.fixture
def api():
    return APIClient()


def test_the_plain_json_answer_is_byte_for_byte_what_drfs_renderer_makes_of_the_calendar(api, network):
    params = {"from": "TNTUN", "to": "FRMRS", "month": DAY.strftime("%Y-%m"), "adults": 1, "vehicle": "car"}

    sent = api.get("/api/v1/sailings/calendar", params)

    assert sent.status_code == 200
    assert sent.content == JSONRenderer().render(fare_calendar(query=parse_calendar_query(params)))


def test_the_api_answers_a_month_as_documented(api, network):
    answer = api.get("/api/v1/sailings/calendar", {"from": "tntun", "to": "FRMRS", "month": DAY.strftime("%Y-%m"),
                                                     "adults": 2})  # fmt: skip

    assert answer.status_code == 200
    body = answer.json()
    assert (body["from"], body["to"], body["complete"]) == ("TNTUN", "FRMRS", True)
    assert body["days"] == calendar_of(month=DAY.strftime("%Y-%m"), adults="2")["days"]
    openapi = SchemaGenerator().get_schema(request=None, public=True)
    validator = Draft7Validator(response_schema(openapi, "/api/v1/sailings/calendar", 200))
    assert [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)] == []


def test_the_api_sends_a_month_again_as_the_bytes_kept_in_one_round_trip_without_a_query_then_none_from_the_copy(
    network, round_trips, django_assert_num_queries
):
    params = {"from": "TNTUN", "to": "FRMRS", "month": DAY.strftime("%Y-%m"), "adults": "2"}
    first = APIClient().get(CALENDAR, params)
    cache_service.first_level.clear()

    round_trips.clear()
    with django_assert_num_queries(0):
        again = APIClient().get(CALENDAR, params)
    trips = [len(round_trips)]
    copies = []
    for _ in range(2):
        round_trips.clear()
        copies.append(APIClient().get(CALENDAR, params))
        trips.append(len(round_trips))
    from_copy = copies[1]

    assert first.status_code == again.status_code == from_copy.status_code == 200
    assert first.content == again.content == from_copy.content
    assert first["Content-Type"] == again["Content-Type"] == "application/json"
    # The rate limits and the answer's lookup together, the limits setting places aside for the client; then this
    # process's copy, on those places: decided in the process.
    assert trips == [1, 0, 0]
    assert copies[0].content == from_copy.content
    cache_service.first_level.clear()


def test_a_month_kept_whole_expires_no_later_than_the_availability_laid_over_it(network):
    api_calendar_of(month=DAY.strftime("%Y-%m"), adults="2")
    redis = get_redis_connection("default")
    query = parse_calendar_query({"from": "TNTUN", "to": "FRMRS", "month": DAY.strftime("%Y-%m"), "adults": "2"})
    sailing_ids = Sailing.objects.filter(route=network).values_list("pk", flat=True)
    availability_left = [redis.pttl(cache.make_key(cache_keys.availability_key(pk))) for pk in sailing_ids]
    redis.expire(cache.make_key(cache_keys.availability_key(sailing_ids[0])), 5)  # as one about to expire
    redis.delete(cache.make_key(cache_keys.calendar_answer_key(query)))  # made again, from the prices kept
    cache_service.first_level.clear()

    api_calendar_of(month=DAY.strftime("%Y-%m"), adults="2")
    kept_for = redis.pttl(cache.make_key(cache_keys.calendar_answer_key(query)))

    assert min(availability_left) > 5000
    assert 0 < kept_for <= 5000


@pytest.mark.django_db(transaction=True)
def test_a_month_laid_over_with_an_availability_an_operator_did_not_give_is_not_kept_whole(
    tunis_marseille, operator_simulator, settings
):
    remote = sailing_at(RouteFactory(operator=OperatorFactory(code="REM")), day=DAY, time="13:00")
    simulator = operator_simulator(latency=0.01)
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    query = parse_calendar_query({"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), "adults": "2"})
    answer_name = cache.make_key(cache_keys.calendar_answer_key(query))
    redis = get_redis_connection("default")

    def the_day() -> dict:
        return next(entry for entry in api_calendar_of(day=DAY, adults="2")["days"] if entry["date"] == DAY.isoformat())

    assert the_day()["status"] == "available"
    assert redis.exists(answer_name)
    simulator.error_rate = 1.0
    cache_service.invalidate_availability(remote.pk)  # its minute is over: asked again, and the operator fails
    unknown = the_day()
    assert not redis.exists(answer_name)  # asked again at the next request
    simulator.error_rate = 0.0
    assert the_day() == unknown  # bookable as a search shows it (the hold decides), at the same price
    assert redis.exists(answer_name)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "month", "Choose a month."),
        ({"month": "2027-13"}, "month", "Enter a month as YYYY-MM."),
        ({"month": "July"}, "month", "Enter a month as YYYY-MM."),
        ({"month": "2020-01"}, "month", "This month is over."),
        ({"month": "2199-01"}, "month", "Sailings are published up to"),
        ({"month": DAY.strftime("%Y-%m"), "date": DAY.isoformat()}, "date", "Give a month or a date, not both."),
        ({"date": "2020-01-01"}, "date", "This date is in the past."),
        ({"month": DAY.strftime("%Y-%m"), "to": "TNTUN"}, "to", "Choose a destination different"),
        ({"month": DAY.strftime("%Y-%m"), "to": "XXYYY"}, "to", "Unknown port XXYYY."),
        ({"month": DAY.strftime("%Y-%m"), "children": "2", "adults": "0"}, "adults", "must travel with an adult"),
        ({"month": DAY.strftime("%Y-%m"), "vehicle": "boat"}, "vehicle", "Choose one of"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, tunis_marseille, params, field, message):
    answer = api.get("/api/v1/sailings/calendar", {"from": "TNTUN", "to": "FRMRS", **params})

    assert answer.status_code == 400
    assert message in " ".join(answer.json()[field])


# --- the website ---------------------------------------------------------------------------------------------


def results(client, **params):
    query = {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), "adults": "2", **params}
    return client.get(f"{reverse('sailing_results')}?{urlencode(query)}")


def strip(page, leg: str = "Outbound") -> list[tuple[str, str, str, bool]]:
    """The fare strip of a leg: (date, what it says, its link, whether it is the day shown)."""
    html = page.content.decode()
    nav = re.search(rf'<nav class="fare-strip" aria-label="{leg}: prices on nearby days">(.*?)</nav>', html, re.S)
    assert nav, f"no fare strip for {leg}"
    days = re.findall(r'<a class="fare-day[^"]*" href="([^"]*)"( aria-current="date")? data-date="([^"]*)">(.*?)</a>',
                      nav.group(1), re.S)  # fmt: skip
    return [(day, " ".join(re.sub(r"<[^>]+>", " ", text).split()), unescape(href), bool(current))
            for href, current, day, text in days]  # fmt: skip


def test_the_results_show_a_fare_strip_whose_cheaper_day_is_one_click_away(client, network):
    page = results(client)

    days = strip(page)
    assert [day for day, *_ in days] == [(DAY + dt.timedelta(days=n)).isoformat() for n in range(-3, 4)]
    chosen = [entry for entry in days if entry[3]]
    assert [(day, text) for day, text, _href, _chosen in chosen] == [
        (DAY.isoformat(), f"{DAY:%a} {DAY.day} {DAY:%b} €170.00")
    ]
    cheaper = days[4]
    assert cheaper[1].endswith("€119.00 (lowest price)")
    assert "Sold out" in days[2][1]
    assert "No sailing" in days[0][1]
    followed = client.get(cheaper[2])
    assert followed.status_code == 200
    assert parse_qs(urlsplit(cheaper[2]).query)["date"] == [cheaper[0]]
    assert parse_qs(urlsplit(cheaper[2]).query)["adults"] == ["2"]
    assert "€119.00" in followed.content.decode()


def test_a_return_s_strip_never_offers_a_day_before_the_outbound_nor_the_outbound_s_after_the_return(
    client, network, marseille_tunis
):
    back = DAY + dt.timedelta(days=1)
    page = results(client, return_date=back.isoformat())

    outbound, inbound = strip(page), strip(page, "Return")
    assert max(day for day, *_ in outbound) == back.isoformat()
    assert min(day for day, *_ in inbound) == DAY.isoformat()
    assert len(outbound) == len(inbound) == 7
    assert all(parse_qs(urlsplit(href).query)["return_date"] == [day] for day, _text, href, _c in inbound)


def test_the_month_page_links_each_day_with_room_to_its_search(client, network):
    page = results(client)
    month_url = re.search(r'<a class="fare-strip-month" href="([^"]+)"', page.content.decode()).group(1)

    month = client.get(unescape(month_url))

    assert month.status_code == 200
    html = month.content.decode()
    links = dict(re.findall(r'<a class="month-day" href="([^"]+)" data-date="([^"]+)"', html))
    links = {day: unescape(href) for href, day in links.items()}
    # The days with room in DAY's month: DAY to DAY + 3 (the low vessel takes a party without a vehicle).
    with_room = [DAY + dt.timedelta(days=n) for n in (0, 1, 2, 3)]
    assert set(links) == {day.isoformat() for day in with_room if day.month == DAY.month}
    assert parse_qs(urlsplit(links[DAY.isoformat()]).query)["date"] == [DAY.isoformat()]
    assert f'data-date="{(DAY - dt.timedelta(days=1)).isoformat()}"><span class="month-day-number">' in html
    assert "Sold out" in html


def test_the_month_page_refuses_bad_input_with_the_reason(client, tunis_marseille):
    answer = client.get(reverse("fare_calendar"), {"from": "TNTUN", "to": "FRMRS", "month": "2020-01"})

    assert answer.status_code == 400
    assert "This month is over." in answer.content.decode()


def test_a_calendar_query_of_a_month_keeps_to_the_days_that_can_be_searched():
    query = parse_calendar_query({"from": "TNTUN", "to": "FRMRS", "month": TODAY.strftime("%Y-%m")})

    assert isinstance(query, CalendarQuery)
    assert query.first == TODAY
    assert query.last.month == TODAY.month
    assert (query.last + dt.timedelta(days=1)).day == 1
