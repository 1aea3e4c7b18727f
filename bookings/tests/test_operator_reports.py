"""A remote operator reports a sailing late or cancelled (its API, the operator simulator): the travellers are told
and offered what staff's own report would give them."""

import datetime as dt

import pytest

from bookings.flows.operator_reports import operator_sailings_poll
from bookings.models import Booking
from bookings.tests.factories import confirmed_booking
from ferries.models import Sailing
from ferries.tests.factories import OperatorFactory, RouteFactory, sailing_factory
from notifications.models import Email

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def remote(operator_simulator, settings):
    route = RouteFactory(operator=OperatorFactory(code="REM"))
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    return simulator, sailing_factory(route=route, departs_in=dt.timedelta(hours=30))


def test_new_times_the_operator_reports_are_taken_and_the_travellers_told(remote):
    simulator, sailing = remote
    booking = confirmed_booking(sailing)
    later = {"departs_at": (sailing.departs_at + dt.timedelta(minutes=45)).isoformat(),
             "arrives_at": (sailing.arrives_at + dt.timedelta(minutes=60)).isoformat()}  # fmt: skip

    assert operator_sailings_poll() == {"retimed": 0, "cancelled": 0}, "on time: nothing to do"
    simulator.reported[sailing.ref] = later
    assert operator_sailings_poll() == {"retimed": 1, "cancelled": 0}
    assert operator_sailings_poll() == {"retimed": 0, "cancelled": 0}, "the same times again change nothing"

    sailing.refresh_from_db()
    assert sailing.departure_delay_minutes == 45
    assert sailing.retimings.get().actor == "operator"
    assert Email.objects.filter(booking=booking, kind=Email.Kind.SAILING_RETIMED).count() == 1


def test_a_cancellation_the_operator_reports_cancels_the_sailing_for_its_travellers(remote, eager_tasks):
    simulator, sailing = remote
    held = confirmed_booking(sailing)
    Booking.objects.filter(pk=held.pk).update(status=Booking.Status.PAID)  # awaiting the operator: cancelled outright
    simulator.reported[sailing.ref] = {"status": "cancelled"}

    assert operator_sailings_poll() == {"retimed": 0, "cancelled": 1}

    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.CANCELLED
    assert Booking.objects.get(pk=held.pk).status in {Booking.Status.CANCELLED, Booking.Status.REFUNDED}


def test_an_operator_not_answering_is_asked_again_next_time(remote):
    simulator, sailing = remote
    confirmed_booking(sailing)
    simulator.fail_first = 10

    assert operator_sailings_poll() == {"retimed": 0, "cancelled": 0}
    assert Sailing.objects.get(pk=sailing.pk).departs_at == sailing.departs_at
