"""The ferry network in the admin: staff pages load, sailings are scheduled with inventory, and
what only holds and sales may change stays out of staff's hands."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags

from ferries.cache import cache_service
from ferries.choices import Accommodation, VehicleCategory
from ferries.models import CapacityHold, Fare, Route, Sailing, SailingInventory
from ferries.party import Party, Vehicle
from ferries.selectors import sailing_availability
from ferries.services import capacity_confirm, capacity_hold, capacity_release, sailing_schedule
from ferries.tests.factories import (
    FareFactory,
    OperatorFactory,
    PortFactory,
    RouteFactory,
    VesselFactory,
    sailing_factory,
)

pytestmark = pytest.mark.django_db

CAR = Vehicle(category=VehicleCategory.CAR, length_cm=450, height_cm=160)
# Tunis keeps CET all year; Marseille is on CEST in July.
DEPARTS = dt.datetime(2030, 7, 1, 18, 0, tzinfo=dt.UTC)
ARRIVES = dt.datetime(2030, 7, 2, 15, 30, tzinfo=dt.UTC)


def admin_url(model: str, view: str, *args) -> str:
    return reverse(f"admin:ferries_{model}_{view}", args=args)


@pytest.fixture
def network():
    """A Tunis → Marseille sailing of a 2200-passenger vessel with a fare, and a hold on it."""
    route = RouteFactory()
    vessel = VesselFactory(operator=route.operator, passenger_capacity=2200, lane_metres=50)
    FareFactory(route=route)
    sailing = sailing_schedule(route=route, vessel=vessel, ref="CTN300701", departs_at=DEPARTS, arrives_at=ARRIVES)
    hold = capacity_hold(sailing=sailing, party=Party(adults=123, vehicles=(CAR,)), minutes=30)
    return {"operator": route.operator, "route": route, "vessel": vessel, "sailing": sailing, "hold": hold}


CHANGELISTS = [
    ("operator", ""),
    ("operator", "?q={operator.code}"),
    ("operator", "?integration__exact=local&active__exact=1"),
    ("port", ""),
    ("port", "?q=Tunis"),
    ("port", "?country__exact=TN"),
    ("port", "?country=TN"),
    ("vessel", ""),
    ("vessel", "?q={vessel.imo}"),
    ("vessel", "?operator__id__exact={operator.pk}"),
    ("route", ""),
    ("route", "?q=FRMRS"),
    ("route", "?operator__id__exact={operator.pk}&origin__country__exact=TN&active__exact=1"),
    ("route", "?origin__country=TN"),
    ("sailing", ""),
    ("sailing", "?q={sailing.ref}"),
    ("sailing", "?q=TNTUN"),
    ("sailing", "?status__exact=scheduled&route__operator__id__exact={operator.pk}"),
    ("sailing", "?departs_at__year=2030&departs_at__month=7&departs_at__day=1"),
    ("capacityhold", ""),
    ("capacityhold", "?q={hold.ref}"),
    ("capacityhold", "?status__exact=held"),
    ("fare", ""),
    ("fare", "?q=All+year"),
    ("fare", "?currency__exact=EUR&route__operator__id__exact={operator.pk}"),
]


@pytest.mark.parametrize(("model", "query"), CHANGELISTS)
def test_each_changelist_lists_the_network_with_and_without_search_and_filters(admin_client, network, model, query):
    response = admin_client.get(admin_url(model, "changelist") + query.format(**network))

    assert response.status_code == 200
    expected = 2 if model == "port" and not query else 1
    assert response.context["cl"].result_count == expected


@pytest.mark.parametrize("model", ["operator", "port", "vessel", "route", "sailing", "fare"])
def test_each_add_form_loads(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("operator", "operator"),
        ("port", None),
        ("vessel", "vessel"),
        ("route", "route"),
        ("sailing", "sailing"),
        ("capacityhold", "hold"),
        ("fare", None),
    ],
)
def test_each_change_form_loads(admin_client, network, model, key):
    obj = network[key] if key else {"port": network["route"].origin, "fare": network["route"].fares.get()}[model]

    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


NO_OPERATOR_TERMINALS = {"operator_terminals-TOTAL_FORMS": "0", "operator_terminals-INITIAL_FORMS": "0"}


def test_staff_set_a_ports_terminal_and_its_own_check_in_time(admin_client):
    port = PortFactory(code="TNTUN")
    form = {"code": "TNTUN", "name": "Tunis (La Goulette)", "country": "TN", "time_zone": "Africa/Tunis",
            "terminal": "Gare maritime de La Goulette", "terminal_address": "Port de La Goulette, 2060 La Goulette",
            "check_in_closes_minutes": "180", **NO_OPERATOR_TERMINALS}  # fmt: skip

    response = admin_client.post(admin_url("port", "change", port.pk), form)

    assert response.status_code == 302
    port.refresh_from_db()
    assert (port.terminal, port.terminal_address, port.check_in_closes_minutes) == (
        "Gare maritime de La Goulette",
        "Port de La Goulette, 2060 La Goulette",
        180,
    )


def test_a_port_left_without_a_check_in_time_follows_its_operators(admin_client):
    port = PortFactory(code="TNTUN", check_in_closes_minutes=180)
    form = {"code": "TNTUN", "name": "Tunis", "country": "TN", "time_zone": "Africa/Tunis", "terminal": "",
            "terminal_address": "", "check_in_closes_minutes": "", **NO_OPERATOR_TERMINALS}  # fmt: skip

    assert admin_client.post(admin_url("port", "change", port.pk), form).status_code == 302
    port.refresh_from_db()
    assert port.check_in_closes_minutes is None


def test_staff_set_an_operators_check_in_time(admin_client):
    operator = OperatorFactory(code="CTN", name="Compagnie Tunisienne de Navigation")
    form = {"code": "CTN", "name": operator.name, "integration": "local", "api_url": "", "active": "on",
            "check_in_closes_minutes": "120"}  # fmt: skip

    response = admin_client.post(admin_url("operator", "change", operator.pk), form)

    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.check_in_closes_minutes == 120


def test_an_operators_check_in_time_more_than_a_day_ahead_is_refused_on_its_field(admin_client):
    operator = OperatorFactory(code="CTN", check_in_closes_minutes=90)
    form = {"code": "CTN", "name": operator.name, "integration": "local", "api_url": "", "active": "on",
            "check_in_closes_minutes": "2000"}  # fmt: skip

    response = admin_client.post(admin_url("operator", "change", operator.pk), form)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["check_in_closes_minutes"]
    operator.refresh_from_db()
    assert operator.check_in_closes_minutes == 90


def test_route_autocomplete_answers_with_port_names(admin_client, network):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "ferries", "model_name": "sailing", "field_name": "route", "term": "Marseille"},
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == [str(network["route"])]


def test_sailing_list_shows_port_times_with_utc_in_a_tooltip(admin_client, network):
    response = admin_client.get(admin_url("sailing", "changelist"))

    assert '<span title="2030-07-01 18:00 UTC">2030-07-01 19:00 CET</span>' in response.text
    assert '<span title="2030-07-02 15:30 UTC">2030-07-02 17:30 CEST</span>' in response.text


def test_sailing_list_shows_how_full_each_sailing_is(admin_client, network):
    response = admin_client.get(admin_url("sailing", "changelist"))

    assert "123 held · 0 sold / 2200 (6 %)" in response.text
    assert "5 held · 0 sold / 50 m (10 %)" in response.text
    assert "0 held · 0 sold / 5 (0 %)" in response.text, "the vessel's five cabins"


def test_sailing_list_splits_what_is_held_from_what_is_sold_and_adds_up_cabins(admin_client, network):
    sailing = network["sailing"]
    capacity_confirm(hold_ref=network["hold"].ref)
    waiting = capacity_hold(sailing=sailing, party=Party(adults=12), minutes=30)
    capacity_hold(sailing=sailing, party=Party(adults=4, accommodation=Accommodation.INSIDE_2), minutes=30)
    capacity_release(hold_ref=waiting.ref)
    capacity_hold(sailing=sailing, party=Party(adults=2, vehicles=(CAR,)), minutes=30)

    changelist = admin_client.get(admin_url("sailing", "changelist")).context["cl"]

    row = changelist.result_list[0]
    sailing_admin = changelist.model_admin
    assert strip_tags(sailing_admin.passengers(row)) == "6 held · 123 sold / 2200 (6 %)"  # a link to the manifest
    assert sailing_admin.lane_metres(row) == "5 held · 5 sold / 50 m (20 %)"
    assert sailing_admin.cabins(row) == "2 held · 0 sold / 5 (40 %)"


def test_a_sailing_without_vehicle_deck_or_cabins_shows_neither(admin_client):
    vessel = VesselFactory(lane_metres=0, accommodations={})
    sailing_factory(route=RouteFactory(operator=vessel.operator), vessel=vessel)

    changelist = admin_client.get(admin_url("sailing", "changelist")).context["cl"]

    row, sailing_admin = changelist.result_list[0], changelist.model_admin
    assert (sailing_admin.lane_metres(row), sailing_admin.cabins(row)) == (None, None)
    assert strip_tags(sailing_admin.passengers(row)) == "0 held · 0 sold / 100 (0 %)"


@pytest.fixture
def departed_and_upcoming():
    """A sailing that left yesterday, one leaving in an hour and one next week."""
    return {
        name: sailing_factory(departs_in=dt.timedelta(hours=hours), hours=2)
        for name, hours in (("departed", -24), ("soon", 1), ("next_week", 24 * 7))
    }


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [sailing.ref for sailing in response.context["cl"].result_list]


def test_the_sailing_list_opens_on_upcoming_sailings_soonest_first(admin_client, departed_and_upcoming):
    response = admin_client.get(admin_url("sailing", "changelist"))

    assert listed(response) == [departed_and_upcoming["soon"].ref, departed_and_upcoming["next_week"].ref]


def test_departed_and_all_sailings_are_one_click_away_from_the_sailing_list(admin_client, departed_and_upcoming):
    response = admin_client.get(admin_url("sailing", "changelist"))
    links = {
        choice["display"]: choice["query_string"]
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == "departure"
        for choice in spec.choices(response.context["cl"])
    }

    assert list(links) == ["Upcoming", "Departed", "All"]
    changelist = admin_url("sailing", "changelist")
    assert listed(admin_client.get(changelist + links["Departed"])) == [departed_and_upcoming["departed"].ref]
    assert len(listed(admin_client.get(changelist + links["All"]))) == 3
    assert len(listed(admin_client.get(changelist + links["Upcoming"]))) == 2
    assert f'href="{links["Departed"]}"' in response.text


def test_an_unknown_departure_choice_lists_upcoming_sailings(admin_client, departed_and_upcoming):
    response = admin_client.get(admin_url("sailing", "changelist") + "?departure=yesterday")

    assert listed(response) == [departed_and_upcoming["soon"].ref, departed_and_upcoming["next_week"].ref]


def test_sailing_list_queries_do_not_grow_with_the_number_of_sailings(admin_client):
    def changelist_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(admin_url("sailing", "changelist")).status_code == 200
        return len(queries)

    def with_holds(sailing: Sailing) -> None:
        capacity_confirm(
            hold_ref=capacity_hold(sailing=sailing, party=Party(adults=2, vehicles=(CAR,)), minutes=30).ref
        )
        capacity_hold(sailing=sailing, party=Party(adults=2, accommodation=Accommodation.INSIDE_2), minutes=30)

    with_holds(sailing_factory(departs_in=dt.timedelta(days=3)))
    admin_client.get(admin_url("sailing", "changelist"))  # the session and content types are cached from here on
    with_one = changelist_queries()
    # Each on a route, operator and vessel of its own, with holds held and sold, so a lookup per row would show.
    for day in range(4, 23):
        with_holds(sailing_factory(departs_in=dt.timedelta(days=day)))
    with_twenty = changelist_queries()

    assert Sailing.objects.count() == 20
    assert with_twenty == with_one


def schedule_form(route, vessel, **changes) -> dict:
    return {
        "route": route.pk,
        "vessel": vessel.pk,
        "ref": "CTN300801",
        "departs_at_0": "2030-08-01",
        "departs_at_1": "18:00:00",
        "arrives_at_0": "2030-08-02",
        "arrives_at_1": "15:30:00",
        **changes,
    }


def test_adding_a_sailing_schedules_it_with_inventory_sized_from_the_vessel(admin_client):
    route = RouteFactory()
    vessel = VesselFactory(operator=route.operator, passenger_capacity=1800, lane_metres=40, kennels=4)

    response = admin_client.post(admin_url("sailing", "add"), schedule_form(route, vessel))

    assert response.status_code == 302
    sailing = Sailing.objects.get(ref="CTN300801")
    assert sailing.status == Sailing.Status.SCHEDULED
    assert sailing.departs_at == dt.datetime(2030, 8, 1, 18, 0, tzinfo=dt.UTC)
    capacities = dict(sailing.inventory.values_list("resource", "capacity"))
    assert capacities == {
        "passengers": 1800,
        "lane_cm": 4000,
        "seat": 20,
        "inside_2": 5,
        "priority_boarding": 2,
        "kennels": 4,
    }


def test_adding_a_sailing_that_arrives_before_it_departs_is_refused_and_writes_nothing(admin_client):
    route = RouteFactory()
    vessel = VesselFactory(operator=route.operator)

    response = admin_client.post(admin_url("sailing", "add"), schedule_form(route, vessel, arrives_at_0="2030-07-31"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Sailing.objects.exists()
    assert not SailingInventory.objects.exists()


def test_adding_a_sailing_with_a_reference_already_used_is_refused_on_the_reference(admin_client, network):
    response = admin_client.post(
        admin_url("sailing", "add"), schedule_form(network["route"], network["vessel"], ref=network["sailing"].ref)
    )

    assert response.status_code == 200
    assert "ref" in response.context["adminform"].form.errors
    assert Sailing.objects.count() == 1


def sailing_change_form(sailing: Sailing, **changes) -> dict:
    """The change form as the browser posts it, the read-only inventory rows included."""
    rows = list(sailing.inventory.all())
    data = {
        "status": sailing.status,
        "departs_at_0": f"{sailing.departs_at:%Y-%m-%d}",
        "departs_at_1": f"{sailing.departs_at:%H:%M:%S}",
        "arrives_at_0": f"{sailing.arrives_at:%Y-%m-%d}",
        "arrives_at_1": f"{sailing.arrives_at:%H:%M:%S}",
        "inventory-TOTAL_FORMS": len(rows),
        "inventory-INITIAL_FORMS": len(rows),
        "inventory-MIN_NUM_FORMS": 0,
        "inventory-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        data |= {f"inventory-{i}-id": row.pk, f"inventory-{i}-sailing": sailing.pk}
    return data | changes


def test_inventory_taken_cannot_be_changed_from_the_sailing_form(admin_client, network):
    sailing = network["sailing"]
    before = dict(sailing.inventory.values_list("resource", "taken"))
    tampered = {}
    for i, row in enumerate(sailing.inventory.all()):
        tampered |= {f"inventory-{i}-resource": row.resource, f"inventory-{i}-capacity": row.capacity}
        tampered |= {f"inventory-{i}-taken": 0}

    response = admin_client.post(
        admin_url("sailing", "change", sailing.pk), sailing_change_form(sailing, status="departed", **tampered)
    )

    assert response.status_code == 302, "the rest of the form was saved"
    sailing.refresh_from_db()
    assert sailing.status == Sailing.Status.DEPARTED
    assert dict(sailing.inventory.values_list("resource", "taken")) == before
    assert before["passengers"] == 123


def test_a_scheduled_sailing_keeps_its_route_vessel_and_reference(admin_client, network):
    sailing = network["sailing"]
    other_vessel = VesselFactory(operator=network["operator"])

    response = admin_client.post(
        admin_url("sailing", "change", sailing.pk),
        sailing_change_form(sailing, vessel=other_vessel.pk, ref="CHANGED", departs_at_1="17:00:00"),
    )

    assert response.status_code == 302
    sailing.refresh_from_db()
    assert (sailing.vessel, sailing.ref) == (network["vessel"], "CTN300701")
    assert sailing.departs_at == DEPARTS - dt.timedelta(hours=1)


def test_cancelling_a_sailing_drops_its_cached_availability(admin_client, network, django_capture_on_commit_callbacks):
    sailing = network["sailing"]
    cache_service.set_availability(sailing.pk, sailing_availability(sailing))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            admin_url("sailing", "change", sailing.pk), sailing_change_form(sailing, status="cancelled")
        )

    assert response.status_code == 302
    assert cache_service.get_availability(sailing.pk) is None


def test_capacity_holds_can_be_looked_at_but_not_added_changed_or_deleted(admin_client, network):
    hold = network["hold"]

    assert admin_client.get(admin_url("capacityhold", "add")).status_code == 403
    assert admin_client.post(admin_url("capacityhold", "change", hold.pk), {"status": "released"}).status_code == 403
    assert admin_client.post(admin_url("capacityhold", "delete", hold.pk), {"post": "yes"}).status_code == 403
    hold.refresh_from_db()
    assert hold.status == CapacityHold.Status.HELD


def fare_form(route, **fields) -> dict:
    data = {
        "route": route.pk,
        "name": "Summer",
        "currency": "EUR",
        "pet_amount_minor": 0,
        **fields,
    }
    for prefix in ("passenger_fares", "vehicle_fares", "accommodation_fares"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}
    standard = {"code": "standard", "name": "Standard", "position": 1, "price_percent": 100, "refund_full_days": 7}
    standard |= {"refund_partial_hours": 24, "refund_partial_percent": 50, "changes_allowed": "on"}
    standard |= {"change_until_hours": 24, "change_fee_minor": 0, "change_fee_percent": 10}
    standard |= {"change_fee_min_minor": 1500, "max_changes": 2}
    data |= {"families-TOTAL_FORMS": 1, "families-INITIAL_FORMS": 0, "families-MAX_NUM_FORMS": 1000}
    return data | {f"families-0-{name}": value for name, value in standard.items()}


def test_a_fare_overlapping_another_of_the_same_route_is_refused_on_the_form(admin_client):
    existing = FareFactory(valid_from=dt.date(2030, 1, 1), valid_to=dt.date(2030, 12, 31))

    response = admin_client.post(
        admin_url("fare", "add"), fare_form(existing.route, valid_from="2030-06-01", valid_to="2031-05-31")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["valid_from"] == [
        "This period overlaps another fare of the same route."
    ]
    assert Fare.objects.count() == 1


def test_a_fare_following_another_is_added(admin_client):
    existing = FareFactory(valid_from=dt.date(2030, 1, 1), valid_to=dt.date(2030, 12, 31))

    response = admin_client.post(
        admin_url("fare", "add"), fare_form(existing.route, valid_from="2031-01-01", valid_to="2031-12-31")
    )

    assert response.status_code == 302
    assert Fare.objects.filter(route=existing.route).count() == 2
    added = Fare.objects.get(route=existing.route, valid_from=dt.date(2031, 1, 1))
    assert list(added.families.values_list("code", "price_percent", "refund_full_days")) == [("standard", 100, 7)]


def test_a_fare_is_sold_in_at_least_one_family(admin_client):
    route = FareFactory(valid_from=dt.date(2030, 1, 1), valid_to=dt.date(2030, 12, 31)).route
    form = fare_form(route, valid_from="2031-01-01", valid_to="2031-12-31")
    form["families-TOTAL_FORMS"] = 0

    response = admin_client.post(admin_url("fare", "add"), form)

    assert response.status_code == 200
    assert "Please submit at least 1 form." in response.text
    assert Fare.objects.filter(route=route).count() == 1


def test_a_fare_familys_refund_and_fee_percentages_are_at_most_100(admin_client):
    route = FareFactory(valid_from=dt.date(2030, 1, 1), valid_to=dt.date(2030, 12, 31)).route
    form = fare_form(route, valid_from="2031-01-01", valid_to="2031-12-31")
    form |= {"families-0-refund_partial_percent": 120, "families-0-code": "Flex!"}

    response = admin_client.post(admin_url("fare", "add"), form)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][-1].formset.errors[0]
    assert set(errors) == {"refund_partial_percent", "code"}
    assert Fare.objects.filter(route=route).count() == 1


def test_fare_pages_show_prices_in_the_fare_currency(admin_client):
    fare = FareFactory()

    listing = admin_client.get(admin_url("fare", "changelist"))
    page = admin_client.get(admin_url("fare", "change", fare.pk))

    assert "€100.00" in listing.text, "the adult price"
    assert "€150.00" in page.text, "a car up to 5 m"


@pytest.mark.parametrize(
    ("model", "parameter", "countries"),
    [("port", "country", [("FR", "France"), ("TN", "Tunisia")]), ("route", "origin__country", [("TN", "Tunisia")])],
)
def test_the_country_filters_offer_the_countries_in_use_by_name(admin_client, network, model, parameter, countries):
    response = admin_client.get(admin_url(model, "changelist"))

    offered = re.findall(rf'href="\?{parameter}=([A-Z]{{2}})"[^>]*>([^<]+)<', response.content.decode())
    assert sorted(offered) == countries


def test_an_operators_own_terminal_at_a_port_is_where_its_travellers_check_in(admin_client):
    route = RouteFactory(operator=OperatorFactory(code="CLN", check_in_closes_minutes=90),
                         origin=PortFactory(code="FRMRS", terminal="Terminal Cap Janet", vehicle_lane_rules="Gate 4."),
                         destination=PortFactory(code="TNTUN"))  # fmt: skip
    port = route.origin
    form = {"code": "FRMRS", "name": port.name, "country": "FR", "time_zone": "Europe/Paris", "terminal": port.terminal,
            "terminal_address": "", "check_in_closes_minutes": "", "vehicle_lane_rules": "Gate 4.",
            "operator_terminals-TOTAL_FORMS": "1", "operator_terminals-INITIAL_FORMS": "0",
            "operator_terminals-0-operator": route.operator.pk, "operator_terminals-0-terminal": "Terminal Maghreb",
            "operator_terminals-0-terminal_address": "Chemin du Littoral",
            "operator_terminals-0-check_in_closes_minutes": "150",
            "operator_terminals-0-vehicle_lane_rules": ""}  # fmt: skip

    assert admin_client.post(admin_url("port", "change", port.pk), form).status_code == 302

    terminal = Route.objects.get(pk=route.pk).departure_terminal
    assert (terminal.name, terminal.address, terminal.check_in_closes_minutes, terminal.vehicle_lane_rules) == (
        "Terminal Maghreb", "Chemin du Littoral", 150, "Gate 4.",
    )  # fmt: skip
    other = RouteFactory(
        origin=port, destination=route.destination, operator=OperatorFactory(code="CTN", check_in_closes_minutes=120)
    )
    assert (other.departure_terminal.name, other.check_in_closes_minutes) == ("Terminal Cap Janet", 120)
