"""Trips of several legs (island hopping): up to four sailings, each leaving after the one before arrives, each with
its own operator, fare and extras — booked through the API and the website, and held all or nothing."""

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.flows import changing
from bookings.flows import disruption as disruption_flow
from bookings.flows.sailing_cancellation import booking_cancel_for_sailing
from bookings.models import Booking, BookingLeg, Disruption
from bookings.requests import parse_booking_request
from bookings.services import booking_create
from bookings.tests.factories import ADULT, confirmed_booking, request_data
from bookings.tests.test_changes import confirmed, quote
from bookings.tests.test_races import ATTEMPTS, storm
from bookings.tests.test_website import details, text_of
from ferries.choices import Resource
from ferries.models import CapacityHold, SailingInventory
from ferries.party import Party
from ferries.returns import Crossing, onward_problem
from ferries.services import capacity_hold, sailing_cancel
from ferries.tests.factories import OperatorFactory, PortFactory, RouteFactory, VesselFactory, sailing_factory


@pytest.fixture
def hops(local_operator):
    """Genoa → Palermo in 10 days, Palermo → Tunis 3 days later, Tunis → Marseille 3 days after that."""
    genoa, palermo = PortFactory(code="ITGOA", name="Genoa"), PortFactory(code="ITPMO", name="Palermo")
    tunis, marseille = PortFactory(code="TNTUN", name="Tunis"), PortFactory(code="FRMRS", name="Marseille")
    routes = [RouteFactory(operator=local_operator, origin=a, destination=b)
              for a, b in ((genoa, palermo), (palermo, tunis), (tunis, marseille))]  # fmt: skip
    return [
        sailing_factory(route=route, departs_in=dt.timedelta(days=days), hours=hours)
        for route, days, hours in zip(routes, (10, 13, 16), (20, 11, 21), strict=True)
    ]


def trip_data(legs, **extra) -> dict:
    data = request_data(legs[0], **extra)
    for number, sailing in enumerate(legs[1:], start=2):
        data[f"leg_{number}_sailing_id"] = sailing.pk
    return data


def taken(sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


def test_a_leg_leaves_after_the_one_before_arrives_from_any_port():
    departs = dt.datetime(2027, 7, 1, 19, tzinfo=dt.UTC)
    before = Crossing("ITGOA", "ITPMO", departs, departs + dt.timedelta(hours=20))

    def following(origin, hours_later):
        leaves = before.arrives_at + dt.timedelta(hours=hours_later)
        return Crossing(origin, "TNTUN", leaves, leaves + dt.timedelta(hours=11))

    assert onward_problem(previous=before, following=following("ITPMO", 2)) is None
    assert onward_problem(previous=before, following=following("ITTPS", 30)) is None  # overland to Trapani
    assert onward_problem(previous=before, following=following("ITPMO", -1)) == (
        "This leg must leave after the one before it arrives."
    )


@pytest.mark.django_db
def test_the_api_books_a_trip_of_three_legs_each_with_its_own_fare(hops):
    data = trip_data(hops, leg_3_fare_family="standard", leg_2_extras={"dinners": 1})

    made = APIClient().post("/api/v1/bookings", data, format="json")

    assert made.status_code == 201, made.json()
    legs = made.json()["legs"]
    assert [leg["direction"] for leg in legs] == ["outbound", "leg_2", "leg_3"]
    assert [(leg["from"]["code"], leg["to"]["code"]) for leg in legs] == [
        ("ITGOA", "ITPMO"), ("ITPMO", "TNTUN"), ("TNTUN", "FRMRS")
    ]  # fmt: skip
    assert any(line["code"] == "meal:dinner" for line in legs[1]["price_lines"])
    assert made.json()["total"]["amount_minor"] == sum(leg["price"]["amount_minor"] for leg in legs)
    assert [taken(sailing) for sailing in hops] == [1, 1, 1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"leg_2_sailing_id": None}, "leg_3_sailing_id", "Choose the leg before this one first."),
        ({"return_sailing_id": "last"}, "leg_2_sailing_id", "A trip of several legs has no return"),
        ({"leg_3_sailing_id": "first"}, "leg_3_sailing_id", "This sailing is already a leg of the trip."),
        ({"leg_2_sailing_id": "last", "leg_3_sailing_id": None}, "leg_2_sailing_id", ""),  # fine: Genoa, then Tunis
        ({"leg_2_sailing_id": "last", "leg_3_sailing_id": "second"}, "leg_3_sailing_id", "must leave after"),
        ({"leg_4_sailing_id": 999999}, "leg_4_sailing_id", "No such sailing."),
    ],
)
def test_a_trip_whose_legs_do_not_follow_each_other_is_refused_naming_the_leg(hops, change, field, message):
    named = {"first": hops[0].pk, "second": hops[1].pk, "last": hops[2].pk}
    data = trip_data(hops)
    for name, value in change.items():
        data[name] = named.get(value, value)

    answer = APIClient().post("/api/v1/bookings", {k: v for k, v in data.items() if v is not None}, format="json")

    if not message:
        assert answer.status_code == 201, answer.json()
        return
    assert answer.status_code == 400
    assert message in answer.json()[field][0]
    assert not Booking.objects.exists()
    assert [taken(sailing) for sailing in hops] == [0, 0, 0]


