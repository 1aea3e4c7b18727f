"""The mobile API for ports, routes and sailing search, on real PostgreSQL and Redis."""

import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_redis import get_redis_connection
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from ferries.api.views import in_words
from ferries.cache import cache_service
from ferries.choices import PassengerType
from ferries.models import PassengerFare, Sailing, SailingInventory
from ferries.party import Party
from ferries.queries import parse_search_query
from ferries.search import sailing_search
from ferries.services import capacity_hold
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/sailings/search"
SEARCH_FIELDS = ["from", "to", "date", "return_date", "adults", "children", "infants", "seniors"]
SEARCH_FIELDS += [
    *(
        f"{vehicle}{detail}"
        for vehicle in ("vehicle", "vehicle2", "vehicle3", "vehicle4")
        for detail in ("", "_length_cm", "_height_cm", "_load")
    ),
    "accommodation",
    "pets",
    "dogs",
    "cats",
    "return_from",
    "return_to",
    "return_accommodation",
]
SEARCH_FIELDS += ["sort", "operator", "departs", "available_only"]


def days_from_today(n: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=n)).isoformat()


def local_day(sailing: Sailing) -> str:
    """The day a sailing leaves, in its departure port's time: the day a traveller searches for."""
    return sailing.departs_at.astimezone(sailing.route.origin.tz).date().isoformat()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def outbound_sailing(tunis_marseille):
    return sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))


@pytest.fixture
def return_sailing(marseille_tunis):
    return sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=12))


# --- ports and routes ---------------------------------------------------------------------------------


def test_ports_lists_every_port_with_an_active_route_unpaginated(api, tunis_marseille, marseille_tunis):
    RouteFactory(operator=tunis_marseille.operator, origin=PortFactory(code="ITGOA"), active=False)

    response = api.get("/api/v1/ports")

    assert response.status_code == 200
    assert response.json() == [
        {"code": "FRMRS", "name": "Marseille", "country": "FR", "country_name": "France", "time_zone": "Europe/Paris"},
        {"code": "TNTUN", "name": "Tunis", "country": "TN", "country_name": "Tunisia", "time_zone": "Africa/Tunis"},
    ]


def test_routes_lists_active_routes_of_active_operators_with_their_ports(api, tunis_marseille):
    RouteFactory(operator=tunis_marseille.operator, origin=PortFactory(code="ITGOA"), active=False)
    RouteFactory(operator=OperatorFactory(code="GONE", active=False), origin=PortFactory(code="ITGOA"))

    response = api.get("/api/v1/routes")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": tunis_marseille.pk,
            "operator": {"code": "LOC", "name": "Local Lines", "logo_url": None},
            "from": {"code": "TNTUN", "name": "Tunis"},
            "to": {"code": "FRMRS", "name": "Marseille"},
        }
    ]


# --- sailing search -----------------------------------------------------------------------------------


def test_one_way_search_answers_sailings_priced_for_the_whole_party(api, outbound_sailing):
    response = api.get(
        SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing), "adults": 2, "children": 1}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["return"], body["complete"]) == ([], True)
    assert body["operators"] == [{"code": "LOC", "name": "Local Lines", "status": "ok", "message": ""}]
    [sailing] = body["outbound"]
    assert sailing["sailing_id"] == outbound_sailing.pk
    assert (sailing["from"]["code"], sailing["to"]["code"]) == ("TNTUN", "FRMRS")
    assert sailing["price"] == {"amount_minor": 25000, "currency": "EUR"}
    assert {
        "code": "adult",
        "label": "Adult (12–64)",
        "quantity": 2,
        "unit": {"amount_minor": 10000, "currency": "EUR"},
        "total": {"amount_minor": 20000, "currency": "EUR"},
    } in sailing["price_lines"]
    assert sailing["availability"] == {"status": "available", "places_left": 100}


