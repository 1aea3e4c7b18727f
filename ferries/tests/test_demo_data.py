import datetime as dt
from collections import defaultdict
from itertools import pairwise
from typing import NamedTuple

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ferries.demo import seed_network, timetable
from ferries.models import Fare, Operator, Port, Route, Sailing, Vessel
from ferries.pricing import NotPriced, fare_on, fares_for_routes

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    return (
        sorted(Vessel.objects.values_list("name", "imo")),
        sorted(Sailing.objects.values_list("ref", "vessel__name", "departs_at", "arrives_at")),
    )


def test_the_demo_network_is_a_realistic_size(capsys):
    call_command("seed_demo_data", verbosity=0)

    assert Operator.objects.count() >= 5
    assert Port.objects.count() >= 10
    assert Route.objects.count() >= 15
    today = timezone.now().date()
    departure_days = {s.departs_at.date() for s in Sailing.objects.all()}
    assert min(departure_days) <= today + timezone.timedelta(days=1)
    assert max(departure_days) >= today + timezone.timedelta(days=88)
    assert Fare.objects.values("name").distinct().count() >= 4, "seasons"
    assert "Demo network ready" in capsys.readouterr().out


def test_every_demo_sailing_can_be_priced():
    seed_network(seed=1, days=30, today=timezone.now().date())

    for route in Route.objects.all():
        fares = fares_for_routes(route_ids=[route.pk], dates=[timezone.now().date()])[route.pk]
        for sailing in route.sailings.all()[:5]:
            try:
                fare_on(fares, sailing.departs_at.astimezone(route.origin.tz).date())
            except NotPriced:
                pytest.fail(f"{sailing} has no fare")


def test_every_demo_port_names_its_terminal_and_every_demo_operator_its_check_in_time():
    seed_network(seed=1, days=1, today=timezone.now().date())

    assert not Port.objects.filter(terminal="").exists()
    assert not Port.objects.filter(terminal_address="").exists()
    assert set(Operator.objects.values_list("check_in_closes_minutes", flat=True)) - {60}, "not all left at the default"
    assert Port.objects.filter(check_in_closes_minutes__isnull=False).exists(), "some port overrides its operators"


def test_domestic_demo_crossings_bear_vat_and_international_ones_are_exempt():
    seed_network(seed=1, days=1, today=timezone.now().date())

    taxed = {(r.origin.code, r.destination.code, str(r.vat_percent)) for r in Route.objects.filter(vat_percent__gt=0)}
    assert taxed == {("ITGOA", "ITPMO", "10.00"), ("ITPMO", "ITGOA", "10.00")}


def test_running_it_again_adds_nothing():
    today = timezone.now().date()
    seed_network(seed=7, days=14, today=today)
    before = snapshot()

    again = seed_network(seed=7, days=14, today=today)

    assert set(again.values()) == {0}
    assert snapshot() == before


def test_the_same_seed_gives_the_same_network():
    today = timezone.now().date()
    runs = []
    for _ in range(2):
        with transaction.atomic():
            seed_network(seed=42, days=10, today=today)
            runs.append(snapshot())
            transaction.set_rollback(True)

    assert runs[0] == runs[1]
    assert runs[0][1], "sailings were created"


# The time a ship needs in port between two crossings: unload, clean, load.
TURNAROUND = dt.timedelta(hours=1)
# Across the start of Ramadan in Morocco, its end, and the start of summer time in Europe.
SEASON_CHANGES = dt.date(2027, 2, 1)
FEW = dt.timedelta(minutes=5)


class Voyage(NamedTuple):
    vessel: str
    origin: str
    destination: str
    departs: dt.datetime
    arrives: dt.datetime


def ships_turned_around_in_time(voyages: list[Voyage]) -> list[str]:
    """Each vessel's next crossing leaves from the port it arrived at, once it has had time to turn around."""
    by_vessel = defaultdict(list)
    for voyage in voyages:
        by_vessel[voyage.vessel].append(voyage)
    problems = []
    for vessel, own in by_vessel.items():
        for before, after in pairwise(sorted(own, key=lambda voyage: voyage.departs)):
            if after.origin != before.destination:
                problems.append(f"{vessel} reaches {before.destination}, then leaves {after.origin} at {after.departs}")
            elif after.departs - before.arrives < TURNAROUND:
                problems.append(f"{vessel} reaches {after.origin} at {before.arrives}, leaves at {after.departs}")
    return problems


def test_every_ship_of_the_timetable_leaves_from_where_it_arrived_with_time_to_turn_around_all_year():
    planned = timetable(today=dt.date(2026, 1, 1), days=730)
    voyages = [
        Voyage(p.vessel, p.origin, p.destination, p.departs_local, p.departs_local + dt.timedelta(minutes=p.minutes))
        for p in planned
    ]

    assert len({voyage.vessel for voyage in voyages}) >= 14
    assert ships_turned_around_in_time(voyages) == []


@pytest.fixture(scope="class")
def demo_sailings(django_db_setup, django_db_blocker) -> list[Sailing]:
    """Sixty days of the demo network across the season changes, seeded once for the tests of a class that only
    read it, and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed_network(seed=3, days=60, today=SEASON_CHANGES)
        yield list(Sailing.objects.select_related("route__origin", "route__destination", "route__operator", "vessel"))
        transaction.set_rollback(True)


class TestTheDemoTimetableAcrossSeasonChanges:
    def test_no_demo_vessel_sails_from_two_ports_at_once_or_without_turning_around(self, demo_sailings):
        voyages = [
            Voyage(s.vessel.name, s.route.origin.code, s.route.destination.code, s.departs_at, s.arrives_at)
            for s in demo_sailings
        ]

        assert ships_turned_around_in_time(voyages) == []
        assert {s.vessel.operator_id == s.route.operator_id for s in demo_sailings} == {True}, (
            "its own operator's ships"
        )

    def test_a_demo_route_takes_the_same_time_to_cross_every_day(self, demo_sailings):
        crossings = defaultdict(set)
        for sailing in demo_sailings:
            crossings[str(sailing.route)].add(sailing.arrives_at - sailing.departs_at)

        assert len(crossings) == Route.objects.count(), "every route is sailed"
        uneven = {route: sorted(map(str, times)) for route, times in crossings.items() if max(times) - min(times) > FEW}
        assert uneven == {}

    def test_demo_departures_keep_to_a_timetable_of_a_few_round_hours(self, demo_sailings):
        departures = defaultdict(set)
        for sailing in demo_sailings:
            departures[str(sailing.route)].add(sailing.departs_at.astimezone(sailing.route.origin.tz).time())

        assert {route: sorted(times) for route, times in departures.items() if len(times) > 4} == {}
        odd = sorted(
            f"{route} {time:%H:%M}" for route, times in departures.items() for time in times if time.minute % 15
        )
        assert odd == []

    def test_tanger_express_sails_from_algeciras_to_tanger_med_every_day(self, demo_sailings):
        days = {
            s.departs_at.astimezone(s.route.origin.tz).date()
            for s in demo_sailings
            if (s.route.origin.code, s.route.destination.code, s.vessel.name) == ("ESALG", "MAPTM", "Tanger Express")
        }

        assert days == {SEASON_CHANGES + dt.timedelta(days=n) for n in range(60)}
