import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ferries.demo import seed_network
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
