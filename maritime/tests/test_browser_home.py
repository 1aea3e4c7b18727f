import pytest

pytestmark = pytest.mark.browser


def test_home_page_opens_in_a_real_browser_with_its_layout(page):
    page.goto("/")

    assert page.title() == "Ferries across the Mediterranean · Maritime"
    assert page.get_by_role("heading", level=1).inner_text() == "Ferries across the Mediterranean"
    assert page.get_by_role("link", name="⚓ Maritime").is_visible()
    header_colour = page.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(11, 79, 108)", "the stylesheet is served and applied"


def test_the_site_has_an_icon_and_browsers_asking_for_favicon_ico_get_it(page):
    page.goto("/")

    link = page.locator("link[rel=icon]")
    assert link.count() == 1
    icon = page.request.get(link.get_attribute("href"))
    assert icon.status == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert "<svg" in icon.text()
    legacy = page.request.get("/favicon.ico", max_redirects=0)
    assert legacy.status == 200, "pages without the link (the admin, the API) are asked /favicon.ico"
    assert legacy.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert legacy.body()[:4] == b"\x00\x00\x01\x00", "an ICO file"
