"""The sailings list in the admin, in a real browser, on a staff member's 1440 px wide screen."""

import datetime as dt

import pytest
from django.utils import timezone

from ferries.demo import seed_network

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_network(transactional_db):
    """Two days of the demo network from tomorrow: long port names, every operator and vessel, all still to sail
    whatever the time of day (the list opens on upcoming sailings; late in the day, today's have left)."""
    seed_network(seed=1, days=2, today=timezone.now().date() + dt.timedelta(days=1))


def test_the_sailing_list_fits_a_1440_px_screen_with_every_column(page, admin_user, demo_network):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/admin/login/?next=/admin/ferries/sailing/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/ferries/sailing/")

    table = page.locator("#result_list")
    assert table.locator("tbody tr").count() > 20
    headers = [" ".join(text.split()) for text in table.locator("thead th").all_inner_texts()]
    assert headers[-3:] == ["PASSENGERS", "LANE METRES", "CABINS"]
    scroller = page.locator("#changelist-form .results")
    right = table.bounding_box()["x"] + table.bounding_box()["width"]
    visible = scroller.bounding_box()["x"] + scroller.bounding_box()["width"]
    assert right <= visible <= 1440, "the last column is cut off"
    assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth"), "nothing hidden to scroll to"
