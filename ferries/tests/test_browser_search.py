"""Searching sailings in a real browser, as a traveller does: from the home page to the results."""

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from ferries.choices import PassengerType
from ferries.models import Operator, PassengerFare, Route
from ferries.tests.factories import (
    FareFactory,
    OperatorFactory,
    PortFactory,
    RouteFactory,
    VesselFactory,
    sailing_factory,
)

pytestmark = pytest.mark.browser

DAY = timezone.now().date() + dt.timedelta(days=10)
BACK = DAY + dt.timedelta(days=7)


@pytest.fixture
def network(transactional_db):
    """Tunis ⇄ Marseille with one sailing each way: out on DAY at 19:00 Tunis time, back on BACK at 11:45."""
    operator = OperatorFactory(code="CTN", name="Compagnie Tunisienne de Navigation")
    tunis, marseille = PortFactory(code="TNTUN"), PortFactory(code="FRMRS")
    for origin, destination, day, time in ((tunis, marseille, DAY, "19:00"), (marseille, tunis, BACK, "11:45")):
        route = RouteFactory(operator=operator, origin=origin, destination=destination)
        departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=origin.tz)
        vessel = VesselFactory(operator=operator, name="Tanit")
        sailing_factory(route=route, vessel=vessel, departs_in=departs - timezone.now(), hours=21)


def fill_search(page, *, adults="1", children="0", one_way=True):
    page.goto("/")
    page.get_by_label("From", exact=True).select_option(label="Tunis")
    page.get_by_label("To", exact=True).select_option(label="Marseille")
    if one_way:
        page.get_by_label("One way").check()
    page.get_by_label("Departure date").fill(DAY.isoformat())
    page.get_by_label("Adult (12–64)").fill(adults)
    page.get_by_label("Child (4–11)").fill(children)


def test_a_traveller_searches_from_the_home_page_and_sees_the_sailing(page, network):
    fill_search(page, adults="2")
    page.get_by_role("button", name="Search sailings").click()

    page.wait_for_url("**/sailings/search?**")
    card = page.locator(".sailing-card")
    assert card.count() == 1
    assert card.locator(".stop-time").first.inner_text() == "19:00"
    assert "21 h 00" in card.inner_text()
    assert "Compagnie Tunisienne de Navigation" in card.inner_text()
    fares = card.locator(".fare")
    assert fares.locator(".fare-name").all_inner_texts() == ["Basic", "Standard", "Flex"]
    assert fares.locator(".price-amount").all_inner_texts() == ["€170.00", "€200.00", "€250.00"]
    assert "Not refundable." in fares.nth(0).inner_text()
    assert "Full refund until 7 days before departure" in fares.nth(1).inner_text()


def test_a_return_trip_shows_both_legs_side_by_side_on_a_computer_and_stacked_on_a_phone(page, network):
    fill_search(page, one_way=False)
    page.get_by_label("Return date").fill(BACK.isoformat())
    page.get_by_role("button", name="Search sailings").click()
    page.wait_for_url("**/sailings/search?**")

    outbound = page.get_by_role("region", name="Outbound Tunis → Marseille")
    inbound = page.get_by_role("region", name="Return Marseille → Tunis")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert outbound.bounding_box()["y"] == inbound.bounding_box()["y"]
    assert inbound.locator(".stop-time").first.inner_text() == "11:45"

    page.set_viewport_size({"width": 390, "height": 844})
    assert inbound.bounding_box()["y"] > outbound.bounding_box()["y"] + outbound.bounding_box()["height"]


def test_a_bad_search_shows_what_to_fix_next_to_the_field(page, network):
    fill_search(page, adults="0", children="1")
    page.get_by_role("button", name="Search sailings").click()

    page.wait_for_url("**/sailings/search?**")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your search"
    error = page.locator("#id_adults_error")
    assert error.inner_text() == "Children and infants must travel with an adult or a senior."
    assert page.get_by_label("Adult (12–64)").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Child (4–11)").input_value() == "1", "what the traveller typed is kept"


