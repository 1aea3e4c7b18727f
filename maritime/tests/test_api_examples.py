"""The OpenAPI schema's examples are the demo data's (`manage.py demo_setup`, built by `ferries.demo`), so that what
Swagger shows can be tried on a demo site: the ids of its sailings, its ports, operators and vessels, the sailings its
timetable runs on the example's days, at the prices its fares give then, and answers the demo would give.

A search example says what was asked in its description (`?from=…&to=…&date=…`); its answer is checked against the
demo network for that query. Sailing ids are numbered by the database: a demo database has the example's ids (its
sailings are numbered from 1), though which sailing carries one depends on the day the demo was made.
"""

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from bookings.requests import AGES
from ferries.choices import VEHICLE_LIMITS, Accommodation, PassengerType, VehicleCategory
from ferries.demo import seed_network
from ferries.models import Operator, Port, Route, Sailing, Vessel
from ferries.party import Party, Vehicle
from ferries.pricing import fare_on, fares_for_routes, quotes, route_quote
from ferries.queries import NEARBY_DAYS
from ferries.services import REF_ALPHABET
from ferries.templatetags.ferries_format import price_line_label

# Sequences reset: sailings are numbered as in a new demo database.
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

SEED = 2026  # seed_demo_data's default


@dataclass(frozen=True)
class Example:
    where: str
    parameter: str  # the parameter it is an example of; "" for a body
    description: str
    value: object

    def query(self) -> dict[str, str]:
        """The search the description says was made, as `?from=…&to=…&date=…`; {} when it says none."""
        found = re.search(r"`\?([^`]+)`", self.description)
        return dict(parse_qsl(found.group(1))) if found else {}


def served_examples() -> list[Example]:
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    found = []

    def walk(node, where: str, parameter: str = "") -> None:
        if isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{where}/{i}", parameter)
        elif isinstance(node, dict):
            parameter = node["name"] if {"in", "name"} <= node.keys() else parameter
            for name, example in (node.get("examples") or {}).items():
                found.append(Example(f"{where} {name}", parameter, example.get("description", ""), example["value"]))
            for key, child in node.items():
                if key != "examples":
                    walk(child, f"{where}/{key}", parameter)

    walk(schema, "")
    return found


EXAMPLES = served_examples()


def nodes(value, key: str = "") -> Iterator[tuple[str, object]]:
    """(key, value) of the value and of everything nested in it."""
    yield key, value
    if isinstance(value, dict):
        for name, child in value.items():
            yield from nodes(child, name)
    elif isinstance(value, list):
        for child in value:
            yield from nodes(child)


def found(key: str) -> list[tuple[Example, object]]:
    return [(example, value) for example in EXAMPLES for name, value in nodes(example.value) if name == key]


def sailing_rows(example: Example) -> list[dict]:
    """The sailings an example answers: search rows and booking legs."""
    return [value for _key, value in nodes(example.value) if isinstance(value, dict) and "sailing_ref" in value]


def day_of(moment: str) -> dt.date:
    return dt.datetime.fromisoformat(moment).date()


def demo_days(first: dt.date, days: int = 1) -> None:
    """The demo network, with the sailings its timetable runs on these days (as `demo_setup` made on `first`)."""
    seed_network(seed=SEED, days=days, today=first)


# --- ids ----------------------------------------------------------------------------------------------------------


def test_every_sailing_id_of_the_examples_is_one_of_a_demo_database():
    call_command("seed_demo_data", verbosity=0)  # the data demo_setup loads

    keys = ("sailing_id", "outbound_sailing_id", "return_sailing_id")
    ids = {value for key in keys for _ex, value in found(key) if isinstance(value, int)}  # not an error's messages

    assert ids, "the examples name sailings"
    assert ids <= set(Sailing.objects.values_list("pk", flat=True))


