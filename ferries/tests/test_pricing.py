import datetime as dt
from dataclasses import replace

import pytest
from django.utils import timezone

from ferries.choices import Accommodation, VehicleCategory
from ferries.models import Fare, FareFamily, PassengerFare
from ferries.operators import local
from ferries.party import Party, Vehicle
from ferries.pricing import (
    NotPriced,
    Quote,
    UnknownFareFamily,
    accommodation_prices,
    default_quote,
    fares_for_routes,
    quote,
    quotes,
    route_quote,
)
from ferries.queries import parse_search_query
from ferries.search import sailing_search
from ferries.tests.factories import FareFactory, RouteFactory, sailing_factory

pytestmark = pytest.mark.django_db


def lines(q) -> dict[str, tuple[int, int]]:
    return {line.code: (line.quantity, line.unit_minor) for line in q.lines}


def test_each_passenger_type_pays_its_fare_and_infants_travel_free():
    q = quote(fare=FareFactory(), party=Party(adults=2, children=1, infants=1, seniors=1))

    assert lines(q) == {
        "adult": (2, 10000),
        "child": (1, 5000),
        "infant": (1, 0),
        "senior": (1, 8500),
        "accommodation:deck": (4, 0),
    }
    assert (q.total_minor, q.currency) == (33500, "EUR")


def test_a_vehicle_pays_the_shortest_band_it_fits():
    fare = FareFactory()
    short = Party(vehicles=(Vehicle(VehicleCategory.CAR, 480, 150),))
    long = Party(vehicles=(Vehicle(VehicleCategory.CAR, 520, 150),))

    assert lines(quote(fare=fare, party=short))["vehicle:car"] == (1, 15000)
    assert lines(quote(fare=fare, party=long))["vehicle:car"] == (1, 20000)


def test_a_vehicle_longer_than_every_band_is_not_priced():
    with pytest.raises(NotPriced):
        quote(fare=FareFactory(), party=Party(vehicles=(Vehicle(VehicleCategory.CAR, 650, 150),)))


def test_cabins_are_priced_per_cabin_and_seats_per_occupant():
    fare = FareFactory()
    family = dict(adults=2, children=1, infants=1)

    cabins = quote(fare=fare, party=Party(**family, accommodation=Accommodation.INSIDE_2))
    seats = quote(fare=fare, party=Party(**family, accommodation=Accommodation.SEAT))

    assert lines(cabins)["accommodation:inside_2"] == (2, 8000), "three occupants need two 2-berth cabins"
    assert lines(seats)["accommodation:seat"] == (3, 1500), "the infant needs no seat"


def test_an_accommodation_the_route_does_not_sell_is_not_priced():
    with pytest.raises(NotPriced):
        quote(fare=FareFactory(), party=Party(accommodation=Accommodation.OUTSIDE_4))


def test_pets_are_charged_per_pet_at_the_price_of_their_kind_others_and_kinds_without_one_at_the_fares():
    fare = FareFactory(dog_amount_minor=3500, cat_amount_minor=None)

    priced = lines(quote(fare=fare, party=Party(pets=4, dogs=2, cats=1)))

    assert {code: priced[code] for code in priced if code.startswith("pet")} == {
        "pet:dog": (2, 3500), "pet:cat": (1, 2000), "pet:other": (1, 2000),
    }  # fmt: skip


def test_there_is_no_price_outside_the_fare_seasons():
    route = RouteFactory()
    FareFactory(route=route)

    with pytest.raises(NotPriced):
        route_quote(route=route, day=timezone.now().date() + dt.timedelta(days=400), party=Party())


def test_the_quote_has_the_wire_shape_of_money():
    shape = quote(fare=FareFactory(), party=Party()).as_dict()

    assert shape["total"] == {"amount_minor": 10000, "currency": "EUR"}
    assert shape["lines"][0] == {
        "code": "adult",
        "quantity": 1,
        "unit": {"amount_minor": 10000, "currency": "EUR"},
        "total": {"amount_minor": 10000, "currency": "EUR"},
    }


# --- fare families --------------------------------------------------------------------------------------------


