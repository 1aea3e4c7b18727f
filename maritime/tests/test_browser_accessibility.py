"""The traveller's journey in every language of the site, in a real browser, on a computer and on a phone: every
page from the search to the confirmed booking is accessible (axe-core), fits a 390-px screen, shows no English in
another language (maritime.tests.languages), is laid out right to left in Arabic, and is kept as a screenshot
(artifacts/screenshots/<language>-<page>-<size>.png, for a reviewer to look at each language).

axe-core comes with the test package (axe-playwright-python) and is evaluated in the page by the test only: it is
never served to travellers, and the page keeps its Content-Security-Policy (evaluation from the test is not a script
of the page, so the policy is not loosened for it).
"""

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, VesselFactory, sailing_factory
from maritime.tests.languages import LANGUAGES, english_left

pytestmark = pytest.mark.browser

DAY = timezone.now().date() + dt.timedelta(days=10)
BACK = DAY + dt.timedelta(days=7)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# What the journey may not have: violations a screen-reader or low-vision traveller cannot get past.
BLOCKING = {"serious", "critical"}
AXE = Axe()
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Every piece of text a traveller meets on the page: text (hidden only visually too, as a screen reader reads it),
# the options of lists, and the words given to controls (labels, placeholders, button values, images' text).
SHOWN_TEXT = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (!parent || parent.closest("script, style, template, [hidden], [aria-hidden=true]")) continue;
    if (parent.tagName !== "OPTION" && !parent.checkVisibility({ visibilityProperty: true })) continue;
    texts.push(walker.currentNode.textContent);
  }
  for (const element of document.querySelectorAll("[aria-label], [placeholder], [title], [alt], input[value]")) {
    for (const name of ["aria-label", "placeholder", "title", "alt"]) {
      if (element.hasAttribute(name)) texts.push(element.getAttribute(name));
    }
    if (["submit", "button"].includes(element.type)) texts.push(element.value);
  }
  return texts.filter((text) => text.trim());
}"""


@pytest.fixture
def network(transactional_db):
    """Tunis ⇄ Marseille, one sailing each way, arriving the next day (the date shown next to the arrival)."""
    operator = OperatorFactory(code="CTN", name="Compagnie Tunisienne de Navigation")
    tunis, marseille = PortFactory(code="TNTUN"), PortFactory(code="FRMRS")
    for origin, destination, day, time in ((tunis, marseille, DAY, "19:00"), (marseille, tunis, BACK, "11:45")):
        route = RouteFactory(operator=operator, origin=origin, destination=destination)
        departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=origin.tz)
        vessel = VesselFactory(operator=operator, name="Tanit")
        sailing_factory(route=route, vessel=vessel, departs_in=departs - timezone.now(), hours=21)


class Audit:
    """Runs axe on each page at both sizes and keeps what it finds, so one run reports every page at once."""

    def __init__(self, page, language: str):
        self.page = page
        self.language = language
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        if self.language != "en":
            english = english_left(self.language, self.page.evaluate(SHOWN_TEXT))
            if english:
                self.problems.append(f"{name} ({self.language}): English left: {english}")
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(viewport)
            where = f"{name} ({self.language}, {size})"
            self.page.screenshot(path=SCREENSHOTS / f"{self.language}-{slug(name)}-{size}.png", full_page=True)
            results = AXE.run(self.page, options={"resultTypes": ["violations"]})
            for violation in results.response["violations"]:
                if violation["impact"] in BLOCKING:
                    self.problems.append(describe(where, violation))
            width = self.page.evaluate("document.documentElement.scrollWidth")
            if width > viewport["width"]:
                self.problems.append(f"{where}: the page is {width} px wide, wider than the screen")
        self.page.set_viewport_size(DESKTOP)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def describe(where: str, violation: dict) -> str:
    nodes = "\n".join(
        f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1].strip()}"
        for node in violation["nodes"]
    )
    return f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}\n{nodes}"


def search_url(**params) -> str:
    query = {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), "adults": "1", **params}
    return f"/sailings/search?{urlencode(query)}"


def hold_places(page) -> str:
    """On the passenger details page: fill in one adult and the contact, hold, and answer the reference."""
    fields = {
        "passengers-0-first_name": "Amira",
        "passengers-0-last_name": "Ben Salah",
        "passengers-0-date_of_birth": "1985-04-12",
        "passengers-0-document_number": "X1234567",
        "contact-name": "Amira Ben Salah",
        "contact-email": "amira@example.com",
        "contact-phone": "+216 71 000 000",
    }
    for name, value in fields.items():
        page.locator(f"#id_{name}").fill(value)
    page.locator("#id_passengers-0-nationality").select_option("TN")
    page.locator("#id_pets").select_option("1")
    page.locator(".booking-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))
    return page.locator("[data-reference]").inner_text()


def pay_with_demo_card(page) -> None:
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.locator("#expiry").fill("12/34")
    page.locator("#cvc").fill("123")
    page.locator(".demo-checkout button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/bookings/[A-Z2-9]{6}$"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_of_the_journey_in_every_language_is_translated_accessible_and_fits_a_phone(
    browser, live_server, network, eager_tasks, language
):
    context = browser.new_context(base_url=live_server.url, locale=language, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    blocked = []
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
    audit = Audit(page, language)
    try:
        page.goto("/")
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        audit.check("home")

        page.goto(search_url(trip="one_way"))
        audit.check("one-way results")

        page.locator("a.fare-strip-month").first.click()
        page.wait_for_url("**/sailings/calendar?**")
        audit.check("month of prices")

        page.goto(search_url(trip="one_way"))
        page.locator(".leg-alert a").first.click()
        page.wait_for_url("**/alerts/new?**")
        page.locator("form.alert-form button[type=submit]").click()  # nothing typed: the errors shown
        audit.check("price alert, with its errors")

        page.goto(search_url(return_date=BACK.isoformat()))
        page.locator(".pick").nth(0).click()
        page.locator(".pick").nth(1).click()
        audit.check("return results, both chosen")

        page.goto(search_url(trip="one_way"))
        page.locator(".select-button").first.click()
        page.wait_for_url("**/book?**")
        audit.check("passenger details")

        reference = hold_places(page)
        audit.check("held booking")

        page.locator("a.pay-button").click()
        page.wait_for_url(f"**/bookings/{reference}/pay")
        audit.check("pay with the demo card")

        page.goto(f"/bookings/{reference}/cancel")
        audit.check("cancel")

        page.goto("/manage")
        audit.check("manage my booking")

        assert page.goto("/no-such-page").status == 404
        audit.check("page not found")

        page.goto(f"/bookings/{reference}/pay")
        pay_with_demo_card(page)
        assert page.locator(".status-badge--confirmed").is_visible()
        audit.check("confirmed booking")
    finally:
        context.close()

    assert blocked == [], "the Content-Security-Policy blocked part of a page"
    assert audit.problems == [], "\n\n".join(audit.problems)