def test_return_search_answers_the_sailings_of_both_directions(api, outbound_sailing, return_sailing):
    response = api.get(
        SEARCH,
        {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing), "return_date": local_day(return_sailing)},
    )

    assert response.status_code == 200
    body = response.json()
    assert [row["sailing_id"] for row in body["outbound"]] == [outbound_sailing.pk]
    assert [row["sailing_id"] for row in body["return"]] == [return_sailing.pk]
    assert (body["return"][0]["from"]["code"], body["return"][0]["to"]["code"]) == ("FRMRS", "TNTUN")
    assert body["return"][0]["price"] == {"amount_minor": 10000, "currency": "EUR"}


# --- price lines in words ------------------------------------------------------------------------------

LABELS = {
    "en": {
        "adult": "Adult (12–64)",
        "child": "Child (4–11)",
        "accommodation:seat": "Reserved seat",
        "vehicle:car": "Car",
    },
    "fr": {
        "adult": "Adulte (12–64 ans)",
        "child": "Enfant (4–11 ans)",
        "accommodation:seat": "Fauteuil réservé",
        "vehicle:car": "Voiture",
    },
}


def labels(body: dict) -> dict:
    """{code: label} of every price line of every sailing answered."""
    return {
        line["code"]: line["label"]
        for leg in ("outbound", "return")
        for row in body[leg]
        for line in row["price_lines"]
    }


def family_by_car(outbound: Sailing, back: Sailing) -> dict:
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound), "return_date": local_day(back)}
    return params | {"adults": 2, "children": 1, "vehicle": "car", "accommodation": "seat"}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_price_line_is_named_in_the_language_of_the_request(api, outbound_sailing, return_sailing, language):
    response = api.get(SEARCH, family_by_car(outbound_sailing, return_sailing), HTTP_ACCEPT_LANGUAGE=language)

    assert labels(response.json()) == LABELS[language]


def test_the_words_of_an_answer_kept_in_the_cache_are_never_sent_in_another_language(
    api, outbound_sailing, return_sailing
):
    params = family_by_car(outbound_sailing, return_sailing)

    answers = [(language, api.get(SEARCH, params, HTTP_ACCEPT_LANGUAGE=language)) for language in ["en", "fr"] * 2]

    assert [labels(response.json()) for _language, response in answers] == [LABELS[lang] for lang, _ in answers]
    assert answers[2][1].content == answers[0][1].content, "the English answer, sent again from the cache"
    assert answers[3][1].content == answers[1][1].content, "the French answer, sent again from the cache"


def test_the_plain_json_answer_is_byte_for_byte_what_drfs_renderer_makes_of_the_search(
    api, outbound_sailing, return_sailing
):
    params = family_by_car(outbound_sailing, return_sailing)

    with translation.override("fr"):  # words beyond ASCII in its price lines
        sent = api.get(SEARCH, params, HTTP_ACCEPT_LANGUAGE="fr")
        made = JSONRenderer().render(in_words(sailing_search(query=parse_search_query(params))))

    assert sent.status_code == 200
    assert "réservé" in sent.content.decode()
    assert sent.content == made


def test_an_indented_answer_names_its_price_lines_too(api, outbound_sailing, return_sailing):
    params = family_by_car(outbound_sailing, return_sailing)

    response = api.get(SEARCH, params, HTTP_ACCEPT="application/json; indent=2", HTTP_ACCEPT_LANGUAGE="fr")

    assert b"\n  " in response.content
    assert labels(response.json()) == LABELS["fr"]


def test_second_identical_search_is_answered_from_the_cache(api, outbound_sailing):
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing)}
    first = api.get(SEARCH, params).json()
    PassengerFare.objects.filter(fare__route=outbound_sailing.route, passenger_type=PassengerType.ADULT).update(
        amount_minor=99900
    )

    second = api.get(SEARCH, params).json()

    # The new fare shows once the cached answer expires; until then the cached price is the one shown.
    assert second["outbound"][0]["price"] == first["outbound"][0]["price"] == {"amount_minor": 10000, "currency": "EUR"}
    assert cache_service.stats()["search"]["hits"] == 1