@pytest.mark.django_db(transaction=True)
def test_fifty_trips_of_three_legs_for_the_last_five_places_on_the_third_are_held_whole_or_not_at_all(hops):
    third = hops[2]
    SailingInventory.objects.filter(sailing=third).delete()
    last = sailing_factory(route=third.route, departs_at=third.departs_at + dt.timedelta(hours=1),
                           vessel=VesselFactory())  # fmt: skip
    capacity_hold(sailing=last, party=Party(adults=95), minutes=60)  # 5 places left on the third leg
    legs = [*hops[:2], last]

    outcomes = storm(trip_data(legs, passengers=[ADULT]))

    assert outcomes == {"held": 5, "Sold out": ATTEMPTS - 5}
    assert [taken(sailing) for sailing in legs] == [5, 5, 100]  # the refused ones kept no place on any leg
    assert Booking.objects.count() == 5
    assert all(booking.legs.count() == 3 for booking in Booking.objects.all())


@pytest.mark.django_db(transaction=True)
def test_a_remote_operators_leg_is_given_back_when_a_later_leg_is_sold_out(hops, operator_simulator, settings):
    simulator = operator_simulator()
    settings.OPERATOR_API_URLS = {"REM": simulator.url_for("REM")}
    remote = RouteFactory(operator=OperatorFactory(code="REM"), origin=hops[0].route.origin,
                          destination=hops[0].route.destination)  # fmt: skip
    first = sailing_factory(route=remote, departs_at=hops[0].departs_at)
    capacity_hold(sailing=hops[2], party=Party(adults=100), minutes=60)  # the last leg is full

    with pytest.raises(Exception, match="Sold out"):
        booking_create(request=parse_booking_request(trip_data([first, *hops[1:]])))

    assert simulator.calls["hold"] == 1
    assert simulator.calls["cancel"] == 1
    assert list(CapacityHold.objects.filter(sailing=first).values_list("status", flat=True)) == ["released"]
    assert (taken(first), taken(hops[1])) == (0, 0)
    assert not Booking.objects.exists()


@pytest.mark.django_db
def test_the_legs_of_a_trip_are_shown_in_the_order_they_sail(hops):
    booking = booking_create(request=parse_booking_request(trip_data(hops)))

    assert [leg.direction for leg in booking.legs.all()] == ["outbound", "leg_2", "leg_3"]
    assert [leg.get_direction_display() for leg in booking.legs.all()] == ["Outbound", "Second leg", "Third leg"]
    assert BookingLeg.objects.filter(booking=booking).count() == 3


def trip_search(hops, **changes) -> dict:
    """The search form of a trip of three legs: from Genoa, then on from where each leg arrives."""
    return {
        "trip": "legs", "from": "ITGOA", "to": "ITPMO", "date": hops[0].local_day.isoformat(),
        "leg_2_to": "TNTUN", "leg_2_date": hops[1].local_day.isoformat(),
        "leg_3_to": "FRMRS", "leg_3_date": hops[2].local_day.isoformat(), "adults": 1,
    } | changes  # fmt: skip


@pytest.mark.django_db
def test_the_website_searches_a_trip_of_three_legs_and_books_the_sailings_chosen(client, hops, unlimited_forms):
    results = client.get(reverse("sailing_results"), trip_search(hops))

    page = text_of(results)
    assert results.status_code == 200
    assert "Genoa → to Palermo → to Tunis → to Marseille" in page  # the arrows are read "to"
    assert "Second leg Palermo → Tunis" in page
    assert "Third leg Tunis → Marseille" in page
    html = results.content.decode()
    for name, sailing in (("outbound", hops[0]), ("leg_2", hops[1]), ("leg_3", hops[2])):
        assert f'name="{name}" value="{sailing.pk}:standard"' in html
    chosen = {"outbound": f"{hops[0].pk}:standard", "leg_2": f"{hops[1].pk}", "leg_3": f"{hops[2].pk}",
              "legs": 3, "adults": 1, "accommodation": "deck"}  # fmt: skip
    url = f"{reverse('booking_new')}?{urlencode(chosen)}"
    form = client.get(url)
    assert form.status_code == 200
    assert "Total, the whole trip" in text_of(form)
    held = client.post(url, details())
    booking = Booking.objects.get()
    assert held.status_code == 302
    assert [leg.sailing_id for leg in booking.legs.all()] == [sailing.pk for sailing in hops]
    detail = text_of(client.get(reverse("booking_detail", args=[booking.reference])))
    assert "Second leg" in detail
    assert "Third leg" in detail


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"leg_2_to": "", "leg_2_date": "", "leg_3_to": "", "leg_3_date": ""}, "leg_2_to", "Choose where the second"),
        ({"leg_3_date": "2020-01-01"}, "leg_3_date", ""),
        ({"leg_3_to": "ZZZZZ"}, "leg_3_to", ""),
    ],
)
def test_a_trip_search_names_the_leg_in_error(client, hops, changes, field, message):
    results = client.get(reverse("sailing_results"), trip_search(hops, **changes))

    assert results.status_code == 400
    assert f'id="id_{field}_error"' in results.content.decode()
    assert message in text_of(results)


