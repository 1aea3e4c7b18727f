"""Calls that change a remote operator's bookings take turns per operator, across processes, in the cache's Redis."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from ferries.operators import adapter_for, pacing
from ferries.operators.base import LegOrder
from ferries.operators.pacing import operator_turn
from ferries.party import Party
from ferries.tests.factories import OperatorFactory, RouteFactory, sailing_factory
from kernel.outage import cache_breaker


@pytest.fixture
def production_pace(settings):
    settings.OPERATOR_WRITES_PER_MINUTE = 60  # one call a second to each operator


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The waits the pacing sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(pacing, "sleep", slept.append)
    return slept


def test_each_call_to_an_operator_takes_the_turn_after_the_last_one_and_operators_do_not_share_turns(production_pace):
    first, second, third = operator_turn("REM"), operator_turn("REM"), operator_turn("REM")
    other = operator_turn("GNV")

    assert first == 0
    assert 0.5 < second <= 1.0
    assert 1.5 < third <= 2.0
    assert third - second == pytest.approx(1.0, abs=0.05)
    assert other == 0


def test_the_turns_are_shared_by_every_process_through_redis(settings):
    settings.OPERATOR_WRITES_PER_MINUTE = 2  # a turn every 30 s: more than another process takes to start
    operator_turn("REM")

    other_process = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from ferries.operators.pacing import operator_turn; "
         "print(operator_turn('REM'))"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "maritime.settings", "OPERATOR_WRITES_PER_MINUTE": "2",
             "REDIS_URL": django_settings.REDIS_URL},
        capture_output=True, text=True, check=True, cwd=django_settings.BASE_DIR,
    )  # fmt: skip

    assert 15 < float(other_process.stdout.strip().splitlines()[-1]) <= 30


def test_without_redis_the_turns_are_kept_in_the_process_and_the_calls_still_go(production_pace, settings, caplog):
    dead = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens
    try:
        with override_settings(CACHES=dead):
            first, second = operator_turn("OUT"), operator_turn("OUT")
    finally:
        cache_breaker.reset()

    assert first == 0
    assert 0.5 < second <= 1.0
    assert "operator pacing: cache unavailable" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_confirming_and_cancelling_with_a_remote_operator_wait_for_its_turn(
    operator_simulator, settings, production_pace, waits
):
    route = RouteFactory(operator=OperatorFactory(code="REM", name="Remote Lines"))
    sailing = sailing_factory(route=route)
    settings.OPERATOR_API_URLS = {"REM": operator_simulator().url_for("REM")}
    adapter = adapter_for(route.operator)

    held = [adapter.hold(sailing_ref=sailing.ref, order=LegOrder(Party(adults=1)), minutes=20) for _ in range(2)]
    adapter.confirm(held[0].hold_ref)  # the first turn: no wait
    adapter.confirm(held[1].hold_ref)
    adapter.cancel(held[1].hold_ref)

    assert len(waits) == 2
    assert 0.5 < waits[0] <= 1.0
    assert 1.5 < waits[1] <= 2.0


@pytest.mark.django_db
def test_our_own_inventory_is_not_paced(tunis_marseille, production_pace, waits):
    sailing = sailing_factory(route=tunis_marseille)
    adapter = adapter_for(tunis_marseille.operator)

    for _ in range(3):
        adapter.confirm(adapter.hold(sailing_ref=sailing.ref, order=LegOrder(Party(adults=1)), minutes=20).hold_ref)

    assert waits == []