def test_a_fare_is_priced_in_each_of_its_families_in_their_order_each_unit_at_its_percentage():
    party = Party(adults=2, children=1, vehicles=(Vehicle(VehicleCategory.CAR, 450, 160),))

    priced = quotes(fare=FareFactory(), party=party)

    assert [q.family for q in priced] == [
        {"code": "basic", "name": "Basic"},
        {"code": "standard", "name": "Standard"},
        {"code": "flex", "name": "Flex"},
    ]
    assert [lines(q)["adult"] for q in priced] == [(2, 8500), (2, 10000), (2, 12500)]
    assert [lines(q)["vehicle:car"] for q in priced] == [(1, 12750), (1, 15000), (1, 18750)]
    assert [q.total_minor for q in priced] == [8500 * 2 + 4250 + 12750, 40000, 25000 + 6250 + 18750]
    assert default_quote(priced).family["code"] == "standard"


def test_a_routes_fare_is_read_in_one_query_and_prices_as_the_fare_read_row_by_row(django_assert_num_queries):
    fare = FareFactory()
    party = Party(adults=2, children=1, vehicles=(Vehicle(VehicleCategory.CAR, 450, 160),))
    day = fare.valid_from + dt.timedelta(days=3)

    with django_assert_num_queries(1):
        priced = quotes(fare=fares_for_routes(route_ids=[fare.route_id], dates=[day])[fare.route_id][0], party=party)

    assert priced == quotes(fare=fare, party=party)
    assert [q.family["code"] for q in priced] == ["basic", "standard", "flex"]


def test_a_family_price_is_rounded_to_the_cent_for_each_unit_halves_up():
    fare = FareFactory()
    FareFamily.objects.filter(fare=fare, code="basic").update(price_percent=33)
    PassengerFare.objects.filter(fare=fare, passenger_type="adult").update(amount_minor=1050)

    basic = quote(fare=fare, party=Party(adults=3), family="basic")

    assert lines(basic)["adult"] == (3, 347), "10.50 × 33 % = 3.465, rounded to 3.47"
    assert basic.total_minor == 1041


def test_each_family_carries_its_own_rules_for_cancelling_and_changing():
    priced = {q.family["code"]: q for q in quotes(fare=FareFactory(), party=Party())}

    assert priced["basic"].policy == {"refund_full_days": None, "refund_partial_hours": 0, "refund_partial_percent": 0}
    assert priced["standard"].policy == {
        "refund_full_days": 7,
        "refund_partial_hours": 24,
        "refund_partial_percent": 50,
    }
    assert priced["basic"].changes["allowed"] is False
    assert priced["standard"].changes == {
        "allowed": True, "until_hours": 24, "fee_fixed_minor": 0, "fee_percent": 10, "fee_min_minor": 1500,
        "max_changes": 2,
    }  # fmt: skip
    assert (priced["flex"].changes["until_hours"], priced["flex"].changes["max_changes"]) == (2, 5)


def test_a_family_the_fare_is_not_sold_in_is_refused_by_name_and_a_fare_without_families_is_not_priced():
    fare = FareFactory()

    with pytest.raises(UnknownFareFamily, match="premium"):
        quote(fare=fare, party=Party(), family="premium")
    FareFamily.objects.filter(fare=fare).delete()
    with pytest.raises(NotPriced):
        quotes(fare=fare, party=Party())


def test_the_standard_family_is_shown_first_only_when_sold_else_the_first_family():
    fare = FareFactory()
    FareFamily.objects.filter(fare=fare, code="standard").delete()

    assert default_quote(quotes(fare=fare, party=Party())).family["code"] == "basic"


def test_a_quote_in_a_family_survives_its_wire_form_with_its_rules():
    flex = quote(fare=FareFactory(), party=Party(adults=2), family="flex")

    again = Quote.from_dict(flex.as_dict())

    assert (again.family, again.policy, again.changes) == (flex.family, flex.policy, flex.changes)
    assert (again.lines, again.currency) == (flex.lines, flex.currency)
    assert flex.as_dict()["change_policy"]["fee_minimum"] == {"amount_minor": 0, "currency": "EUR"}


