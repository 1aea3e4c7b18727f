"""Where and until when travellers check in: the departure port's terminal, and a closing time the operator
sets that a port may override (some ports need longer for border and customs controls)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from ferries.models import Operator, Port
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, sailing_factory

pytestmark = pytest.mark.django_db


def test_check_in_closes_the_operators_minutes_before_departure():
    route = RouteFactory(operator=OperatorFactory(check_in_closes_minutes=120))

    sailing = sailing_factory(route=route)

    assert sailing.check_in_closes_at == sailing.departs_at - dt.timedelta(minutes=120)


def test_a_port_with_a_check_in_time_of_its_own_overrides_the_operators_for_its_departures():
    tunis = PortFactory(code="TNTUN", check_in_closes_minutes=180)
    operator = OperatorFactory(check_in_closes_minutes=120)
    from_tunis = sailing_factory(route=RouteFactory(operator=operator, origin=tunis))
    marseille = PortFactory(code="FRMRS")
    to_tunis = sailing_factory(route=RouteFactory(operator=operator, origin=marseille, destination=tunis))

    assert from_tunis.check_in_closes_at == from_tunis.departs_at - dt.timedelta(minutes=180)
    assert to_tunis.check_in_closes_at == to_tunis.departs_at - dt.timedelta(minutes=120)


def test_an_operator_that_sets_no_check_in_time_closes_it_an_hour_before_departure():
    operator = Operator.objects.create(code="NEW", name="New Lines")

    assert operator.check_in_closes_minutes == 60


@pytest.mark.parametrize("model", [Operator, Port])
def test_a_check_in_time_more_than_a_day_before_departure_is_refused_on_its_field(model):
    obj = OperatorFactory.build(code="CTN") if model is Operator else PortFactory.build(code="TNTUN")
    obj.check_in_closes_minutes = 24 * 60 + 1

    with pytest.raises(ValidationError) as refused:
        obj.full_clean()

    assert list(refused.value.message_dict) == ["check_in_closes_minutes"]
