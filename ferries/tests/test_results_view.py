"""Sorting and filtering a leg's sailings, the "cheapest" and "fastest" labels, and what is on board, on the website and
in the API."""

import datetime as dt
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ferries.choices import PassengerType
from ferries.models import PassengerFare, Route, Sailing, SailingInventory, Vessel
from ferries.tests.factories import FareFactory, OperatorFactory, RouteFactory, VesselFactory, sailing_factory
from maritime.tests.pages import admin_form_data

pytestmark = pytest.mark.django_db

DAY = timezone.now().date() + dt.timedelta(days=10)
SEARCH = "/api/v1/sailings/search"


def sailing_at(route: Route, time: str, *, hours: float = 21, day: dt.date = DAY) -> Sailing:
    departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=route.origin.tz)
    return sailing_factory(route=route, departs_in=departs - timezone.now(), hours=hours)


@pytest.fixture
def day_of_sailings(tunis_marseille):
    """Four sailings Tunis → Marseille on DAY, port time: LOC's at 07:30 (21 h; 170.00 in Basic for two adults) and
    at 19:00 (full); CLN's, cheaper (60.00 a head: 102.00) and shorter (18 h), at 13:15 and at 23:00."""
    early = sailing_at(tunis_marseille, "07:30")
    full = sailing_at(tunis_marseille, "19:00")
    SailingInventory.objects.filter(sailing=full).update(taken=F("capacity"))
    other = RouteFactory(operator=OperatorFactory(code="CLN", name="Corsica Linea"),
                         origin=tunis_marseille.origin, destination=tunis_marseille.destination)  # fmt: skip
    fare = FareFactory(route=other)
    PassengerFare.objects.filter(fare=fare, passenger_type=PassengerType.ADULT).update(amount_minor=6000)
    midday = sailing_at(other, "13:15", hours=18)
    late = sailing_at(other, "23:00", hours=18)
    return {"early": early, "full": full, "midday": midday, "late": late}


def api_search(**params) -> dict:
    answer = APIClient().get(SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), "adults": 2, **params})
    assert answer.status_code == 200, answer.content
    return answer.json()


def order(found: dict, sailings: dict) -> list[str]:
    names = {sailing.pk: name for name, sailing in sailings.items()}
    return [names[row["sailing_id"]] for row in found["outbound"]]


def test_sailings_come_by_departure_unless_asked_by_price_or_crossing_time(day_of_sailings):
    assert order(api_search(), day_of_sailings) == ["early", "midday", "full", "late"]
    assert order(api_search(sort="departure"), day_of_sailings) == ["early", "midday", "full", "late"]
    # By price: the cheaper company's two (by departure), then LOC's; the full sailing last whatever its price.
    assert order(api_search(sort="price"), day_of_sailings) == ["midday", "late", "early", "full"]
    assert order(api_search(sort="duration"), day_of_sailings) == ["midday", "late", "early", "full"]


def test_the_cheapest_and_the_fastest_are_labelled_ties_alike_and_whatever_the_filters(day_of_sailings):
    found = api_search()
    labels = {name: row["labels"] for name, row in zip(order(found, day_of_sailings), found["outbound"], strict=True)}

    assert labels == {"early": [], "midday": ["cheapest", "fastest"], "full": [], "late": ["cheapest", "fastest"]}
    only_loc = api_search(operator="LOC")
    assert [row["labels"] for row in only_loc["outbound"]] == [[], []]  # LOC's are neither, among all four


def test_a_sailing_alone_on_its_day_is_given_no_label(tunis_marseille):
    sailing_at(tunis_marseille, "10:00")

    assert [row["labels"] for row in api_search()["outbound"]] == [[]]


