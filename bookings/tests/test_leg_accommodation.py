"""Accommodation chosen per leg: deck passage out and a cabin back, each leg holding and pricing its own, kept by
changes that do not touch it, shown per leg in the API and the manifest."""

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.flows import changing
from bookings.manifests import sailing_manifest
from bookings.models import Booking
from bookings.tests.factories import request_data
from bookings.tests.test_changes import confirmed, quote
from bookings.tests.test_website import details, details_url
from ferries.choices import Resource
from ferries.models import SailingInventory


def taken(sailing, resource) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=resource).taken


@pytest.mark.django_db
def test_a_return_books_deck_passage_out_and_a_cabin_back(trip):
    out, back = trip["out"], trip["back"]

    made = APIClient().post("/api/v1/bookings", request_data(out, back, return_accommodation="inside_2"), format="json")

    assert made.status_code == 201, made.json()
    legs = made.json()["legs"]
    assert [leg["accommodation"] for leg in legs] == ["deck", "inside_2"]
    assert [line["code"] for line in legs[1]["price_lines"]] == ["adult", "accommodation:inside_2"]
    assert [line["code"] for line in legs[0]["price_lines"]] == ["adult", "accommodation:deck"]
    assert (taken(out, Resource.INSIDE_2), taken(back, Resource.INSIDE_2)) == (0, 1)
    assert legs[1]["price"]["amount_minor"] == legs[0]["price"]["amount_minor"] + 8000


@pytest.mark.django_db
def test_a_leg_accommodation_that_is_not_one_is_refused_naming_the_leg_and_nothing_is_held(trip):
    data = request_data(trip["out"], trip["back"], return_accommodation="penthouse")

    answer = APIClient().post("/api/v1/bookings", data, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["return_accommodation"]
    assert not Booking.objects.exists()
    assert taken(trip["back"], Resource.PASSENGERS) == 0


@pytest.mark.django_db
def test_a_change_of_the_outbound_keeps_the_cabin_chosen_for_the_return(fake_stripe, trip):
    booking = confirmed(fake_stripe, trip["out"], trip["back"], outbound_fare_family="flex",
                        return_accommodation="inside_2")  # fmt: skip

    change = quote(booking, {"outbound_sailing_id": trip["later_out"].pk})
    changing.change_confirm(change=change)

    assert [leg["direction"] for leg in change.new_legs] == ["outbound"]
    assert [(leg.sailing_id, leg.on_board) for leg in booking.legs.all()] == [
        (trip["later_out"].pk, "deck"), (trip["back"].pk, "inside_2")
    ]  # fmt: skip
    assert taken(trip["back"], Resource.INSIDE_2) == 1


@pytest.mark.django_db
def test_the_manifest_of_each_sailing_shows_the_accommodation_of_its_leg(fake_stripe, trip):
    confirmed(fake_stripe, trip["out"], trip["back"], return_accommodation="inside_2")

    out, back = (sailing_manifest(sailing_id=trip[name].pk) for name in ("out", "back"))

    assert [p.accommodation for p in out.passengers] == ["deck"]
    assert [p.accommodation for p in back.passengers] == ["inside_2"]
    assert (out.cabins, back.cabins) == ({}, {"Inside cabin, 2 berths": 1})


@pytest.mark.django_db
def test_the_website_books_a_cabin_on_the_return_alone(client, trip, unlimited_forms):
    url = details_url(trip["out"], trip["back"])

    form = client.get(url)
    held = client.post(url, details(return_accommodation="inside_2"))

    assert 'name="return_accommodation"' in form.content.decode()
    assert held.status_code == 302
    booking = Booking.objects.get()
    assert [leg.on_board for leg in booking.legs.all()] == ["deck", "inside_2"]
    assert reverse("booking_detail", args=[booking.reference]) == held["Location"]


SEARCH = "/api/v1/sailings/search"


def return_search(trip, **extra) -> dict:
    out, back = trip["out"], trip["back"]
    return {"from": "TNTUN", "to": "FRMRS", "date": out.local_day.isoformat(),
            "return_date": back.local_day.isoformat()} | extra  # fmt: skip


@pytest.mark.django_db
def test_a_search_prices_the_return_in_its_own_accommodation(trip):
    found = APIClient().get(SEARCH, return_search(trip, return_accommodation="inside_2")).json()

    out = next(row for row in found["outbound"] if row["sailing_id"] == trip["out"].pk)
    back = next(row for row in found["return"] if row["sailing_id"] == trip["back"].pk)
    assert out["price"]["amount_minor"] == 10000
    assert back["price"]["amount_minor"] == 10000 + 8000


@pytest.mark.django_db
def test_a_return_accommodation_without_a_return_is_refused_naming_the_return_date(trip):
    params = return_search(trip, return_accommodation="inside_2")
    del params["return_date"]

    answer = APIClient().get(SEARCH, params)

    assert answer.status_code == 400
    assert list(answer.json()) == ["return_date"]


@pytest.mark.django_db
def test_a_cabin_chosen_on_the_return_card_is_carried_to_the_booking(client, trip, unlimited_forms):
    results = client.get(reverse("sailing_results"), return_search(trip, adults=1))
    html = results.content.decode()
    # The return's cabin option keeps the outbound on deck and puts the return in the cabin.
    link = re.search(r'href="([^"]*return_accommodation=inside_2[^"]*)"', html)
    assert link, "no cabin option on the return's cards"
    assert "accommodation=deck" in unescape(link.group(1))

    in_cabin = client.get(unescape(link.group(1)))
    assert '<input type="hidden" name="return_accommodation" value="inside_2">' in in_cabin.content.decode()
    chosen = {"outbound": trip["out"].pk, "return": trip["back"].pk, "adults": 1, "accommodation": "deck",
              "return_accommodation": "inside_2", "return_date": trip["back"].local_day.isoformat()}  # fmt: skip
    url = f"{reverse('booking_new')}?{urlencode(chosen)}"
    form = client.get(url)
    assert re.search(r'<option value="inside_2" selected>', form.content.decode())
    client.post(url, details(return_accommodation="inside_2"))
    assert [leg.on_board for leg in Booking.objects.get().legs.all()] == ["deck", "inside_2"]
