"""The search's reads compiled once per process (kernel.compiled): the same rows as the ORM's own, in one query."""

import datetime as dt

import pytest
from django.db import connection

from ferries.models import Operator, Route, Sailing, SailingInventory
from ferries.selectors import _routes_read, bookable_after, local_day_bounds, routes_between, sailings_on_days
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, local_time, sailing_factory
from kernel.compiled import compile_read

pytestmark = pytest.mark.django_db


@pytest.fixture
def routes(tunis_marseille, marseille_tunis):
    """Two operators on Tunis → Marseille (one of them with a logo), one the other way, one retired, one of an
    operator who stopped trading."""
    other = OperatorFactory(code="OTH", name="Other Lines", logo=b"\x89PNG...", logo_type="image/png")
    second = RouteFactory(operator=other, origin=tunis_marseille.origin, destination=tunis_marseille.destination)
    RouteFactory(operator=OperatorFactory(code="OLD", active=False), origin=tunis_marseille.origin,
                 destination=tunis_marseille.destination)  # fmt: skip
    RouteFactory(operator=OperatorFactory(code="RET"), origin=tunis_marseille.origin,
                 destination=tunis_marseille.destination, active=False)  # fmt: skip
    return {"ours": tunis_marseille, "other": second, "back": marseille_tunis}


def test_the_routes_between_two_ports_are_those_the_orm_finds_with_their_operators_and_ports_in_one_query(
    routes, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = routes_between("TNTUN", "FRMRS")
        seen = [(r.pk, r.operator.code, r.operator.name, r.origin.code, r.destination.tz.key) for r in found]

    expected = Route.objects.filter(
        origin__code="TNTUN", destination__code="FRMRS", active=True, operator__active=True
    ).select_related("operator", "origin", "destination")
    assert sorted(seen) == sorted(
        (r.pk, r.operator.code, r.operator.name, r.origin.code, r.destination.tz.key) for r in expected
    )
    assert {r.operator.code for r in found} == {"LOC", "OTH"}, "neither the retired route nor the closed operator"
    assert all(r.origin is found[0].origin for r in found), "the ports read once"
    assert [r.vat_percent for r in found] == [Route.objects.get(pk=r.pk).vat_percent for r in found]
    assert {r.operator.integration for r in found} == {Operator.Integration.LOCAL}
    assert routes_between("FRMRS", "TNTUN") == [routes["back"]], "the same read with other values"
    assert routes_between("FRMRS", "XXXXX") == []


def test_an_operators_logo_is_left_unread_and_read_only_when_asked_for(routes, django_assert_num_queries):
    other = next(r for r in routes_between("TNTUN", "FRMRS") if r.operator.code == "OTH")

    assert "logo" in other.operator.get_deferred_fields()
    with django_assert_num_queries(1):
        assert bytes(other.operator.logo) == b"\x89PNG..."


def test_the_sailings_of_some_days_are_those_the_orm_finds_with_vessel_and_inventory_in_one_query(
    routes, django_assert_num_queries
):
    ours, other = routes["ours"], routes["other"]
    kept = [
        sailing_factory(route=ours, departs_at=local_time(ours, days=3, hour=22)),
        sailing_factory(route=other, departs_at=local_time(ours, days=3, hour=9)),
        sailing_factory(route=ours, departs_at=local_time(ours, days=4, hour=0)),
    ]
    sailing_factory(route=ours, departs_at=local_time(ours, days=5, hour=1))  # a day after
    sailing_factory(route=routes["back"], departs_at=local_time(ours, days=3, hour=10))  # the other way
    cancelled = sailing_factory(route=ours, departs_at=local_time(ours, days=3, hour=12))
    Sailing.objects.filter(pk=cancelled.pk).update(status=Sailing.Status.CANCELLED)
    SailingInventory.objects.filter(sailing=kept[0], resource="passengers").update(taken=7)
    first, last = local_time(ours, days=3, hour=0).date(), local_time(ours, days=4, hour=0).date()

    with django_assert_num_queries(1):
        found = sailings_on_days(routes=[ours, other], first=first, last=last)
        seen = [_described(sailing) for sailing in found]

    start, _end = local_day_bounds(ours.origin, first)
    _start, end = local_day_bounds(ours.origin, last)
    orm = Sailing.objects.filter(
        route__in=[ours, other], status="scheduled", departs_at__gte=max(start, bookable_after()), departs_at__lt=end
    ).order_by("departs_at")
    assert seen == [_described(sailing) for sailing in orm.select_related("vessel").prefetch_related("inventory")]
    assert [sailing.pk for sailing in found] == [kept[1].pk, kept[0].pk, kept[2].pk]
    assert found[1].inventory.all()[0].sailing_id == kept[0].pk
    assert dict(seen[1][-1])["passengers"] == kept[0].vessel.passenger_capacity - 7
    assert [s.pk for s in sailings_on_days(routes=[ours], first=first, last=first)] == [kept[0].pk]
    assert sailings_on_days(routes=[], first=first, last=last) == []


def test_sailings_no_longer_on_sale_are_not_read(routes):
    ours = routes["ours"]
    soon = sailing_factory(route=ours, departs_in=dt.timedelta(minutes=5))
    today = soon.departs_at.astimezone(ours.origin.tz).date()

    found = sailings_on_days(routes=[ours], first=today, last=today + dt.timedelta(days=1))

    assert soon.pk not in [sailing.pk for sailing in found]


def _described(sailing: Sailing) -> tuple:
    inventory = [(row.resource, row.remaining) for row in sailing.inventory.all()]
    vessel = sailing.vessel
    return (sailing.pk, sailing.ref, sailing.departs_at, sailing.arrives_at, sailing.route_id, vessel.name,
            vessel.max_vehicle_height_cm, tuple(vessel.amenities), tuple(inventory))  # fmt: skip


def test_a_compiled_read_says_which_mark_it_did_not_find_and_which_value_it_was_not_given(routes):
    ports = Route.objects.filter(origin__code="(origin)").values_list("pk")

    with pytest.raises(ValueError, match="destination"):
        compile_read(ports, {"origin": "(origin)", "destination": "(destination)"})
    read = compile_read(ports, {"origin": "(origin)"})
    with pytest.raises(TypeError, match="origin"):
        read.rows({})
    assert sorted(pk for (pk,) in read.rows({"origin": "TNTUN"})) == sorted(
        Route.objects.filter(origin__code="TNTUN").values_list("pk", flat=True)
    )
    assert read.rows({"origin": PortFactory(code="GRPIR").code}) == []


def test_a_read_run_again_on_one_connection_is_prepared_and_answers_each_runs_values(routes):
    """Server-side binding: PostgreSQL parses and plans the read once, then runs its plan with each run's values."""
    read = _routes_read(connection.alias)
    as_sent = read.sql % tuple(f"${position}" for position in range(1, len(read.slots) + 1))
    for _ in range(6):
        assert {r.pk for r in routes_between("TNTUN", "FRMRS")} == {routes["ours"].pk, routes["other"].pk}
    assert [r.pk for r in routes_between("FRMRS", "TNTUN")] == [routes["back"].pk]

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = {statement for (statement,) in cursor.fetchall()}
    assert as_sent in prepared
