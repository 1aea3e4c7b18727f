"""Open-jaw returns: out Marseille → Tunis, back Tunis → Genoa (or from another port) — searched, chosen and booked
on the website and through the API like a return, and held all-or-nothing like one."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.tests.factories import ADULT, request_data
from bookings.tests.test_races import ATTEMPTS, storm
from bookings.tests.test_website import details, details_url, text_of
from ferries.choices import Resource
from ferries.models import Port, SailingInventory
from ferries.party import Party
from ferries.returns import Crossing, return_problem
from ferries.services import capacity_hold
from ferries.tests.factories import PortFactory, RouteFactory, VesselFactory, sailing_factory

SEARCH = "/api/v1/sailings/search"


@pytest.fixture
def tunis_genoa(local_operator, tunis_marseille):
    return RouteFactory(operator=local_operator, origin=Port.objects.get(code="TNTUN"),
                        destination=PortFactory(code="ITGOA", name="Genoa"))  # fmt: skip


@pytest.fixture
def open_jaw(marseille_tunis, tunis_genoa):
    """Out Marseille → Tunis in 10 days; back Tunis → Genoa 4 days later."""
    return {
        "out": sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=10)),
        "back": sailing_factory(route=tunis_genoa, departs_in=dt.timedelta(days=14)),
    }


def taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


def test_the_rule_takes_a_return_from_or_to_another_port_but_never_the_same_way_nor_before_arrival():
    def crossing(origin, destination, day):
        departs = dt.datetime(2027, 7, day, 19, tzinfo=dt.UTC)
        return Crossing(origin, destination, departs, departs + dt.timedelta(hours=21))

    out = crossing("FRMRS", "TNTUN", 1)

    assert return_problem(outbound=out, inbound=crossing("TNTUN", "ITGOA", 5)) is None
    assert return_problem(outbound=out, inbound=crossing("TNBIZ", "FRMRS", 5)) is None  # overland to another port
    assert return_problem(outbound=out, inbound=crossing("FRMRS", "ITGOA", 5)) == (
        "The return cannot leave from where the outbound leaves."
    )
    assert return_problem(outbound=out, inbound=crossing("ITGOA", "TNTUN", 5)) == (
        "The return cannot sail to where the outbound arrives."
    )
    assert return_problem(outbound=out, inbound=crossing("TNTUN", "ITGOA", 1)) == (
        "The return must leave after the outbound arrives."
    )


@pytest.mark.django_db
def test_the_api_searches_and_books_an_open_jaw_return(open_jaw):
    api = APIClient()
    out, back = open_jaw["out"], open_jaw["back"]
    params = {"from": "FRMRS", "to": "TNTUN", "date": out.local_day.isoformat(),
              "return_date": back.local_day.isoformat(), "return_to": "ITGOA"}  # fmt: skip

    found = api.get(SEARCH, params)
    made = api.post("/api/v1/bookings", request_data(out, back), format="json")

    assert found.status_code == 200
    assert [row["sailing_id"] for row in found.json()["return"]] == [back.pk]
    assert (found.json()["return"][0]["from"]["code"], found.json()["return"][0]["to"]["code"]) == ("TNTUN", "ITGOA")
    assert made.status_code == 201, made.json()
    legs = made.json()["legs"]
    assert [(leg["from"]["code"], leg["to"]["code"]) for leg in legs] == [("FRMRS", "TNTUN"), ("TNTUN", "ITGOA")]
    assert made.json()["total"]["amount_minor"] == 20000
    assert (taken(out), taken(back)) == (1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"return_from": "ZZZZZ"}, "return_from"),  # not one of our ports
        ({"return_to": "TNTUN"}, "return_to"),  # back to where the outbound arrives
        ({"return_from": "FRMRS"}, "return_from"),  # from where the outbound leaves
        ({"return_date": None, "return_to": "ITGOA"}, "return_date"),
    ],
)
def test_a_search_names_an_open_jaw_return_that_cannot_be(open_jaw, extra, field):
    out, back = open_jaw["out"], open_jaw["back"]
    params = {"from": "FRMRS", "to": "TNTUN", "date": out.local_day.isoformat(),
              "return_date": back.local_day.isoformat()} | extra  # fmt: skip

    answer = APIClient().get(SEARCH, {name: value for name, value in params.items() if value is not None})

    assert answer.status_code == 400
    assert list(answer.json()) == [field]


@pytest.mark.django_db(transaction=True)
def test_fifty_open_jaw_returns_for_the_last_five_places_back_are_held_whole_or_not_at_all(
    marseille_tunis, tunis_genoa
):
    out = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=10))
    back = sailing_factory(route=tunis_genoa, departs_in=dt.timedelta(days=14), vessel=VesselFactory())
    capacity_hold(sailing=back, party=Party(adults=95), minutes=60)  # 5 places left on the way back

    outcomes = storm(request_data(out, back, passengers=[ADULT]))

    assert outcomes == {"held": 5, "Sold out": ATTEMPTS - 5}
    assert (taken(out), taken(back)) == (5, 100)  # the refused ones kept no place out either
    assert Booking.objects.count() == 5
    assert all(booking.legs.count() == 2 for booking in Booking.objects.all())


@pytest.mark.django_db
def test_the_website_shows_the_open_jaw_return_and_books_it(client, open_jaw, unlimited_forms):
    out, back = open_jaw["out"], open_jaw["back"]
    results = client.get(reverse("sailing_results"), {
        "from": "FRMRS", "to": "TNTUN", "date": out.local_day.isoformat(),
        "return_date": back.local_day.isoformat(), "return_to": "ITGOA",
    })  # fmt: skip

    page = text_of(results)
    assert "Return Tunis → Genoa" in page
    assert f'value="{back.pk}:standard"' in results.content.decode()
    form = client.get(details_url(out, back))
    assert form.status_code == 200
    held = client.post(details_url(out, back), details())
    booking = Booking.objects.get()
    assert held.status_code == 302
    assert [leg.sailing_id for leg in booking.legs.order_by("direction")] == [out.pk, back.pk]