def test_every_port_operator_and_vessel_of_the_examples_is_the_demo_datas():
    demo_days(timezone.now().date())
    ports = {port.code: port for port in Port.objects.all()}
    operators = dict(Operator.objects.values_list("code", "name"))
    vessels = set(Vessel.objects.values_list("operator__code", "name"))

    port_refs = [ref for key in ("from", "to") for _ex, ref in found(key) if isinstance(ref, dict)]
    port_refs += [ref for key in ("destinations_from_origin", "origins_to_destination") for _ex, refs in found(key)
                  for ref in refs]  # fmt: skip
    assert port_refs
    for ref in port_refs:
        port = ports[ref["code"]]
        assert (ref["name"], ref.get("time_zone", port.time_zone)) == (port.name, port.time_zone), ref
    codes = [example.value for example in EXAMPLES if example.parameter in ("from", "to")]
    assert codes
    assert set(codes) <= set(ports)

    operator_refs = [ref for _ex, ref in found("operator")] + [ref for _ex, refs in found("operators") for ref in refs]
    assert operator_refs
    for ref in operator_refs:
        assert operators[ref["code"]] == ref["name"], ref
    for example in EXAMPLES:
        for row in sailing_rows(example):
            if "vessel" in row:
                assert (row["operator"]["code"], row["vessel"]) in vessels, row


def test_every_choice_and_reference_of_the_examples_is_one_the_api_takes():
    assert {value for _ex, value in found("category")} <= set(VehicleCategory.values)
    assert {value for _ex, value in found("accommodation")} <= set(Accommodation.values)
    assert {value for _ex, value in found("type")} <= set(PassengerType.values)
    assert {kind for _ex, kinds in found("accommodation_offered") for kind in kinds} <= set(Accommodation.values)
    references = [value for _ex, value in found("reference")]
    assert references
    assert all(re.fullmatch(f"[{REF_ALPHABET}]{{6}}", reference) for reference in references)
    with translation.override("en"):
        lines = [line for _ex, lines in found("price_lines") for line in lines]
        assert lines
        assert all(line["label"] == price_line_label(line["code"]) != line["code"] for line in lines)


def test_the_vessels_and_operators_named_in_the_examples_messages_are_the_demo_datas():
    demo_days(timezone.now().date())
    texts = [text for example in EXAMPLES for _key, text in nodes(example.value) if isinstance(text, str)]

    heights = [re.fullmatch(r"Vehicles up to (\d+) cm high fit on (.+)\.", text) for text in texts]
    unanswered = [re.fullmatch(r"(.+) is not answering; please try again\.", text) for text in texts]

    assert [match for match in heights if match]
    assert [match for match in unanswered if match]
    for match in filter(None, heights):
        assert Vessel.objects.get(name=match[2]).max_vehicle_height_cm == int(match[1])
    for match in filter(None, unanswered):
        assert Operator.objects.filter(name=match[1]).exists()


# --- sailings, prices and explanations ---------------------------------------------------------------------------


def searched_party(query: dict) -> Party:
    vehicle = None
    if category := query.get("vehicle"):
        limits = VEHICLE_LIMITS[category]
        length = int(query.get("vehicle_length_cm", limits.default_length_cm))
        vehicle = Vehicle(category, length, int(query.get("vehicle_height_cm", limits.default_height_cm)))
    counts = {name: int(query.get(name, 0)) for name in ("children", "infants", "seniors")}
    adults = int(query.get("adults", 0 if any(counts.values()) else 1))
    return Party(adults, **counts, vehicles=(vehicle,) if vehicle else (),
                 accommodation=query.get("accommodation", Accommodation.DECK))  # fmt: skip


def booked_party(booking: dict) -> Party:
    kinds = [passenger["type"] for passenger in booking["passengers"]]
    vehicles = tuple(
        Vehicle(**{k: v[k] for k in ("category", "length_cm", "height_cm", "load") if k in v})
        for v in booking.get("vehicles") or ([booking["vehicle"]] if booking.get("vehicle") else [])
    )
    return Party(*(kinds.count(kind) for kind in ("adult", "child", "infant", "senior")), vehicles=vehicles,
                 accommodation=booking["accommodation"], pets=booking["pets"])  # fmt: skip