def test_a_repeated_search_is_sent_whole_from_the_cache_and_counted_as_a_hit(api, outbound_sailing):
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing)}
    first = api.get(SEARCH, params)

    with CaptureQueriesContext(connection) as queries:
        second = api.get(SEARCH, params)

    assert second.content == first.content
    assert second["Content-Type"] == "application/json"
    assert len(queries) == 0
    figures = cache_service.stats()["search"]
    assert (figures["lookups"], figures["hits"]) == (2, 1)


def test_the_answer_sent_shows_places_taken_since_it_was_kept(
    api, outbound_sailing, django_capture_on_commit_callbacks
):
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing), "adults": "2"}
    before = api.get(SEARCH, params).json()["outbound"][0]["availability"]["places_left"]
    with django_capture_on_commit_callbacks(execute=True):
        capacity_hold(sailing=outbound_sailing, party=Party(adults=3), minutes=20)

    after = api.get(SEARCH, params).json()["outbound"][0]["availability"]["places_left"]

    assert (before, after) == (100, 97)


def test_the_answer_kept_goes_with_the_searches_cleared(api, outbound_sailing):
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing)}
    api.get(SEARCH, params)
    PassengerFare.objects.filter(fare__route=outbound_sailing.route, passenger_type=PassengerType.ADULT).update(
        amount_minor=99900
    )

    cache_service.clear_ferry_searches(route="TNTUN-FRMRS", date=local_day(outbound_sailing))

    assert api.get(SEARCH, params).json()["outbound"][0]["price"] == {"amount_minor": 99900, "currency": "EUR"}


def test_the_answer_is_kept_no_longer_than_availability_nor_past_the_close_of_sales(api, tunis_marseille):
    closing = sailing_factory(
        route=tunis_marseille, departs_in=dt.timedelta(minutes=settings.BOOKING_CUTOFF_MINUTES + 20)
    )
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(closing)}
    query = parse_search_query(params)
    soon = {"from": "TNTUN", "to": "FRMRS", "date": days_from_today(10)}
    sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))

    api.get(SEARCH, params)
    api.get(SEARCH, soon)

    redis = get_redis_connection("default")
    assert 0 < redis.ttl(cache.make_key(cache_service.answer_key(query))) <= 20 * 60
    assert 0 < redis.ttl(cache.make_key(cache_service.answer_key(parse_search_query(soon)))) <= 60


def test_with_the_search_cache_off_every_search_is_computed_and_nothing_kept(api, outbound_sailing, settings):
    settings.SEARCH_CACHE = False
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing)}

    answers = [api.get(SEARCH, params).json() for _ in range(2)]

    assert answers[0] == answers[1]
    assert [row["sailing_id"] for row in answers[0]["outbound"]] == [outbound_sailing.pk]
    figures = cache_service.stats()
    assert figures["search"]["lookups"] == figures["search"]["entries"] == figures["availability"]["entries"] == 0


@pytest.mark.parametrize("cached", [True, False], ids=["cache miss", "cache off"])
def test_a_search_of_our_own_inventory_is_a_handful_of_queries_whatever_its_sailings(
    api, tunis_marseille, settings, django_assert_max_num_queries, cached
):
    settings.SEARCH_CACHE = cached
    day = timezone.now() + dt.timedelta(days=10)
    for hour in range(6, 22, 2):
        sailing_factory(route=tunis_marseille, departs_at=day.replace(hour=hour, minute=0))
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(Sailing.objects.earliest("departs_at"))}

    # The route with its ports and operator; the sailings and their inventory; the fare and its four kinds of rows.
    # The availability the search read is the one shown: not read again, from the cache or the database.
    with django_assert_max_num_queries(8):
        answer = api.get(SEARCH, params)

    assert answer.status_code == 200
    assert len(answer.json()["outbound"]) >= 4


