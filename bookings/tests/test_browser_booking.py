"""Booking in a real browser, as a traveller does: from the results to a held booking, then finding it again."""

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from bookings.models import Booking, PromoCode
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, VesselFactory, sailing_factory

pytestmark = pytest.mark.browser

DAY = timezone.now().date() + dt.timedelta(days=10)
BACK = DAY + dt.timedelta(days=7)


@pytest.fixture
def network(transactional_db):
    """Tunis ⇄ Marseille with one sailing each way: out on DAY at 19:00 Tunis time, back on BACK at 11:45."""
    operator = OperatorFactory(code="CTN", name="Compagnie Tunisienne de Navigation")
    tunis, marseille = PortFactory(code="TNTUN"), PortFactory(code="FRMRS")
    sailings = []
    for origin, destination, day, time in ((tunis, marseille, DAY, "19:00"), (marseille, tunis, BACK, "11:45")):
        route = RouteFactory(operator=operator, origin=origin, destination=destination)
        departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=origin.tz)
        vessel = VesselFactory(operator=operator, name="Tanit")
        sailings.append(sailing_factory(route=route, vessel=vessel, departs_in=departs - timezone.now(), hours=21))
    return sailings


def results_url(**params) -> str:
    query = {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), "adults": "1", **params}
    return f"/sailings/search?{urlencode(query)}"


def fill_passenger(page, heading: str, *, first: str, last: str, born: str, document: str) -> None:
    block = page.get_by_role("group", name=heading)
    block.get_by_label("First name").fill(first)
    block.get_by_label("Last name").fill(last)
    block.get_by_label("Date of birth").fill(born)
    block.get_by_label("Nationality").select_option(label="Tunisia")
    block.get_by_label("Passport or ID number").fill(document)


def fill_contact(page) -> None:
    contact = page.get_by_role("group", name="Contact")
    contact.get_by_label("Full name").fill("Amira Ben Salah")
    contact.get_by_label("E-mail").fill("amira@example.com")
    contact.get_by_label("Mobile phone").fill("+216 71 000 000")


def pay_with_good_card(page) -> None:
    """On the demo payment page: the card that pays, then back on the booking's page."""
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))


def test_a_traveller_books_and_pays_with_the_demo_card_as_on_the_embedded_default(page, network, eager_tasks):
    page.goto(results_url(trip="one_way"))
    page.get_by_role("button", name="Select 19:00 Compagnie Tunisienne de Navigation Flex").click()

    page.wait_for_url("**/book?**")
    assert page.get_by_role("heading", level=1).inner_text() == "Who is travelling?"
    assert "Flex · €125.00" in page.locator(".leg-summary").inner_text()
    fill_passenger(page, "Adult 1", first="Amira", last="Ben Salah", born="1985-04-12", document="X1234567")
    fill_contact(page)
    page.get_by_role("button", name="Hold my places").click()

    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.HELD
    assert (booking.legs.get().fare_family, booking.total_minor) == ("flex", 12500)
    assert page.locator("[data-reference]").inner_text() == booking.reference
    assert page.locator(".status-badge").inner_text() == "Held, awaiting payment"
    countdown = page.locator("[data-hold-seconds]")
    assert re.fullmatch(r"(19|20) min left", countdown.inner_text())

    page.get_by_role("link", name=re.compile("^Pay")).click()
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    assert page.locator(".message-error").inner_text() == "Your card was declined."

    pay_with_good_card(page)
    assert page.get_by_role("heading", name="Your booking is confirmed").is_visible()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert list(booking.events.values_list("to_status", flat=True)) == ["held", "paid", "confirmed"]


def test_a_return_trip_is_chosen_one_sailing_each_way_with_the_price_of_both(page, network):
    out, back = network
    page.goto(results_url(return_date=BACK.isoformat(), adults="2"))
    continue_button = page.get_by_role("button", name="Continue")
    assert continue_button.is_disabled()

    page.get_by_role("radio", name=re.compile("^Select Outbound 19:00 .* Basic$")).check()
    page.get_by_role("radio", name=re.compile("^Select Return 11:45 .* Flex$")).check()

    assert page.locator("[data-total]").inner_text() == "€420.00", "two adults: Basic €170.00, Flex €250.00"
    continue_button.click()
    page.wait_for_url("**/book?**")
    assert f"outbound={out.pk}%3Abasic" in page.url
    assert f"return={back.pk}%3Aflex" in page.url
    assert [page.get_by_role("group", name=name).count() for name in ("Adult 1", "Adult 2")] == [1, 1]