def test_filters_keep_operators_parts_of_the_day_and_sailings_with_room_and_count_what_they_leave_out(
    day_of_sailings,
):
    by_operator = api_search(operator="cln")
    assert order(by_operator, day_of_sailings) == ["midday", "late"]
    assert by_operator["filtered_out"] == {"outbound": 2, "return": 0}
    assert order(api_search(operator="CLN,LOC"), day_of_sailings) == ["early", "midday", "full", "late"]
    assert order(api_search(departs="morning"), day_of_sailings) == ["early"]
    assert order(api_search(departs="afternoon,evening"), day_of_sailings) == ["midday", "full", "late"]
    assert order(api_search(departs="night"), day_of_sailings) == []
    assert order(api_search(available_only="true"), day_of_sailings) == ["early", "midday", "late"]
    both = api_search(operator="LOC", available_only="1")
    assert (order(both, day_of_sailings), both["filtered_out"]["outbound"]) == (["early"], 3)
    # The explanation of an empty day is about the day, not the filters.
    assert api_search(departs="night")["explanations"]["outbound"] is None


def test_each_way_of_arranging_is_kept_as_an_answer_of_its_own(day_of_sailings, django_assert_num_queries):
    by_price = api_search(sort="price")
    by_departure = api_search()

    with django_assert_num_queries(0):
        assert api_search(sort="price") == by_price
        assert api_search() == by_departure
    assert by_price != by_departure


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"sort": "cheap"}, "sort", "Choose one of: departure, price, duration."),
        ({"operator": "C!N"}, "operator", "Not an operator code: C!N."),
        ({"operator": "CTN,x"}, "operator", "Not an operator code: x."),
        ({"departs": "noon"}, "departs", "Choose among night, morning, afternoon and evening, not: noon."),
        ({"available_only": "maybe"}, "available_only", "Enter true or false."),
    ],
)
def test_a_bad_way_of_arranging_is_refused_naming_the_field(tunis_marseille, params, field, message):
    answer = APIClient().get(SEARCH, {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), **params})

    assert answer.status_code == 400
    assert answer.json()[field] == [message]


# --- the website -----------------------------------------------------------------------------------------------


def results_page(client, *pairs: tuple[str, str]):
    query = [("from", "TNTUN"), ("to", "FRMRS"), ("date", DAY.isoformat()), ("adults", "2"), ("trip", "one_way")]
    return client.get(f"{reverse('sailing_results')}?{urlencode(query + list(pairs))}")


def cards(page) -> list[tuple[str, str]]:
    """Each sailing card's (operator and time, labels)."""
    html = page.content.decode()
    found = re.findall(r'<article class="sailing-card[^"]*" aria-label="([^"]+)">(.*?)</article>', html, re.S)
    return [(unescape(name), " ".join(re.findall(r'<span class="label label--\w+">([^<]+)</span>', body)))
            for name, body in found]  # fmt: skip


def test_the_results_page_sorts_filters_and_labels_as_the_traveller_chooses(client, day_of_sailings):
    page = results_page(client)
    assert cards(page) == [("Local Lines 07:30", ""), ("Corsica Linea 13:15", "Cheapest Fastest"),
                           ("Local Lines 19:00", ""), ("Corsica Linea 23:00", "Cheapest Fastest")]  # fmt: skip
    html = page.content.decode()
    assert '<input type="checkbox" name="operator" value="CLN">' in html
    assert '<input type="hidden" name="trip" value="one_way">' in html

    by_price = results_page(client, ("sort", "price"), ("operator", "LOC"), ("operator", "CLN"))
    assert [name for name, _labels in cards(by_price)][-1] == "Local Lines 19:00"
    assert '<option value="price" selected>' in by_price.content.decode()

    mornings = results_page(client, ("departs", "morning"), ("available_only", "true"))
    assert [name for name, _labels in cards(mornings)] == ["Local Lines 07:30"]
    assert "3 more sailings hidden by the filters." in " ".join(mornings.content.decode().split())


def test_filters_that_hide_every_sailing_say_so_and_lead_back_to_all(client, day_of_sailings):
    page = results_page(client, ("departs", "night"))

    html = " ".join(page.content.decode().split())
    assert cards(page) == []
    assert "The filters hide the 4 sailings of this day." in html
    reset = unescape(re.search(r'<a href="([^"]+)">Show all sailings</a>', html).group(1))
    assert "departs" not in reset
    assert len(cards(client.get(reset))) == 4


