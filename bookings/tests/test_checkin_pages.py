"""The check-in page and the hand-helds' API: port agents only, the same verdicts and records as the services."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings.models import Boarding, TicketScan
from bookings.tests.conftest import PASSWORD
from bookings.tests.factories import ADULT, CHILD, confirmed_booking
from ferries.tests.factories import sailing_factory
from notifications.etickets import leg_code

pytestmark = pytest.mark.django_db
CAR = {"category": "car", "registration": "AB-123-CD", "length_cm": 450, "height_cm": 150}


@pytest.fixture
def agent_client(client, port_agent):
    client.force_login(port_agent)
    return client


def token_of(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


# --- the page -------------------------------------------------------------------------------------------------------


def test_the_check_in_pages_ask_to_sign_in_and_refuse_staff_who_are_not_port_agents(client, django_user_model, trip):
    url = reverse("quay_sailing", args=[trip["out"].pk])

    assert client.get(url).url == f"{reverse('quay_login')}?next={url}"
    client.force_login(django_user_model.objects.create_user("clerk", password=PASSWORD, is_staff=True))
    assert client.get(url).status_code == 403
    assert client.post(url, {"code": "ABCDEF"}).status_code == 403
    assert not TicketScan.objects.exists()


def test_a_port_agent_signs_in_and_lands_on_the_departures(client, port_agent):
    response = client.post(reverse("quay_login"), {"username": "quay", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("quay_sailings")


def test_sign_in_attempts_are_limited(client, port_agent):
    answers = [client.post(reverse("quay_login"), {"username": "quay", "password": "wrong"}).status_code
               for _ in range(11)]  # fmt: skip

    assert answers[:10] == [200] * 10
    assert answers[10] == 429


def test_the_departures_of_the_chosen_port_show_with_their_check_in_progress(agent_client, trip, tunis_marseille):
    soon = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(hours=5))
    confirmed_booking(soon, passengers=[ADULT, CHILD])

    page = agent_client.get(reverse("quay_sailings"), {"port": "TNTUN"}).content.decode()

    assert soon.ref in page
    assert "0 of 2 checked in" in page
    assert trip["out"].ref not in page  # in 10 days: not today's work
    assert soon.ref in agent_client.get(reverse("quay_sailings")).content.decode()  # the port is remembered


def test_a_scan_shows_the_party_and_the_agent_checks_in_then_boards_them(agent_client, trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD], vehicle=CAR)
    sailing_url = reverse("quay_sailing", args=[trip["out"].pk])

    response = agent_client.post(sailing_url, {"code": leg_code(booking.legs.get())})
    scan_url = response.url
    page = agent_client.get(scan_url).content.decode()
    assert "Boards" in page
    assert "Amira Ben Salah" in page
    assert "Youssef Ben Salah" in page
    assert "AB-123-CD" in page

    everyone = [str(pk) for pk in booking.passengers.values_list("pk", flat=True)]
    agent_client.post(scan_url, {"action": "check_in", "passenger": everyone, "vehicle": "1"})
    agent_client.post(scan_url, {"action": "board", "passenger": everyone[:1]})

    rows = Boarding.objects.filter(leg__booking=booking)
    assert rows.count() == 3
    assert rows.filter(boarded_at__isnull=False).count() == 1
    again = agent_client.get(agent_client.post(sailing_url, {"code": booking.reference}).url).content.decode()
    assert "Second scan" in again


def test_a_ticket_for_another_sailing_is_refused_loudly_with_the_sailing_it_is_for(agent_client, trip):
    booking = confirmed_booking(trip["out"], trip["back"])

    response = agent_client.post(reverse("quay_sailing", args=[trip["out"].pk]),
                                 {"code": leg_code(booking.legs.get(direction="return"))})  # fmt: skip
    page = agent_client.get(response.url).content.decode()

    assert "Does not board" in page
    assert "Not for this sailing." in page
    assert trip["back"].ref in page
    assert 'name="action"' not in page


def test_boarding_someone_not_checked_in_on_the_page_says_so_and_records_nothing(agent_client, trip):
    booking = confirmed_booking(trip["out"])
    scan_url = agent_client.post(reverse("quay_sailing", args=[trip["out"].pk]), {"code": booking.reference}).url

    page = agent_client.post(scan_url, {"action": "board", "passenger": [booking.passengers.get().pk]}, follow=True)

    assert "Check in first: Amira Ben Salah." in page.content.decode()
    assert not Boarding.objects.exists()


def test_an_empty_code_is_asked_for_again_and_records_nothing(agent_client, trip):
    page = agent_client.post(reverse("quay_sailing", args=[trip["out"].pk]), {"code": "  "}, follow=True)

    assert "Scan an e-ticket or type a booking reference." in page.content.decode()
    assert not TicketScan.objects.exists()


# --- the API --------------------------------------------------------------------------------------------------------


def test_the_check_in_api_wants_a_port_agents_token(django_user_model, trip):
    api = APIClient()
    body = {"sailing_id": trip["out"].pk, "code": "ABCDEF"}
    clerk = django_user_model.objects.create_user("clerk", password=PASSWORD, is_staff=True)

    assert api.post("/api/v1/checkin/scan", body, format="json").status_code == 401
    assert api.post("/api/v1/checkin/scan", body, format="json", **token_of(clerk)).status_code == 403
    assert not TicketScan.objects.exists()


def test_a_scan_through_the_api_checks_the_party_in_and_answers_it(port_agent, trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD], vehicle=CAR)
    body = {"sailing_id": trip["out"].pk, "code": leg_code(booking.legs.get())}

    answer = APIClient().post("/api/v1/checkin/scan", body, format="json", **token_of(port_agent)).json()

    assert (answer["outcome"], answer["boards"], answer["party"]["reference"]) == ("valid", True, booking.reference)
    assert [p["first_name"] for p in answer["party"]["passengers"]] == ["Amira", "Youssef"]
    assert all(p["checked_in_at"] and p["boarded_at"] is None for p in answer["party"]["passengers"])
    assert answer["party"]["vehicle"]["registration"] == "AB-123-CD"
    assert answer["party"]["vehicle"]["checked_in_at"]


def test_a_scan_that_does_not_board_answers_why_and_checks_nobody_in(port_agent, trip):
    booking = confirmed_booking(trip["out"], trip["back"])
    body = {"sailing_id": trip["out"].pk, "code": leg_code(booking.legs.get(direction="return"))}

    answer = APIClient().post("/api/v1/checkin/scan", body, format="json", **token_of(port_agent)).json()

    assert (answer["outcome"], answer["boards"], answer["party"]) == ("wrong_sailing", False, None)
    assert not Boarding.objects.exists()


def test_a_scan_with_check_in_off_only_reads(port_agent, trip):
    booking = confirmed_booking(trip["out"])
    body = {"sailing_id": trip["out"].pk, "code": booking.reference, "check_in": False}

    answer = APIClient().post("/api/v1/checkin/scan", body, format="json", **token_of(port_agent)).json()

    assert answer["outcome"] == "valid"
    assert answer["party"]["passengers"][0]["checked_in_at"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"code": "ABCDEF"}, "sailing_id"), ({"sailing_id": 1}, "code"), ({"sailing_id": "x", "code": "A"}, "sailing_id"),
     ({"sailing_id": 999999, "code": "ABCDEF"}, "sailing_id"),
     ({"sailing_id": 1, "code": "A", "check_in": "?"}, "check_in")],
)  # fmt: skip
def test_a_bad_scan_request_names_the_field_and_records_nothing(port_agent, trip, body, field):
    response = APIClient().post("/api/v1/checkin/scan", body, format="json", **token_of(port_agent))

    assert response.status_code == 400
    assert field in response.json()
    assert not TicketScan.objects.exists()


def test_boarding_through_the_api_after_check_in_and_refused_before(port_agent, trip):
    booking = confirmed_booking(trip["out"], passengers=[ADULT, CHILD])
    api, auth = APIClient(), token_of(port_agent)
    base = f"/api/v1/checkin/{booking.reference}/legs/outbound"
    adult = booking.passengers.first().pk

    refused = api.post(f"{base}/board", {}, format="json", **auth)
    api.post(f"{base}/check-in", {"passengers": [adult]}, format="json", **auth)
    boarded = api.post(f"{base}/board", {"passengers": [adult]}, format="json", **auth)

    assert refused.status_code == 409
    assert refused.json()["code"] == "not_checked_in"
    assert boarded.status_code == 200
    assert [bool(p["boarded_at"]) for p in boarded.json()["passengers"]] == [True, False]
    assert (
        api.post(f"/api/v1/checkin/{booking.reference}/legs/return/board", {}, format="json", **auth).status_code == 404
    )
    assert api.post(f"{base}/board", {"passengers": ["x"]}, format="json", **auth).status_code == 400


def test_the_agent_records_a_vehicle_measured_larger_and_sees_what_the_traveller_owes(agent_client, trip):
    booking = confirmed_booking(trip["out"], vehicle=CAR)
    scan_url = agent_client.post(reverse("quay_sailing", args=[trip["out"].pk]), {"code": booking.reference}).url

    shown = agent_client.get(scan_url).content.decode()
    done = agent_client.post(scan_url, {"action": "remeasure", "length_cm": "540", "height_cm": "150"}, follow=True)

    assert 'value="450"' in shown  # the form starts from the size booked
    page = done.content.decode()
    assert "Larger than booked: €50.00 to pay." in page
    assert "€50.00 to pay for the larger vehicle" in page


def test_a_measure_that_is_not_a_size_is_refused_on_its_field(agent_client, trip):
    booking = confirmed_booking(trip["out"], vehicle=CAR)
    scan_url = agent_client.post(reverse("quay_sailing", args=[trip["out"].pk]), {"code": booking.reference}).url

    response = agent_client.post(scan_url, {"action": "remeasure", "length_cm": "x", "height_cm": "9999"})

    assert response.status_code == 400
    assert set(response.context["measure_form"].errors) == {"length_cm", "height_cm"}