def test_the_return_date_is_asked_only_for_a_return_trip(page, network):
    page.goto("/")
    return_date = page.get_by_label("Return date")
    assert return_date.is_visible()

    page.get_by_label("One way").check()

    assert not return_date.is_visible()


def test_returns_that_leave_before_the_chosen_outbound_arrives_are_greyed_out_and_cannot_be_chosen(page, network):
    operator = Operator.objects.get(code="CTN")
    back_route = Route.objects.get(operator=operator, origin__code="FRMRS")
    next_day = DAY + dt.timedelta(days=1)
    early, late = (
        sailing_factory(route=back_route, departs_in=departs - timezone.now(), hours=21)
        for departs in (
            dt.datetime.combine(next_day, dt.time(8, 0), tzinfo=back_route.origin.tz),
            dt.datetime.combine(next_day, dt.time(22, 0), tzinfo=back_route.origin.tz),
        )
    )
    query = {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), "return_date": next_day.isoformat()}
    page.goto(f"/sailings/search?{urlencode(query)}")
    early_pick = page.locator(f'input[name="return"][value="{early.pk}:standard"]')
    early_pick.check(force=True)  # chosen first, before any outbound

    page.get_by_role("region", name="Outbound Tunis → Marseille").locator(".pick").first.click()

    early_card = page.locator(".sailing-card", has=early_pick)
    assert early_pick.is_disabled()
    assert not early_pick.is_checked(), "a return that can no longer follow is let go"
    assert "sailing-card--cannot-follow" in early_card.get_attribute("class")
    assert "Leaves before your outbound arrives" in early_card.inner_text()
    assert page.get_by_role("button", name="Continue").is_disabled()
    late_pick = page.locator(f'input[name="return"][value="{late.pk}:standard"]')
    assert late_pick.is_enabled()
    page.locator(".fare", has=late_pick).locator(".pick").click()
    assert page.get_by_role("button", name="Continue").is_enabled()


def test_the_fare_strip_takes_the_traveller_to_a_cheaper_day_in_one_click(page, network):
    """Two days after DAY, a sailing sold at a winter season's lower price."""
    route = Route.objects.get(origin__code="TNTUN")
    cheaper_day = DAY + dt.timedelta(days=2)
    departs = dt.datetime.combine(cheaper_day, dt.time(10), tzinfo=route.origin.tz)
    sailing_factory(route=route, vessel=VesselFactory(operator=route.operator), departs_in=departs - timezone.now())
    season = FareFactory(route=route, name="Winter", valid_from=cheaper_day, valid_to=cheaper_day)
    PassengerFare.objects.filter(fare=season, passenger_type=PassengerType.ADULT).update(amount_minor=6000)
    page.goto(f"/sailings/search?{urlencode({'from': 'TNTUN', 'to': 'FRMRS', 'date': DAY.isoformat(), 'adults': 2})}")

    strip = page.get_by_role("navigation", name="Outbound: prices on nearby days")
    chosen = strip.locator("[aria-current=date]")
    assert chosen.locator(".fare-day-price").text_content() == "€170.00"
    cheaper = strip.locator(f"[data-date='{cheaper_day.isoformat()}']")
    assert cheaper.locator(".fare-day-price").text_content() == "€102.00 (lowest price)"  # 2 × 60.00 in Basic
    cheaper.click()

    page.wait_for_url(f"**date={cheaper_day.isoformat()}**")
    card = page.locator(".sailing-card")
    assert card.count() == 1
    assert card.locator(".price-amount").first.inner_text() == "€102.00"
    assert (
        page.get_by_role("navigation", name="Outbound: prices on nearby days")
        .locator("[aria-current=date]")
        .get_attribute("data-date")
        == cheaper_day.isoformat()
    )