def test_an_operators_quote_without_families_reads_as_standard_with_no_changes():
    wire = quote(fare=FareFactory(), party=Party()).as_dict()
    del wire["fare_family"], wire["change_policy"]

    old = Quote.from_dict(wire)

    assert old.family["code"] == "standard"
    assert old.changes["allowed"] is False


@pytest.mark.parametrize(
    ("part", "rule", "value"),
    [
        ("cancellation_policy", "refund_partial_percent", 50.5),
        ("cancellation_policy", "refund_partial_percent", 150),
        ("cancellation_policy", "refund_full_days", "7"),
        ("cancellation_policy", "refund_full_days", True),
        ("cancellation_policy", "refund_partial_hours", -1),
        ("change_policy", "fee_percent", 12.5),
        ("change_policy", "max_changes", None),
        ("change_policy", "allowed", "yes"),
    ],
)
def test_an_operators_rule_that_is_not_a_whole_number_in_range_is_refused_naming_it(part, rule, value):
    wire = quote(fare=FareFactory(), party=Party(), family="flex").as_dict()
    wire[part][rule] = value

    with pytest.raises(ValueError, match=rule):
        Quote.from_dict(wire)


def test_an_operators_rules_read_back_as_whole_numbers_and_none_where_allowed():
    wire = quote(fare=FareFactory(), party=Party(), family="basic").as_dict()

    read = Quote.from_dict(wire)

    assert read.policy == {"refund_full_days": None, "refund_partial_hours": 0, "refund_partial_percent": 0}
    assert read.changes["allowed"] is False


def test_each_accommodations_price_is_the_default_familys_quote_for_the_party_staying_there():
    fare = FareFactory()
    FareFamily.objects.filter(fare=fare, code="standard").delete()  # the first family is then the default one
    party = Party(adults=2, children=1, vehicles=(Vehicle(category="car", length_cm=450, height_cm=160),))

    prices = accommodation_prices(fare=fare, party=party)

    kinds = list(fare.accommodation_fares.values_list("accommodation", flat=True))
    assert sorted(prices) == sorted(kinds)
    assert len(kinds) >= 2
    for kind in kinds:
        priced = quotes(fare=fare, party=replace(party, accommodation=kind))
        assert priced[0].family["code"] == "basic"
        assert prices[kind] == default_quote(priced).total_minor
    FareFamily.objects.filter(fare=fare).delete()
    assert accommodation_prices(fare=Fare.objects.get(pk=fare.pk), party=party) == {}


@pytest.mark.django_db
def test_a_days_sailings_under_one_fare_are_priced_once_and_each_row_shows_its_own_fares(tunis_marseille, monkeypatch):
    # At 08:00 by the port's clock ten days on, so that the two later ones are the same day whenever this runs.
    day = (timezone.now() + dt.timedelta(days=10)).astimezone(tunis_marseille.origin.tz).date()
    morning = dt.datetime.combine(day, dt.time(8), tzinfo=tunis_marseille.origin.tz)
    first = sailing_factory(route=tunis_marseille, departs_at=morning)
    for hours in (3, 6):  # the same day, by the port's clock
        sailing_factory(route=tunis_marseille, departs_at=first.departs_at + dt.timedelta(hours=hours))
    priced = []
    real_quotes = local.quotes
    monkeypatch.setattr(local, "quotes", lambda **given: priced.append(given) or real_quotes(**given))
    day = first.departs_at.astimezone(tunis_marseille.origin.tz).date()

    query = parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": day.isoformat(), "adults": "2",
                                "vehicle": "car"})  # fmt: skip
    rows = sailing_search(query=query)["outbound"]

    assert len(rows) == 3
    assert len(priced) == 1  # one fare, one party: one pricing for the day
    fare = Fare.objects.get(route=tunis_marseille)
    each = quotes(fare=fare, party=query.outbound.party)
    shown = default_quote(each).as_dict()
    for row in rows:
        assert [(f["fare_family"], f["price"], f["price_lines"]) for f in row["fares"]] == [
            (q["fare_family"], q["total"], q["lines"]) for q in (quote.as_dict() for quote in each)
        ]
        assert (row["price"], row["price_lines"]) == (shown["total"], shown["lines"])