def test_a_fresh_browser_finds_the_booking_with_its_reference_and_e_mail(page, browser, live_server, network):
    page.goto(results_url(trip="one_way"))
    page.get_by_role("button", name="Select 19:00 Compagnie Tunisienne de Navigation Standard").click()
    page.wait_for_url("**/book?**")
    fill_passenger(page, "Adult 1", first="Amira", last="Ben Salah", born="1985-04-12", document="X1234567")
    fill_contact(page)
    page.get_by_role("button", name="Hold my places").click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    reference = page.locator("[data-reference]").inner_text()

    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    try:
        other = context.new_page()
        assert other.goto(f"/bookings/{reference}").status == 404
        other.goto("/")
        other.get_by_role("link", name="Manage my booking").click()
        other.get_by_label("Booking reference").fill(reference.lower())
        other.get_by_label("E-mail used for the booking").fill("Amira@Example.com")
        other.get_by_role("button", name="Find my booking").click()

        other.wait_for_url(f"**/bookings/{reference}")
        assert other.locator("[data-reference]").inner_text() == reference
        assert "Amira Ben Salah" in other.get_by_role("region", name="Passengers").inner_text()
    finally:
        context.close()


def test_going_back_and_sending_the_details_again_shows_the_same_booking(page, network):
    page.goto(results_url(trip="one_way"))
    page.get_by_role("button", name="Select 19:00 Compagnie Tunisienne de Navigation Standard").click()
    page.wait_for_url("**/book?**")
    fill_passenger(page, "Adult 1", first="Amira", last="Ben Salah", born="1985-04-12", document="X1234567")
    fill_contact(page)
    page.get_by_role("button", name="Hold my places").click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    first = page.url

    page.go_back()  # the browser fetches the page afresh: a cookie it varies on has changed since
    page.wait_for_url("**/book?**")
    fill_passenger(page, "Adult 1", first="Amira", last="Ben Salah", born="1985-04-12", document="X1234567")
    fill_contact(page)
    page.get_by_role("button", name="Hold my places").click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))

    assert page.url == first
    assert Booking.objects.count() == 1


def test_a_promo_code_typed_with_the_details_lowers_the_price_shown_and_charged(page, network, eager_tasks):
    PromoCode.objects.create(code="SUMMER10", kind=PromoCode.Kind.PERCENT, percent=10)
    page.goto(results_url(trip="one_way"))
    page.get_by_role("button", name="Select 19:00 Compagnie Tunisienne de Navigation Standard").click()
    page.wait_for_url("**/book?**")
    fill_passenger(page, "Adult 1", first="Amira", last="Ben Salah", born="1985-04-12", document="X1234567")
    fill_contact(page)

    page.get_by_text("Have a promo code?").click()  # the section opens
    page.get_by_label("Promo code").fill("summer1O")  # a letter O for a zero: refused, next to the field
    page.get_by_role("button", name="Hold my places").click()
    assert page.locator("#id_promo_code_error").inner_text() == "This promo code is not valid."
    assert not Booking.objects.exists()
    page.get_by_label("Promo code").fill("summer10")
    page.get_by_role("button", name="Hold my places").click()

    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    assert "Promo code SUMMER10" in page.locator("main").inner_text()
    assert "−€10.00" in page.locator("main").inner_text()
    page.get_by_role("link", name=re.compile("^Pay")).click()
    assert "€90.00" in page.get_by_role("button", name=re.compile("^Pay")).inner_text()
    pay_with_good_card(page)
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.payments.get().taken_minor == 9000


def test_an_open_jaw_return_is_searched_chosen_booked_and_paid(page, network, eager_tasks):
    out, _back = network
    genoa = RouteFactory(operator=out.route.operator, origin=out.route.destination, destination=PortFactory(
        code="ITGOA", name="Genoa"))  # fmt: skip
    departs = dt.datetime.combine(BACK, dt.time(20, 30), tzinfo=out.route.destination.tz)
    onward = sailing_factory(route=genoa, vessel=out.vessel, departs_in=departs - timezone.now(), hours=20)
    page.goto("/")
    page.get_by_label("From", exact=True).select_option(label="Tunis")
    page.get_by_label("To", exact=True).select_option(label="Marseille")
    page.get_by_label("Departure date").fill(DAY.isoformat())
    page.get_by_label("Return date").fill(BACK.isoformat())
    page.get_by_text("Return from or to another port").click()
    page.get_by_label("Return from").select_option(label="Marseille")
    page.get_by_label("Return to").select_option(label="Genoa")
    page.get_by_role("button", name="Search sailings").click()

    page.wait_for_url("**/sailings/search?**")
    assert "Marseille → Genoa" in page.locator("#leg-return").inner_text()
    page.get_by_role("radio", name=re.compile("^Select Outbound 19:00 .* Standard$")).check()
    page.get_by_role("radio", name=re.compile("^Select Return 20:30 .* Standard$")).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/book?**")
    fill_passenger(page, "Adult 1", first="Amira", last="Ben Salah", born="1985-04-12", document="X1234567")
    fill_contact(page)
    page.get_by_role("button", name="Hold my places").click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    page.get_by_role("link", name=re.compile("^Pay")).click()
    pay_with_good_card(page)

    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert [leg.sailing_id for leg in booking.legs.order_by("direction")] == [out.pk, onward.pk]
    assert "Marseille → Genoa" in page.locator("main").inner_text()