@pytest.mark.django_db
def test_choosing_fewer_legs_than_the_trip_has_asks_for_every_leg(client, hops):
    chosen = {"outbound": hops[0].pk, "leg_2": hops[1].pk, "legs": 3, "adults": 1}

    answer = client.get(f"{reverse('booking_new')}?{urlencode(chosen)}")

    assert answer.status_code == 400
    assert "Choose a sailing for every leg of the trip" in text_of(answer)


@pytest.mark.django_db
def test_a_confirmed_trip_changes_its_second_leg_alone(fake_stripe, hops):
    later = sailing_factory(route=hops[1].route, departs_at=hops[1].departs_at + dt.timedelta(days=1))
    booking = confirmed(fake_stripe, hops[0], leg_2_sailing_id=hops[1].pk, leg_3_sailing_id=hops[2].pk,
                        leg_2_fare_family="flex")  # fmt: skip

    change = quote(booking, {"leg_2_sailing_id": later.pk})
    made, _payment = changing.change_confirm(change=change)

    assert [leg["direction"] for leg in change.new_legs] == ["leg_2"]
    assert made.status == "confirmed"
    assert [leg.sailing_id for leg in booking.legs.all()] == [hops[0].pk, later.pk, hops[2].pk]
    assert [taken(sailing) for sailing in (hops[1], later)] == [0, 1]


@pytest.mark.django_db
def test_a_change_that_would_sail_a_leg_before_the_one_before_arrives_is_refused_naming_it(fake_stripe, hops):
    too_late = sailing_factory(route=hops[1].route, departs_at=hops[2].departs_at + dt.timedelta(days=1))
    booking = confirmed(fake_stripe, hops[0], leg_2_sailing_id=hops[1].pk, leg_3_sailing_id=hops[2].pk,
                        leg_2_fare_family="flex")  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        quote(booking, {"leg_2_sailing_id": too_late.pk})

    assert refused.value.message_dict == {"leg_2_sailing_id": ["This leg must leave after the one before it arrives."]}
    assert not booking.changes.exists()


@pytest.mark.django_db
def test_a_trip_leg_searched_in_its_own_cabin_is_priced_in_it_and_the_others_stay_on_deck(client, hops):
    results = client.get(reverse("sailing_results"), trip_search(hops, leg_2_accommodation="inside_2"))

    html = results.content.decode()
    assert results.status_code == 200
    assert '<input type="hidden" name="leg_2_accommodation" value="inside_2">' in html
    prices = re.findall(r'name="(outbound|leg_2|leg_3)" value="\d+:standard"[^>]*data-amount="(\d+)"', html)
    assert dict(prices) == {"outbound": "10000", "leg_2": "18000", "leg_3": "10000"}


@pytest.mark.django_db
def test_a_cancelled_second_leg_is_re_routed_on_the_next_sailing_that_arrives_before_the_third_leaves(hops):
    booking = confirmed_booking(hops[0], leg_2_sailing_id=hops[1].pk, leg_3_sailing_id=hops[2].pk)
    too_slow = sailing_factory(route=hops[1].route, departs_at=hops[1].departs_at + dt.timedelta(hours=6), hours=90)
    next_day = sailing_factory(route=hops[1].route, departs_at=hops[1].departs_at + dt.timedelta(days=1))
    sailing_cancel(sailing_id=hops[1].pk, reason="engine failure")

    booking_cancel_for_sailing(booking_id=booking.pk)
    disruption = Disruption.objects.get(booking=booking)
    disruption_flow.disruption_choose(disruption_id=disruption.pk, choice="reroute", actor="traveller")

    assert disruption.direction == "leg_2"
    assert [leg.sailing_id for leg in booking.legs.all()] == [hops[0].pk, next_day.pk, hops[2].pk]
    assert [taken(sailing) for sailing in (hops[1], next_day, too_slow)] == [0, 1, 0]