# --- why a leg has nothing to book --------------------------------------------------------------------


def explanation(body: dict, leg: str = "outbound") -> dict:
    return body["explanations"][leg]


def test_a_leg_with_sailings_to_book_needs_no_explanation(api, outbound_sailing, return_sailing):
    response = api.get(
        SEARCH,
        {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing), "return_date": local_day(return_sailing)},
    )

    assert response.json()["explanations"] == {"outbound": None, "return": None}


def test_ports_without_a_route_between_them_answer_why_and_the_ports_each_one_is_linked_to(
    api, tunis_marseille, local_operator
):
    RouteFactory(operator=local_operator, origin=tunis_marseille.destination, destination=PortFactory(code="ITGOA"))

    response = api.get(SEARCH, {"from": "TNTUN", "to": "ITGOA", "date": days_from_today(10)})

    assert response.status_code == 200
    body = response.json()
    assert body["outbound"] == []
    assert explanation(body) == {
        "reason": "no_route",
        "destinations_from_origin": [{"code": "FRMRS", "name": "Marseille"}],
        "origins_to_destination": [{"code": "FRMRS", "name": "Marseille"}],
        "accommodation_offered": [],
        "nearby_dates": [],
    }


def test_a_return_between_ports_linked_one_way_only_answers_which_leg_has_no_route(
    api, tunis_marseille, local_operator
):
    sailing = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))

    body = api.get(
        SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(sailing), "return_date": days_from_today(14)}
    ).json()

    assert explanation(body, "outbound") is None
    assert explanation(body, "return")["reason"] == "no_route"
    assert explanation(body, "return")["destinations_from_origin"] == []


def test_a_cabin_no_ferry_of_the_route_has_answers_what_its_ferries_offer(api, tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(accommodations={"seat": 20}))

    body = api.get(
        SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(sailing), "accommodation": "inside_2"}
    ).json()

    assert explanation(body)["reason"] == "no_such_accommodation"
    assert explanation(body)["accommodation_offered"] == ["deck", "seat"]
    assert explanation(body)["nearby_dates"] == []


def test_a_cabin_only_another_ferry_of_the_route_has_is_unavailable_that_day_not_missing(api, tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(accommodations={"seat": 20}))
    later = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11))

    body = api.get(
        SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(sailing), "accommodation": "inside_2"}
    ).json()

    assert explanation(body)["reason"] == "unavailable"
    assert [day["date"] for day in explanation(body)["nearby_dates"]] == [local_day(later)]


def test_a_full_day_answers_sold_out_with_the_nearby_dates_that_have_room_and_their_lowest_price(api, tunis_marseille):
    full = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    SailingInventory.objects.filter(sailing=full).update(taken=F("capacity"))
    later = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11))

    body = api.get(SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(full), "adults": 2}).json()

    assert [row["availability"]["status"] for row in body["outbound"]] == ["sold_out"]
    assert explanation(body)["reason"] == "sold_out"
    # Two adults at 100.00 each in Standard, in Basic at 85 %: the lowest fare of the day.
    assert explanation(body)["nearby_dates"] == [
        {"date": local_day(later), "lowest_price": {"amount_minor": 17000, "currency": "EUR"}}
    ]


