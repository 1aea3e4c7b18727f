"""The traveller's search pages, through Django's test client: what they show, and how they refuse bad input."""

import datetime as dt
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from ferries.choices import PassengerType
from ferries.models import Operator, PassengerFare, Route, SailingInventory
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
DAY = TODAY + dt.timedelta(days=10)


def sailing_at(route: Route, *, day: dt.date, time: str, hours: float = 21, **options):
    """A sailing leaving at `time` on `day`, in the time of its port of departure."""
    departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=route.origin.tz)
    return sailing_factory(route=route, departs_in=departs - timezone.now(), hours=hours, **options)


def search(client, **params):
    query = {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), **params}
    return client.get(f"{reverse('sailing_results')}?{urlencode(query)}")


def field_error(response, field: str) -> str:
    """The error shown next to a field (the list Django ties to the input with aria-describedby)."""
    html = response.content.decode()
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert found, f"no error shown next to {field}"
    assert re.search(rf'<[^>]+id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', html)
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip()


def text_of(page) -> str:
    """What a reader sees of a response (or a piece of HTML): the words, tags and extra spaces left out."""
    html = page if isinstance(page, str) else page.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- The home page ---------------------------------------------------------------------------------


def test_home_page_offers_the_ports_of_active_routes_grouped_by_country(client, tunis_marseille):
    RouteFactory(
        operator=tunis_marseille.operator, origin=PortFactory(code="ITGOA"), destination=tunis_marseille.origin
    )
    PortFactory(code="GRPAS", name="Patras", time_zone="Europe/Athens")  # no route: nothing to search

    response = client.get("/")

    assert response.status_code == 200
    select = re.search(r'<select name="from".*?</select>', response.content.decode(), re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    assert [(country, re.findall(r'value="(\w+)"', options)) for country, options in groups] == [
        ("France", ["FRMRS"]),
        ("Italy", ["ITGOA"]),
        ("Tunisia", ["TNTUN"]),
    ]


def test_home_page_form_asks_for_one_adult_by_default_and_submits_to_the_results_page(client, tunis_marseille):
    response = client.get("/")

    html = response.content.decode()
    assert f'action="{reverse("sailing_results")}" method="get"' in html
    assert re.search(r'<input type="number" name="adults" value="1"[^>]*min="0"[^>]*max="9"', html)
    assert re.search(rf'<input type="date" name="date"[^>]*min="{TODAY.isoformat()}"', html)


def test_results_page_without_a_query_sends_the_traveller_to_the_home_page(client):
    response = client.get(reverse("sailing_results"))

    assert response.status_code == 302
    assert response.url == reverse("home")


# --- Results -----------------------------------------------------------------------------------------


def test_a_search_shows_each_sailing_in_port_time_with_its_duration_operator_vessel_and_price(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="19:00", hours=21, vessel=VesselFactory(name="Tanit"))

    response = search(client, adults="2")

    assert response.status_code == 200
    [card] = response.context["legs"][0]["sailings"]
    arrival = dt.datetime.fromisoformat(card["arrives_local"])
    text = text_of(response)
    assert "19:00" in text, "Tunis time, not UTC (18:00)"
    assert f"{arrival:%H:%M}" in text
    assert "21 h 00" in text
    assert "Local Lines" in text
    assert "Tanit" in text
    assert "€200.00 total for your party" in text
    assert "Available" in text


def test_an_arrival_on_another_day_shows_its_date(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="19:00", hours=21)

    response = search(client)

    next_day = DAY + dt.timedelta(days=1)
    assert f'<span class="stop-day">{next_day:%a} {next_day.day} {next_day:%b}</span>' in response.content.decode()


def test_an_arrival_on_the_same_day_shows_no_date(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="08:00", hours=10)

    response = search(client)

    assert 'class="stop-day"' not in response.content.decode()


def test_sailings_are_listed_by_departure(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="20:30")
    sailing_at(tunis_marseille, day=DAY, time="09:15")

    response = search(client)

    html = response.content.decode()
    assert html.index(">09:15</time>") < html.index(">20:30</time>")


def test_a_return_search_shows_the_outbound_and_the_return_side_by_side(client, tunis_marseille, marseille_tunis):
    back = DAY + dt.timedelta(days=7)
    sailing_at(tunis_marseille, day=DAY, time="19:00")
    sailing_at(marseille_tunis, day=back, time="11:45")

    response = search(client, return_date=back.isoformat())

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="legs legs--return"' in html
    outbound, inbound = html.split('id="leg-return"')
    assert "Tunis → Marseille" in text_of(outbound)
    assert ">19:00</time>" in outbound
    assert "Marseille → Tunis" in text_of(inbound)
    assert ">11:45</time>" in inbound


def test_a_one_way_trip_ignores_a_return_date_left_in_the_form(client, tunis_marseille, marseille_tunis):
    sailing_at(tunis_marseille, day=DAY, time="19:00")

    response = search(client, trip="one_way", return_date=(DAY - dt.timedelta(days=3)).isoformat())

    assert response.status_code == 200
    assert [leg["slug"] for leg in response.context["legs"]] == ["outbound"]


def test_few_places_left_are_counted_for_the_traveller(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="19:00", vessel=VesselFactory(passenger_capacity=3))

    response = search(client)

    assert "Only 3 places left" in text_of(response)


def test_a_full_sailing_is_shown_sold_out(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille, day=DAY, time="19:00")
    SailingInventory.objects.filter(sailing=sailing).update(taken=F("capacity"))

    response = search(client)

    assert "Sold out" in text_of(response)


def test_a_vessel_too_low_for_the_vehicle_is_shown_not_available_for_it(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="19:00", vessel=VesselFactory(max_vehicle_height_cm=200))

    response = search(client, vehicle="car", vehicle_height_cm="240")

    assert response.status_code == 200
    assert "Not available for your vehicle or cabin" in text_of(response)


# --- Why a day has nothing to book ----------------------------------------------------------------------


def chips(page) -> list[tuple[str, str]]:
    """The links offered as chips (nearby dates, other ports, other accommodation): (what they say, where to)."""
    found = re.findall(r'<a class="chip" href="([^"]*)">(.*?)</a>', page.content.decode(), re.S)
    return [(text_of(label).strip(), unescape(href)) for href, label in found]


def day_chip(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def test_ports_without_a_route_between_them_say_so_and_offer_the_ports_each_one_is_linked_to(
    client, tunis_marseille, local_operator
):
    genoa, palermo = PortFactory(code="ITGOA"), PortFactory(code="ITPMO", name="Palermo")
    RouteFactory(operator=local_operator, origin=tunis_marseille.destination, destination=genoa)
    RouteFactory(operator=local_operator, origin=palermo, destination=genoa)

    response = search(client, to="ITGOA", adults="2")

    assert response.status_code == 200
    text = text_of(response)
    assert "There is no ferry from Tunis to Genoa." in text
    assert "do not sail every day" not in text
    assert "From Tunis you can sail to:" in text
    assert "Ferries to Genoa leave from:" in text
    offered = chips(response)
    assert [label for label, _url in offered] == ["Marseille", "Marseille", "Palermo"]
    assert "from=TNTUN&to=FRMRS" in offered[0][1], "the same search to a port Tunis serves"
    assert "from=FRMRS&to=ITGOA" in offered[1][1], "the same search from a port that serves Genoa"
    assert "adults=2" in offered[2][1]


def test_a_cabin_no_ferry_of_the_route_has_is_named_with_what_its_ferries_offer(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="19:00", vessel=VesselFactory(accommodations={"seat": 20}))

    response = search(client, accommodation="inside_2")

    text = text_of(response)
    assert "No ferry from Tunis to Marseille has this accommodation: Inside cabin, 2 berths." in text
    assert "do not sail every day" not in text
    offered = chips(response)
    assert [label for label, _url in offered] == ["Deck passage", "Reserved seat"]
    assert "accommodation=seat" in offered[1][1]


def test_a_day_whose_sailings_are_full_for_the_party_says_so_and_offers_a_nearby_date_with_room(
    client, tunis_marseille
):
    full = sailing_at(tunis_marseille, day=DAY, time="19:00")
    SailingInventory.objects.filter(sailing=full).update(taken=F("capacity"))
    sailing_at(tunis_marseille, day=DAY + dt.timedelta(days=2), time="19:00")

    response = search(client, adults="2")

    text = text_of(response)
    assert "Sold out" in text, "the full sailing is still shown"
    assert "Every sailing on this day is full for your party." in text
    assert "do not sail every day" not in text
    [(label, url)] = chips(response)
    assert label == f"{day_chip(DAY + dt.timedelta(days=2))} from €170.00", "two adults in the Basic fare (85 %)"
    assert f"date={(DAY + dt.timedelta(days=2)).isoformat()}" in url


def test_nearby_dates_are_offered_only_when_the_party_can_book_them_with_their_lowest_price(client, tunis_marseille):
    full = sailing_at(tunis_marseille, day=DAY - dt.timedelta(days=1), time="09:00")
    SailingInventory.objects.filter(sailing=full).update(taken=F("capacity"))
    sailing_at(tunis_marseille, day=DAY + dt.timedelta(days=1), time="09:00")
    cheap = RouteFactory(
        operator=OperatorFactory(code="CHP", name="Cheap Lines"),
        origin=tunis_marseille.origin,
        destination=tunis_marseille.destination,
    )
    sailing_at(cheap, day=DAY + dt.timedelta(days=1), time="20:00")
    PassengerFare.objects.filter(fare__route=cheap, passenger_type=PassengerType.ADULT).update(amount_minor=7000)

    response = search(client)

    assert response.status_code == 200
    text = text_of(response)
    assert "No sailings from Tunis to Marseille on this day." in text
    assert "Ferries on this route do not sail every day." in text
    [(label, url)] = chips(response)
    assert label == f"{day_chip(DAY + dt.timedelta(days=1))} from €59.50", "the Basic fare: 85 % of €70.00"
    assert f"date={(DAY + dt.timedelta(days=1)).isoformat()}" in url


def test_no_nearby_date_is_offered_when_none_has_a_sailing_to_book(client, tunis_marseille):
    response = search(client)

    text = text_of(response)
    assert "No sailings from Tunis to Marseille on this day." in text
    assert "No sailings on the days around it either. Try other dates." in text
    assert chips(response) == []


def test_nearby_dates_never_offer_a_day_in_the_past(client, tunis_marseille):
    for n in (1, 2):
        sailing_at(tunis_marseille, day=TODAY + dt.timedelta(days=n), time="19:00")

    response = search(client, date=TODAY.isoformat())

    assert [other["day"] for other in response.context["legs"][0]["explanation"]["nearby"]] == [
        TODAY + dt.timedelta(days=1),
        TODAY + dt.timedelta(days=2),
    ]


def test_nearby_dates_of_the_outbound_never_come_after_the_return(client, tunis_marseille, marseille_tunis):
    for n in (-1, 1):
        sailing_at(tunis_marseille, day=DAY + dt.timedelta(days=n), time="19:00")
    sailing_at(marseille_tunis, day=DAY + dt.timedelta(days=1), time="22:00")

    response = search(client, return_date=(DAY + dt.timedelta(days=1)).isoformat())

    outbound, inbound = response.context["legs"]
    assert [other["day"] for other in outbound["explanation"]["nearby"]] == [
        DAY - dt.timedelta(days=1),
        DAY + dt.timedelta(days=1),
    ]
    assert inbound["explanation"] is None


def test_a_day_left_empty_by_an_operator_that_did_not_answer_does_not_claim_there_is_no_sailing(
    client, tunis_marseille
):
    silent = Operator.objects.create(
        code="GONE", name="Gone Ferries", integration="http", api_url="http://127.0.0.1:9/"
    )
    RouteFactory(operator=silent, origin=tunis_marseille.origin, destination=tunis_marseille.destination)

    response = search(client)

    text = text_of(response)
    assert "We could not hear from every ferry company, so sailings on this day may be missing." in text
    assert "do not sail every day" not in text


# --- Choosing a return that can follow the outbound -----------------------------------------------------


def test_each_outbound_names_the_returns_that_can_follow_it(client, tunis_marseille, marseille_tunis):
    out = sailing_at(tunis_marseille, day=DAY, time="19:00", hours=21)
    next_day = DAY + dt.timedelta(days=1)
    too_early = sailing_at(marseille_tunis, day=next_day, time="08:00")
    after = sailing_at(marseille_tunis, day=next_day, time="22:00")

    html = search(client, return_date=next_day.isoformat()).content.decode()

    radios = re.findall(rf'<input type="radio" name="outbound" value="{out.pk}:[a-z]+"[^>]*>', html)
    assert len(radios) == 3, "one per fare family"
    assert all(f'data-followed-by="{after.pk}"' in radio for radio in radios)
    assert re.search(rf'<input type="radio" name="return" value="{too_early.pk}:basic"', html), "shown, greyed"


def test_an_operator_that_does_not_answer_is_named_above_the_partial_results(client, tunis_marseille):
    silent = Operator.objects.create(
        code="GONE", name="Gone Ferries", integration="http", api_url="http://127.0.0.1:9/"
    )
    RouteFactory(operator=silent, origin=tunis_marseille.origin, destination=tunis_marseille.destination)
    sailing_at(tunis_marseille, day=DAY, time="19:00")

    response = search(client)

    assert response.status_code == 200
    text = text_of(response)
    assert "Some sailings may be missing. Gone Ferries did not answer in time" in text
    assert "Local Lines" in text, "the operators that answered are still shown"


def test_complete_results_show_no_missing_operator_notice(client, tunis_marseille):
    sailing_at(tunis_marseille, day=DAY, time="19:00")

    response = search(client)

    assert "may be missing" not in text_of(response)


# --- Bad input -----------------------------------------------------------------------------------------

HORIZON = TODAY + dt.timedelta(days=settings.SEARCH_HORIZON_DAYS)

BAD_QUERIES = {
    "unknown port code": ({"from": "ZZZZZ"}, "from", "Unknown port ZZZZZ."),
    "malformed port": ({"to": "Marseille!"}, "to", "Unknown port MARSEILLE!."),
    "same origin and destination": ({"to": "TNTUN"}, "to", "Choose a destination different"),
    "no departure date": ({"date": ""}, "date", "Choose a date."),
    "garbage date": ({"date": "31/12/2026"}, "date", "Enter a date as YYYY-MM-DD."),
    "date in the past": ({"date": (TODAY - dt.timedelta(days=1)).isoformat()}, "date", "This date is in the past."),
    "date beyond the horizon": (
        {"date": (HORIZON + dt.timedelta(days=1)).isoformat()},
        "date",
        "Sailings are published up to",
    ),
    "return before outbound": (
        {"return_date": (DAY - dt.timedelta(days=1)).isoformat()},
        "return_date",
        "The return must not be before the outbound date.",
    ),
    "child without an adult": ({"adults": "0", "children": "1"}, "adults", "Children and infants must travel with"),
    "negative count": ({"children": "-1"}, "children", "Must be 0 or more."),
    "letters in a count": ({"adults": "two"}, "adults", "Enter a whole number."),
    "unknown vehicle": ({"vehicle": "tank"}, "vehicle", "Choose one of:"),
    "vehicle too long": ({"vehicle": "car", "vehicle_length_cm": "2000"}, "vehicle_length_cm", "Must be between"),
    "vehicle too high": ({"vehicle": "car", "vehicle_height_cm": "900"}, "vehicle_height_cm", "Must be between"),
    "vehicle size in words": ({"vehicle": "car", "vehicle_length_cm": "long"}, "vehicle_length_cm", "Enter a whole"),
    "size without a vehicle": ({"vehicle_height_cm": "150"}, "vehicle_height_cm", "Choose a vehicle type first."),
    "unknown accommodation": ({"accommodation": "suite"}, "accommodation", "Choose one of:"),
}


@pytest.mark.parametrize(("params", "field", "message"), BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_bad_input_is_refused_with_an_error_next_to_its_field(client, tunis_marseille, params, field, message):
    response = search(client, **params)

    assert response.status_code == 400
    assert message in field_error(response, field)


def test_more_than_nine_passengers_is_refused_above_the_form(client, tunis_marseille):
    response = search(client, adults="6", children="4")

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'<ul class="errorlist nonfield"><li>At most 9 passengers per booking.</li></ul>', html)


def test_bad_input_keeps_what_the_traveller_entered(client, tunis_marseille):
    response = search(client, adults="0", children="2", vehicle="car")

    html = response.content.decode()
    assert re.search(r'name="children" value="2"', html)
    assert '<option value="car" selected>' in html
    assert '<option value="TNTUN" selected>' in html


def test_several_mistakes_are_all_shown_at_once(client, tunis_marseille):
    response = search(client, date="tomorrow", adults="x", accommodation="hammock")

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"date", "adults", "accommodation"}


NASTY_VALUES = ["", " ", "\x00", "ÄÖÜÉÈ", "-0", "1e9", "9" * 30, "2026-02-30", "../../etc", "<script>", "none"]
FIELDS = ["from", "to", "date", "return_date", "adults", "children", "infants", "seniors", "trip"]
FIELDS += ["vehicle", "vehicle_length_cm", "vehicle_height_cm", "accommodation"]


@pytest.mark.parametrize("field", FIELDS)
def test_no_value_of_any_field_makes_the_results_page_fail(client, tunis_marseille, field):
    for value in NASTY_VALUES:
        response = search(client, **{"vehicle": "car", field: value})

        assert response.status_code in (200, 400), f"{field}={value!r}"
        assert b"<script>" not in response.content


def test_the_home_page_answers_a_head_request_for_monitors_and_link_checkers(client, tunis_marseille):
    assert client.head("/").status_code == 200
