"""The check-in page in a real browser on a phone, as an agent at the quay uses it: sign in, choose the port and the
sailing, type a reference (the camera's place: a headless browser has none), check the party in, board them; a ticket
for another sailing refused loudly. Each page checked by axe-core."""

import datetime as dt

import pytest

from bookings.models import Boarding
from bookings.tests.conftest import PASSWORD, port_agent_group
from bookings.tests.factories import ADULT, CHILD, confirmed_booking
from ferries.tests.factories import PortFactory, RouteFactory, sailing_factory
from maritime.tests.test_browser_accessibility import PHONE, Audit

pytestmark = pytest.mark.browser
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}


@pytest.fixture
def quay(transactional_db, django_user_model):
    route = RouteFactory(origin=PortFactory(code="TNTUN"), destination=PortFactory(code="FRMRS"))
    tonight = sailing_factory(route=route, departs_in=dt.timedelta(hours=5))
    tomorrow = sailing_factory(route=route, departs_in=dt.timedelta(hours=29))
    agent = django_user_model.objects.create_user("quay", password=PASSWORD)
    agent.groups.add(port_agent_group())
    return {"tonight": tonight, "tomorrow": tomorrow,
            "family": confirmed_booking(tonight, passengers=[ADULT, CHILD], vehicle=CAR),
            "later": confirmed_booking(tomorrow)}  # fmt: skip


def test_an_agent_checks_a_family_in_and_boards_it_on_a_phone(page, quay):
    page.set_viewport_size(PHONE)
    audit = Audit(page, "en")
    family = quay["family"]

    page.goto("/port/")
    audit.check("check-in sign-in")
    page.get_by_label("Username").fill("quay")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Port").select_option("TNTUN")
    page.get_by_role("button", name="Show").click()
    audit.check("check-in departures")
    page.get_by_role("link", name=quay["tonight"].ref).click()
    audit.check("check-in sailing")

    page.get_by_label("Booking reference").fill(family.reference.lower())
    page.get_by_role("button", name="Look up").click()
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "valid"
    audit.check("check-in verdict")
    page.get_by_role("button", name="Check in").click()
    assert page.get_by_text("Checked in.").is_visible()
    page.get_by_role("button", name="Board").click()
    assert page.get_by_text("Boarded.").is_visible()
    assert Boarding.objects.filter(leg__booking=family, boarded_at__isnull=False).count() == 3

    page.get_by_role("link", name="Next ticket").click()
    page.get_by_label("Booking reference").fill(quay["later"].reference)
    page.get_by_role("button", name="Look up").click()
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "wrong_sailing"
    assert page.get_by_text("Does not board").is_visible()
    audit.check("check-in refusal")
    assert not page.get_by_role("button", name="Board").count()
    assert audit.problems == []