def test_a_day_without_sailings_answers_nearby_dates_only_where_the_party_can_book(api, tunis_marseille):
    too_small = sailing_factory(
        route=tunis_marseille, departs_in=dt.timedelta(days=9), vessel=VesselFactory(passenger_capacity=2)
    )
    roomy = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11))
    day = (dt.date.fromisoformat(local_day(too_small)) + dt.timedelta(days=1)).isoformat()

    body = api.get(SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": day, "adults": 3}).json()

    assert body["outbound"] == []
    assert explanation(body)["reason"] == "no_sailing_this_day"
    # Three adults at 100.00 in Standard; the lowest fare is Basic, at 85 %.
    assert explanation(body)["nearby_dates"] == [
        {"date": local_day(roomy), "lowest_price": {"amount_minor": 25500, "currency": "EUR"}}
    ]


def test_the_answer_kept_stops_offering_a_nearby_date_once_its_places_are_taken(
    api, tunis_marseille, django_capture_on_commit_callbacks
):
    nearby = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11))
    day = (dt.date.fromisoformat(local_day(nearby)) - dt.timedelta(days=1)).isoformat()
    params = {"from": "TNTUN", "to": "FRMRS", "date": day}
    before = explanation(api.get(SEARCH, params).json())["nearby_dates"]
    with django_capture_on_commit_callbacks(execute=True):
        capacity_hold(sailing=nearby, party=Party(adults=100), minutes=20)

    after = explanation(api.get(SEARCH, params).json())["nearby_dates"]

    assert [d["date"] for d in before] == [local_day(nearby)]
    assert after == []