# --- what is on board ---------------------------------------------------------------------------------------------


def test_staff_tick_a_vessel_s_amenities_and_each_sailing_of_it_shows_them(admin_client, tunis_marseille):
    sailing = sailing_at(tunis_marseille, "10:00")
    vessel = sailing.vessel
    url = reverse("admin:ferries_vessel_change", args=[vessel.pk])
    form = admin_form_data(admin_client.get(url))
    form["amenities"] = ["wifi", "restaurant", "pet_kennels"]

    assert admin_client.post(url, form).status_code == 302

    vessel.refresh_from_db()
    assert vessel.amenities == ["restaurant", "wifi", "pet_kennels"]  # in the list's order
    assert api_search()["outbound"][0]["amenities"] == ["restaurant", "wifi", "pet_kennels"]
    page = " ".join(results_page(Client()).content.decode().split())
    assert '<ul class="amenities" aria-label="On board"><li>Restaurant</li><li>Wi-Fi</li><li>Kennels</li></ul>' in page


def test_an_unknown_amenity_is_refused_in_the_admin_and_by_the_model(admin_client, tunis_marseille):
    vessel = sailing_at(tunis_marseille, "10:00").vessel
    url = reverse("admin:ferries_vessel_change", args=[vessel.pk])
    form = admin_form_data(admin_client.get(url)) | {"amenities": ["wifi", "jacuzzi"]}

    answer = admin_client.post(url, form)

    assert answer.status_code == 200
    assert "Select a valid choice. jacuzzi is not one of the available choices." in answer.content.decode()
    vessel.refresh_from_db()
    assert vessel.amenities == []
    vessel.amenities = ["wifi", "wifi"]
    with pytest.raises(ValidationError, match="Each amenity once"):
        vessel.full_clean()


@pytest.mark.django_db(transaction=True)
def test_a_remote_operator_s_sailing_shows_what_our_record_of_its_vessel_says(operator_simulator, settings):
    remote = RouteFactory(operator=OperatorFactory(code="REM", name="Remote Lines"))
    sailing = sailing_at(remote, "13:00")
    Vessel.objects.filter(pk=sailing.vessel_id).update(amenities=["cafe", "pool"])
    settings.OPERATOR_API_URLS = {"REM": operator_simulator().url_for("REM")}

    [row] = api_search()["outbound"]

    assert (row["operator"]["code"], row["amenities"]) == ("REM", ["cafe", "pool"])


# --- deck, seats and cabins side by side --------------------------------------------------------------------------


def test_each_sailing_prices_deck_seats_and_cabins_for_the_party_with_the_cabins_it_needs(client, tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(accommodations={"seat": 20, "inside_2": 2}))
    params = {"from": "TNTUN", "to": "FRMRS", "date": sailing.local_day.isoformat(), "adults": 5}

    found = APIClient().get("/api/v1/sailings/search", params).json()["outbound"][0]["accommodations"]
    page = client.get(reverse("sailing_results"), params | {"trip": "one_way"})

    # Five adults: deck 5 × 100.00; seats 5 × (100.00 + 15.00); inside 2-berth cabins: 3 needed, 2 on board.
    assert found == [
        {"kind": "deck", "price": {"amount_minor": 50000, "currency": "EUR"}, "status": "available", "cabins": None,
         "berths": None},
        {"kind": "seat", "price": {"amount_minor": 57500, "currency": "EUR"}, "status": "available", "cabins": None,
         "berths": None},
        {"kind": "inside_2", "price": {"amount_minor": 74000, "currency": "EUR"}, "status": "sold_out", "cabins": 3,
         "berths": 2},
    ]  # fmt: skip
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.content.decode())))
    assert "Reserved seat €575.00" in text
    assert "Inside cabin, 2 berths 3 cabins for your party Sold out" in text
    assert "accommodation=seat" in page.content.decode()
