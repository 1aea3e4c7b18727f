"""Starting a payment checks with each operator first; an operator that cannot answer stops it, with nothing charged."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking
from conftest import free_port
from ferries.tests.factories import OperatorFactory, RouteFactory, sailing_factory
from payments.models import DemoIntent, Payment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def remote_booking(operator_simulator, settings):
    """A booking held on a remote operator's sailing, whose API then answers every call with an error."""
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    sailing = sailing_factory(route=RouteFactory(operator=OperatorFactory(code="REM", name="Remote Lines")))
    booking = held_booking(sailing)
    simulator.error_rate = 1.0
    return booking


@pytest.fixture
def unreachable_booking(settings):
    """A booking held on a remote operator's sailing, whose API then refuses every connection."""
    sailing = sailing_factory(route=RouteFactory(operator=OperatorFactory(code="REM", name="Remote Lines")))
    booking = held_booking(sailing)  # held from our inventory, as the operator had it before it went away
    settings.OPERATOR_API_URLS = {"REM": f"http://127.0.0.1:{free_port()}/REM"}
    return booking


def start_in_the_app(booking):
    return APIClient().post(f"/api/v1/bookings/{booking.reference}/payment", HTTP_X_BOOKING_TOKEN=access_token(booking))


def assert_nothing_charged_and_still_held(booking):
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD
    assert not Payment.objects.filter(booking=booking).exists()
    assert not DemoIntent.objects.exists()


@pytest.mark.parametrize("failing", ["remote_booking", "unreachable_booking"])
def test_an_operator_that_fails_fast_answers_409_in_the_app(failing, request, eager_tasks):
    booking = request.getfixturevalue(failing)

    response = start_in_the_app(booking)

    assert response.status_code == 409
    assert "could not confirm" in response.json()["detail"]
    assert_nothing_charged_and_still_held(booking)


def test_an_operator_that_fails_fast_is_explained_on_the_website(unreachable_booking, eager_tasks):
    browser = Client()
    session = browser.session
    session[BROWSER_SESSION_KEY] = [unreachable_booking.reference]
    session.save()

    page = browser.get(f"/bookings/{unreachable_booking.reference}/pay", follow=True)

    assert page.redirect_chain[-1][0] == f"/bookings/{unreachable_booking.reference}"
    assert "could not confirm" in page.content.decode()
    assert_nothing_charged_and_still_held(unreachable_booking)


@pytest.mark.worker
def test_an_operator_that_fails_fast_answers_409_with_a_real_worker(
    unreachable_booking, celery_worker_process, settings
):
    celery_worker_process("bookings", OPERATOR_API_URLS=f"REM={settings.OPERATOR_API_URLS['REM']}")

    response = start_in_the_app(unreachable_booking)

    assert response.status_code == 409
    assert "could not confirm" in response.json()["detail"]
    assert_nothing_charged_and_still_held(unreachable_booking)