def test_the_answer_kept_goes_with_the_cleared_searches_of_its_nearby_dates(api, tunis_marseille):
    nearby = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=11))
    day = (dt.date.fromisoformat(local_day(nearby)) - dt.timedelta(days=1)).isoformat()
    params = {"from": "TNTUN", "to": "FRMRS", "date": day}
    api.get(SEARCH, params)
    PassengerFare.objects.filter(fare__route=tunis_marseille, passenger_type=PassengerType.ADULT).update(
        amount_minor=99900
    )

    cache_service.clear_ferry_searches(route="TNTUN-FRMRS", date=local_day(nearby))

    [nearby_date] = explanation(api.get(SEARCH, params).json())["nearby_dates"]
    assert nearby_date["lowest_price"] == {"amount_minor": 99900 * 85 // 100, "currency": "EUR"}  # Basic


def in_future(n: int):
    """A date `n` days from today, worked out when the test runs rather than when it is collected."""
    return lambda: days_from_today(n)


BAD_SEARCHES = [
    pytest.param({"from": "ESBCN"}, "from", id="unknown departure port"),
    pytest.param({"to": "GRPIR"}, "to", id="unknown arrival port"),
    pytest.param({"from": "X1"}, "from", id="malformed port code"),
    pytest.param({"from": ""}, "from", id="no departure port"),
    pytest.param({"to": "tntun"}, "to", id="same ports"),
    pytest.param({"date": in_future(-1)}, "date", id="date in the past"),
    pytest.param({"date": in_future(settings.SEARCH_HORIZON_DAYS + 1)}, "date", id="date beyond the horizon"),
    pytest.param({"date": "14/07/2027"}, "date", id="date not ISO"),
    pytest.param({"return_date": in_future(9)}, "return_date", id="return before outbound"),
    pytest.param({"adults": "0", "children": "1"}, "adults", id="child without a grown-up"),
    pytest.param({"adults": "0", "infants": "1"}, "adults", id="infant without a grown-up"),
    pytest.param({"adults": "1", "infants": "2"}, "infants", id="more infants than laps"),
    pytest.param({"adults": "10"}, "passengers", id="more than nine passengers"),
    pytest.param({"adults": "5", "seniors": "5"}, "passengers", id="more than nine passengers in all"),
    pytest.param({"adults": "1", "children": "-1"}, "children", id="negative count"),
    pytest.param({"adults": "two"}, "adults", id="letters in a count"),
    pytest.param({"vehicle": "car", "vehicle_length_cm": "2000"}, "vehicle_length_cm", id="vehicle too long"),
    pytest.param({"vehicle": "car", "vehicle_height_cm": "10"}, "vehicle_height_cm", id="vehicle too low"),
    pytest.param({"vehicle": "car", "vehicle_length_cm": "4m"}, "vehicle_length_cm", id="letters in a dimension"),
    pytest.param({"vehicle_length_cm": "450"}, "vehicle_length_cm", id="dimension without a vehicle"),
    pytest.param({"vehicle": "tank"}, "vehicle", id="unknown vehicle"),
    pytest.param({"accommodation": "suite"}, "accommodation", id="unknown accommodation"),
    pytest.param({"pets": "5"}, "pets", id="too many pets"),
    pytest.param({"pets": "a dog"}, "pets", id="pets in words"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_SEARCHES)
def test_bad_search_answers_400_naming_the_field_and_writes_nothing(api, tunis_marseille, marseille_tunis, bad, field):
    params = {"from": "TNTUN", "to": "FRMRS", "date": days_from_today(10)}
    params.update({name: value() if callable(value) else value for name, value in bad.items()})

    with CaptureQueriesContext(connection) as queries:
        response = api.get(SEARCH, params)

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field]
    assert all(isinstance(message, str) and message for message in body[field])
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_search_in_the_past_says_so_in_plain_words(api, tunis_marseille):
    response = api.get(SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": days_from_today(-1)})

    assert response.status_code == 400
    assert response.json() == {"date": ["This date is in the past."]}


def test_search_reports_every_bad_field_at_once(api, tunis_marseille):
    response = api.get(SEARCH, {"from": "TNTUN", "to": "TNTUN", "adults": "x", "vehicle": "tank"})

    assert response.status_code == 400
    assert set(response.json()) == {"to", "date", "adults", "vehicle"}


# --- OpenAPI ------------------------------------------------------------------------------------------


def test_schema_describes_ports_routes_and_search(api):
    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/ports", "/api/v1/routes", "/api/v1/sailings/search"} <= set(paths)
    search = paths["/api/v1/sailings/search"]["get"]
    assert {p["name"] for p in search["parameters"]} == set(SEARCH_FIELDS)
    # 406 and 429 come from DRF on every operation (kernel.api.document_framework_answers).
    assert set(search["responses"]) == {"200", "400", "406", "429"}


OPTIONAL_SEARCH_FIELDS = [name for name in SEARCH_FIELDS if name not in ("from", "to", "date")]


@pytest.mark.parametrize("name", OPTIONAL_SEARCH_FIELDS)
def test_an_optional_parameter_sent_empty_is_read_as_left_out_as_the_schema_says(api, openapi, outbound_sailing, name):
    [parameter] = [p for p in openapi["paths"][SEARCH]["get"]["parameters"] if p["name"] == name]
    params = {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound_sailing)}

    left_out, empty = api.get(SEARCH, params), api.get(SEARCH, params | {name: ""})

    assert parameter["allowEmptyValue"] is True
    assert (empty.status_code, empty.json()) == (200, left_out.json())


def test_the_schema_says_what_a_port_code_and_a_vehicle_size_can_be(openapi):
    parameters = {p["name"]: p["schema"] for p in openapi["paths"][SEARCH]["get"]["parameters"]}

    assert parameters["from"]["pattern"] == parameters["to"]["pattern"] == "^[A-Za-z]{2}[A-Za-z2-9]{3}$"
    assert (parameters["vehicle_length_cm"]["minimum"], parameters["vehicle_length_cm"]["maximum"]) == (100, 1800)
    assert (parameters["vehicle_height_cm"]["minimum"], parameters["vehicle_height_cm"]["maximum"]) == (50, 400)


@pytest.mark.parametrize("code", ["TN-TN", "TNTU", "TNTUN1", "TN1UN"])
def test_a_port_code_the_schema_refuses_is_refused(api, tunis_marseille, code):
    response = api.get(SEARCH, {"from": code, "to": "FRMRS", "date": days_from_today(3)})

    assert response.status_code == 400
    assert list(response.json()) == ["from"]


def test_schema_documents_why_a_leg_has_nothing_to_book(api):
    schemas = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]

    reason = as_json_schema(schemas["LegExplanation"]["properties"]["reason"], schemas)
    assert reason["allOf"][0]["enum"] == [
        "no_route",
        "no_such_accommodation",
        "operator_unavailable",
        "sold_out",
        "unavailable",
        "no_sailing_this_day",
    ]
    assert set(schemas["LegExplanation"]["properties"]) == {
        "reason",
        "destinations_from_origin",
        "origins_to_destination",
        "accommodation_offered",
        "nearby_dates",
    }


