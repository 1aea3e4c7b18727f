import pytest

pytestmark = pytest.mark.browser


def test_home_page_opens_in_a_real_browser_with_its_layout(page):
    page.goto("/")

    assert page.title() == "Ferries across the Mediterranean · Maritime"
    assert page.get_by_role("heading", level=1).inner_text() == "Ferries across the Mediterranean"
    assert page.get_by_role("link", name="⚓ Maritime").is_visible()
    header_colour = page.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(11, 79, 108)", "the stylesheet is served and applied"