def party_of(example: Example) -> Party:
    if isinstance(example.value, dict) and "passengers" in example.value:
        return booked_party(example.value)
    assert example.query(), f"{example.where}: say in the description what was searched"
    return searched_party(example.query())


def sailings_on(origin: str, destination: str, day: dt.date) -> list[Sailing]:
    """The demo's sailings between the ports that leave on `day` in the departure port's time."""
    demo_days(day)
    sailings = Sailing.objects.filter(route__origin__code=origin, route__destination__code=destination)
    sailings = sailings.select_related("route__origin", "route__destination", "route__operator", "vessel")
    return [s for s in sailings if s.departs_at.astimezone(s.route.origin.tz).date() == day]


def price(sailing: Sailing, party: Party) -> dict:
    return route_quote(route=sailing.route, day=sailing.departs_at.astimezone(sailing.route.origin.tz).date(),
                       party=party).as_dict()  # fmt: skip


def assert_is_the_demos(row: dict, party: Party) -> None:
    """The row is a sailing of the demo timetable, as the API answers it, at the price of the demo's fares."""
    sailing = next(iter(s for s in sailings_on(row["from"]["code"], row["to"]["code"], day_of(row["departs_local"]))
                        if s.ref == row["sailing_ref"]), None)  # fmt: skip
    assert sailing, f"the demo timetable has no sailing {row['sailing_ref']}"
    origin, destination = sailing.route.origin, sailing.route.destination
    assert (row["operator"]["code"], row["departs_at"], row["arrives_at"]) == (
        sailing.route.operator.code,
        sailing.departs_at.astimezone(dt.UTC).isoformat(),
        sailing.arrives_at.astimezone(dt.UTC).isoformat(),
    )
    assert (row["departs_local"], row["arrives_local"]) == (
        sailing.departs_at.astimezone(origin.tz).isoformat(),
        sailing.arrives_at.astimezone(destination.tz).isoformat(),
    )
    if "vessel" in row:  # a search row
        assert (row["vessel"], row["max_vehicle_height_cm"]) == (
            sailing.vessel.name,
            sailing.vessel.max_vehicle_height_cm,
        )
        assert row["duration_minutes"] == (sailing.arrives_at - sailing.departs_at).total_seconds() // 60
        assert 0 < row["availability"]["places_left"] <= sailing.vessel.passenger_capacity
    quote = price(sailing, party)
    assert row["price"] == quote["total"]
    assert [{k: v for k, v in line.items() if k != "label"} for line in row["price_lines"]] == quote["lines"]
    if "fares" in row:  # a search row: the price in every family, with its rules
        assert [without_labels(fare) for fare in row["fares"]] == fares(sailing, party)


def without_labels(fare: dict) -> dict:
    return fare | {"price_lines": [{k: v for k, v in line.items() if k != "label"} for line in fare["price_lines"]]}


def fares(sailing: Sailing, party: Party) -> list[dict]:
    """The sailing's price in each fare family of the demo's fares, as a search row's `fares` has it."""
    day = sailing.departs_at.astimezone(sailing.route.origin.tz).date()
    fare = fare_on(fares_for_routes(route_ids=[sailing.route_id], dates=[day])[sailing.route_id], day)
    rows = []
    for wire in (quote.as_dict() for quote in quotes(fare=fare, party=party)):
        rules = {key: wire[key] for key in ("fare_family", "cancellation_policy", "change_policy")}
        rows.append(rules | {"price": wire["total"], "price_lines": wire["lines"]})
    return rows