def test_api_docs_page_renders(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def as_json_schema(node, components: dict):
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, `nullable` spelled out, and no
    undocumented property allowed, so an answer must match its documentation both ways."""
    if isinstance(node, list):
        return [as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
    schema = {key: as_json_schema(value, components) for key, value in node.items() if key != "nullable"}
    if isinstance(schema.get("properties"), dict) and schema.get("type") == "object":
        schema.setdefault("additionalProperties", False)
    return {"anyOf": [schema, {"type": "null"}]} if node.get("nullable") else schema


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def response_schema(openapi: dict, path: str, status: int) -> dict:
    media = openapi["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]
    return as_json_schema(media["schema"], openapi["components"]["schemas"])


def day_before(sailing: Sailing) -> str:
    return (dt.date.fromisoformat(local_day(sailing)) - dt.timedelta(days=1)).isoformat()


def return_journey(outbound: Sailing, back: Sailing) -> dict:
    return {"from": "TNTUN", "to": "FRMRS", "date": local_day(outbound), "return_date": local_day(back)}


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        pytest.param("/api/v1/ports", lambda outbound, back: {}, 200, id="ports"),
        pytest.param("/api/v1/routes", lambda outbound, back: {}, 200, id="routes"),
        pytest.param(SEARCH, return_journey, 200, id="search"),
        pytest.param(
            SEARCH,
            lambda outbound, back: {**return_journey(outbound, back), "to": "ITGOA"},
            200,
            id="search between ports with no route",
        ),
        pytest.param(
            SEARCH,
            lambda outbound, back: {**return_journey(outbound, back), "date": day_before(outbound)},
            200,
            id="search on a day without sailings",
        ),
        pytest.param(SEARCH, lambda outbound, back: {"from": "TNTUN", "to": "TNTUN"}, 400, id="bad search"),
    ],
)
def test_answers_match_their_openapi_schema(api, openapi, outbound_sailing, return_sailing, path, query, status):
    PortFactory(code="ITGOA")
    response = api.get(path, query(outbound_sailing, return_sailing))

    assert response.status_code == status
    body = response.json()
    assert body, "an empty answer would match any schema"
    validator = Draft7Validator(response_schema(openapi, path, status))
    assert [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)] == []


def test_each_sailing_answers_its_price_in_every_fare_family_with_the_rules_in_the_request_language(
    api, tunis_marseille
):
    sailing = sailing_factory(route=tunis_marseille)

    body = api.get(
        SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(sailing), "adults": 2}, HTTP_ACCEPT_LANGUAGE="fr"
    ).json()

    [row] = body["outbound"]
    assert [fare["fare_family"]["code"] for fare in row["fares"]] == ["basic", "standard", "flex"]
    assert row["price"] == row["fares"][1]["price"] == {"amount_minor": 20000, "currency": "EUR"}, "Standard"
    basic = row["fares"][0]
    assert basic["price"] == {"amount_minor": 17000, "currency": "EUR"}
    assert basic["price_lines"][0]["label"] == "Adulte (12–64 ans)"
    english = api.get(SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": local_day(sailing), "adults": 2}).json()
    assert english["outbound"][0]["fares"][0]["price_lines"][0]["label"] == "Adult (12–64)"  # labels kept per language
    assert basic["cancellation_policy"] == {"refund_full_days": None, "refund_partial_hours": 0,
                                            "refund_partial_percent": 0}  # fmt: skip
    assert basic["change_policy"]["allowed"] is False