@pytest.mark.parametrize("example", [e for e in EXAMPLES if sailing_rows(e)], ids=lambda example: example.where)
def test_every_sailing_of_an_example_is_one_the_demo_runs_that_day_at_the_price_of_its_fares(example):
    party = party_of(example)

    for row in sailing_rows(example):
        assert_is_the_demos(row, party)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.query() and e.parameter == ""], ids=lambda e: e.where)
def test_a_search_example_answers_every_sailing_of_the_demo_that_day_and_explains_an_empty_day_as_the_demo_would(
    example,
):
    query, answer = example.query(), example.value
    day, party = dt.date.fromisoformat(query["date"]), searched_party(query)

    sailings = sailings_on(query["from"], query["to"], day)

    assert [row["sailing_ref"] for row in answer["outbound"]] == [
        s.ref for s in sorted(sailings, key=lambda s: s.departs_at)
    ]
    why = answer["explanations"]["outbound"]
    routes = Route.objects.filter(active=True)
    if why and why["reason"] == "no_route":
        assert not routes.filter(origin__code=query["from"], destination__code=query["to"]).exists()
        assert why["destinations_from_origin"] == ports_by_name(
            routes.filter(origin__code=query["from"]), "destination"
        )
        assert why["origins_to_destination"] == ports_by_name(routes.filter(destination__code=query["to"]), "origin")
    elif why:
        assert (why["reason"], sailings) == ("no_sailing_this_day", [])
        assert why["nearby_dates"] == nearby_dates(query, day, party)
    operators = routes.filter(origin__code=query["from"], destination__code=query["to"]).values("operator__code")
    assert [op["code"] for op in answer["operators"]] == sorted({op["operator__code"] for op in operators})


def ports_by_name(routes, end: str) -> list[dict]:
    ports = {getattr(route, end) for route in routes.select_related(end)}
    return [{"code": port.code, "name": port.name} for port in sorted(ports, key=lambda port: port.name)]


def nearby_dates(query: dict, day: dt.date, party: Party) -> list[dict]:
    dates = []
    for offset in NEARBY_DAYS:
        nearby = day + dt.timedelta(days=offset)
        sailings = sailings_on(query["from"], query["to"], nearby)
        if prices := [fare["price"] for s in sailings for fare in fares(s, party)]:
            lowest = min(prices, key=lambda money: money["amount_minor"])
            dates.append({"date": nearby.isoformat(), "lowest_price": lowest})
    return dates


@pytest.mark.parametrize("example", [e for e in EXAMPLES if isinstance(e.value, dict) and "passengers" in e.value
                                     and "legs" in e.value], ids=lambda example: example.where)  # fmt: skip
def test_a_booking_example_is_one_the_demo_would_take(example):
    booking = example.value
    first_leg = booking["legs"][0]
    travel_day = day_of(first_leg["departs_local"])
    created, expires = (dt.datetime.fromisoformat(booking[key]) for key in ("created_at", "hold_expires_at"))

    assert created < dt.datetime.fromisoformat(first_leg["departs_at"])
    assert expires - created == dt.timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
    assert booking["total"]["amount_minor"] == sum(leg["price"]["amount_minor"] for leg in booking["legs"])
    for passenger in booking["passengers"]:
        born = dt.date.fromisoformat(passenger["date_of_birth"])
        age = travel_day.year - born.year - ((travel_day.month, travel_day.day) < (born.month, born.day))
        low, high = AGES[passenger["type"]]
        assert low <= age <= high, passenger
    for vehicle in booking.get("vehicles") or ([booking["vehicle"]] if booking.get("vehicle") else []):
        limits = VEHICLE_LIMITS[vehicle["category"]]
        assert limits.min_length_cm <= vehicle["length_cm"] <= limits.max_length_cm
        demo_days(travel_day)
        vessel = Sailing.objects.get(ref=first_leg["sailing_ref"]).vessel
        assert vehicle["height_cm"] <= min(limits.max_height_cm, vessel.max_vehicle_height_cm)
