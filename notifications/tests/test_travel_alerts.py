"""Travel alerts: set on the website or the API, confirmed by link, checked by beat in batches on the real search
(PostgreSQL, Redis), e-mailed once per change through the outbox, stopped by the link in each e-mail."""

import datetime as dt
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings.tests.test_change_races import at_once
from ferries.choices import PassengerType
from ferries.models import PassengerFare
from ferries.party import Party
from ferries.services import capacity_hold, capacity_release, fares_changed
from ferries.tests.factories import VesselFactory, sailing_factory
from kernel.throttling import forget_outage
from notifications import travel_alerts
from notifications.models import Email, TravelAlert
from notifications.rendering import build_message
from notifications.services import email_send
from notifications.tests.test_templates import strict_templates

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/alerts"
NEW = reverse("travel_alert_new")


@pytest.fixture
def full(tunis_marseille):
    """A sailing of 4 places, all held by a group."""
    sailing = sailing_factory(route=tunis_marseille, vessel=VesselFactory(passenger_capacity=4))
    hold = capacity_hold(sailing=sailing, party=Party(adults=4), minutes=60)
    return sailing, hold


@pytest.fixture
def rates(settings):
    forget_outage()

    def set_rates(**given: str) -> None:
        everything = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "travel_alert": "1000/hour", **given}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": everything}

    set_rates()
    yield set_rates
    forget_outage()


def alert_emails(kind=Email.Kind.TRAVEL_ALERT) -> list[Email]:
    return list(Email.objects.filter(kind=kind).order_by("pk"))


def live_availability_alert(sailing, email="amira@example.com", adults=2) -> TravelAlert:
    request = travel_alerts.parse_alert_request(
        {"kind": "availability", "sailing_id": sailing.pk, "adults": adults, "email": email}
    )
    return travel_alerts.alert_create(request=request, verified=True)


def check_later(minutes: int = 6) -> int:
    """A check as beat runs it, once the alerts checked before are due again."""
    return travel_alerts.alerts_check(now=timezone.now() + dt.timedelta(minutes=minutes))


def set_adult_price(route, amount_minor: int, django_capture_on_commit_callbacks) -> None:
    """Staff change the fare; the route's cached searches are dropped as the admin drops them."""
    PassengerFare.objects.filter(fare__route=route, passenger_type=PassengerType.ADULT).update(
        amount_minor=amount_minor
    )
    with django_capture_on_commit_callbacks(execute=True):
        fares_changed(route=route)


# --- the website ---------------------------------------------------------------------------------------------------


def test_a_guest_asks_on_a_full_sailing_confirms_by_link_and_hears_once_when_places_free_up(
    client, full, rates, mailoutbox, django_capture_on_commit_callbacks
):
    sailing, group = full
    search = {"from": "TNTUN", "to": "FRMRS", "adults": 2, "date": sailing.local_day.isoformat(), "trip": "one_way"}
    results = client.get(reverse("sailing_results"), search)
    link = re.search(r'href="([^"]*/alerts/new\?kind=availability[^"]*)"', results.content.decode()).group(1)
    page = client.get(link.replace("&amp;", "&"))
    assert page.status_code == 200
    assert "Tell me if places free up" in page.content.decode()

    set_it = client.post(link.replace("&amp;", "&"), {"email": "amira@example.com"})

    assert set_it.status_code == 200
    assert "We have sent a link to amira@example.com" in set_it.content.decode()
    alert = TravelAlert.objects.get()
    assert (alert.kind, alert.state, alert.confirmed_at, alert.query["party"]["adults"]) == (
        "availability", "sold_out", None, 2
    )  # fmt: skip
    assert check_later() == 0  # not confirmed: not checked
    confirmation = alert_emails(Email.Kind.TRAVEL_ALERT_CONFIRM)[0]
    email_send(email_id=confirmation.pk)
    confirm_link = re.search(r"https?://\S+/alerts/confirm/\S+", mailoutbox[-1].body).group(0)
    path = urlsplit(confirm_link).path
    assert client.get(path).status_code == 200  # a page with a button: opening the link confirms nothing
    assert TravelAlert.objects.get().confirmed_at is None
    client.post(path)
    assert TravelAlert.objects.get().confirmed_at is not None

    assert check_later() == 0  # still full
    with django_capture_on_commit_callbacks(execute=True):
        capacity_release(hold_ref=group.ref)
    assert check_later(12) == 1
    assert check_later(18) == 0  # told once for this change
    email = alert_emails()[0]
    email_send(email_id=email.pk)
    message = mailoutbox[-1]
    assert message.subject.startswith("Places free: ")
    assert "Places have freed up for your party" in message.body
    assert f"date={sailing.local_day.isoformat()}" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_price_alert_tells_each_fall_to_or_under_the_limit_once(
    client, tunis_marseille, rates, django_capture_on_commit_callbacks, mailoutbox
):
    sailing = sailing_factory(route=tunis_marseille)
    params = {"kind": "price", "from": "TNTUN", "to": "FRMRS", "date": sailing.local_day.isoformat(), "adults": 1}
    page = client.get(NEW, params)
    assert "Today's lowest price for your party: €85.00." in unescape(page.content.decode())  # in Basic
    user = User.objects.create_user("amira", email="amira@example.com", password="a long pass phrase")
    EmailAddress.objects.create(user=user, email="amira@example.com", verified=True, primary=True)
    client.force_login(user)

    set_it = client.post(f"{NEW}?kind=price&from=TNTUN&to=FRMRS&date={params['date']}&adults=1", {
        "email": "amira@example.com", "below": "80"})  # fmt: skip

    assert "Your alert is set" in set_it.content.decode()  # a verified address of the signed-in traveller
    alert = TravelAlert.objects.get()
    assert (alert.below_minor, alert.currency, alert.state, alert.owner) == (8000, "EUR", "above", user)
    observed = []
    for price in (9500, 9000, 9000, 8000, 9500, 9400):  # adults' Standard fare; Basic is 85 % of it
        set_adult_price(tunis_marseille, price, django_capture_on_commit_callbacks)
        observed.append(check_later(6 * (len(observed) + 1)))
    assert observed == [0, 1, 0, 1, 0, 1]
    told = [email.details["price"]["amount_minor"] for email in alert_emails()]
    assert told == [7650, 6800, 7990]
    assert [email.key for email in alert_emails()] == [f"travel-alert:{alert.pk}:{n}" for n in (1, 2, 3)]
    email_send(email_id=alert_emails()[0].pk)
    assert "now costs €76.50 for your party — your limit was €80.00" in mailoutbox[-1].body


def test_the_stop_link_stops_it_from_the_page_or_a_mail_programs_one_click(full, rates):
    sailing, _group = full
    first, second = live_availability_alert(sailing), live_availability_alert(sailing, email="sami@example.com")
    strict = Client(enforce_csrf_checks=True)

    page = strict.get(urlsplit(travel_alerts.stop_url(first.pk)).path)
    assert page.status_code == 200
    assert "Stop this alert?" in page.content.decode()
    strict.post(urlsplit(travel_alerts.stop_url(first.pk)).path)
    strict.post(urlsplit(travel_alerts.stop_url(second.pk)).path, {"List-Unsubscribe": "One-Click"})
    forged = strict.get(reverse("travel_alert_stop", kwargs={"token": "1:forged"}))

    assert TravelAlert.objects.filter(stopped_at__isnull=False).count() == 2
    assert forged.status_code == 404
    assert check_later() == 0


def test_a_link_that_names_nothing_sellable_or_a_bad_address_sets_nothing(client, tunis_marseille, rates):
    sailing = sailing_factory(route=tunis_marseille)
    gone = client.get(NEW, {"kind": "availability", "sailing": 999999})
    room = client.post(f"{NEW}?kind=availability&sailing={sailing.pk}", {"email": "amira@example.com"})
    bad_address = client.post(f"{NEW}?kind=price&from=TNTUN&to=FRMRS&date={sailing.local_day}",
                              {"email": "not an address", "below": "eighty"})  # fmt: skip

    assert gone.status_code == 400
    assert "No such sailing." in gone.content.decode()
    assert room.status_code == 400
    assert "There is room on this sailing for your party: you can book it now." in room.content.decode()
    assert bad_address.status_code == 400
    body = bad_address.content.decode()
    assert "Enter a valid e-mail address." in body
    assert "Enter an amount such as 80 or 79.50." in body
    assert not TravelAlert.objects.exists()
    assert not Email.objects.exists()


# --- the API -------------------------------------------------------------------------------------------------------


def test_the_api_sets_a_guests_alert_to_confirm_and_a_signed_in_travellers_at_once(full, rates):
    sailing, _group = full
    api = APIClient()
    user = User.objects.create_user("amira", email="amira@example.com", password="a long pass phrase")
    EmailAddress.objects.create(user=user, email="amira@example.com", verified=True, primary=True)

    guest = api.post(ALERTS, {"kind": "availability", "sailing_id": sailing.pk, "email": "sami@example.com"},
                     format="json")  # fmt: skip
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    mine = api.post(ALERTS, {"kind": "availability", "sailing_id": sailing.pk, "adults": "2"}, format="json")
    again = api.post(ALERTS, {"kind": "availability", "sailing_id": sailing.pk, "adults": "2"}, format="json")
    listed = api.get(ALERTS)
    stopped = api.delete(f"{ALERTS}/{mine.json()['id']}")
    not_mine = api.delete(f"{ALERTS}/{guest.json()['id']}")

    assert guest.status_code == mine.status_code == again.status_code == 201
    assert guest.json()["status"] == "awaiting_confirmation"
    assert (mine.json()["status"], mine.json()["email"]) == ("active", "amira@example.com")
    assert again.json()["id"] == mine.json()["id"]
    assert [alert["id"] for alert in listed.json()["results"]] == [mine.json()["id"]]
    assert (stopped.status_code, not_mine.status_code) == (204, 404)
    assert TravelAlert.objects.get(pk=mine.json()["id"]).stopped_at is not None
    assert TravelAlert.objects.get(pk=guest.json()["id"]).stopped_at is None


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"kind", "email"}),
        ({"kind": "availability", "email": "a@example.com"}, {"sailing_id"}),
        (
            {"kind": "price", "email": "a@example.com", "from": "TNTUN", "to": "TNTUN", "date": "2020-01-01"},
            {"to", "date", "below"},
        ),
        (
            {
                "kind": "price",
                "email": "a@",
                "from": "TNTUN",
                "to": "FRMRS",
                "date": "tomorrow",
                "below": {"amount_minor": -5, "currency": "eur"},
            },
            {"email", "date", "below.amount_minor", "below.currency"},
        ),
        ({"kind": "weather", "email": "a@example.com"}, {"kind"}),
    ],
)
def test_the_api_names_every_field_in_error_and_sets_nothing(tunis_marseille, rates, body, errors):
    answer = APIClient().post(ALERTS, body, format="json")

    assert answer.status_code == 400
    assert set(answer.json()) == errors
    assert not TravelAlert.objects.exists()


def test_setting_alerts_is_limited_per_client(tunis_marseille, rates):
    rates(travel_alert="2/hour")
    sailing = sailing_factory(route=tunis_marseille)
    body = {"kind": "price", "from": "TNTUN", "to": "FRMRS", "date": sailing.local_day.isoformat(),
            "below": {"amount_minor": 5000, "currency": "EUR"}}  # fmt: skip
    answers = [APIClient().post(ALERTS, body | {"email": f"t{n}@example.com"}, format="json") for n in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert TravelAlert.objects.count() == 2


# --- the checks ----------------------------------------------------------------------------------------------------


def test_checks_take_batches_oldest_first_ask_each_search_once_and_skip_alerts_past_their_day(full):
    sailing, _group = full
    alerts = [live_availability_alert(sailing, email=f"t{n}@example.com") for n in range(3)]
    TravelAlert.objects.filter(pk=alerts[2].pk).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    later = timezone.now() + dt.timedelta(minutes=6)

    with CaptureQueriesContext(connection) as first:
        travel_alerts.alerts_check(now=later, limit=1)
    travel_alerts.alerts_check(now=later, limit=5)

    checked = dict(TravelAlert.objects.values_list("pk", "checked_at"))
    assert checked[alerts[0].pk] == checked[alerts[1].pk] == later
    assert checked[alerts[2].pk] is None  # its sailing has left: never checked again
    assert sum("notifications_travelalert" in query["sql"] for query in first.captured_queries) <= 4


def test_a_search_never_reads_the_alerts(client, full):
    sailing, _group = full
    live_availability_alert(sailing)

    with CaptureQueriesContext(connection) as search:
        client.get(reverse("sailing_results"), {"from": "TNTUN", "to": "FRMRS", "date": sailing.local_day.isoformat()})

    assert not [query for query in search.captured_queries if "travelalert" in query["sql"]]


@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_tell_a_change_once(full):
    sailing, group = full
    live_availability_alert(sailing)
    capacity_release(hold_ref=group.ref)
    told = at_once(check_later, check_later)

    assert told == {0: 1, 1: 1}
    assert len(alert_emails()) == 1


@pytest.mark.parametrize(
    ("language", "subjects"),
    [
        ("en", ["Confirm your travel alert: Tunis → Marseille", "Places free: Tunis → Marseille, {day}"]),
        ("fr", ["Confirmez votre alerte voyage : Tunis → Marseille", "Places libérées : Tunis → Marseille, {day}"]),
    ],
)
def test_both_e_mails_render_in_the_alerts_language_with_nothing_missing(
    full, language, subjects, django_capture_on_commit_callbacks
):
    sailing, group = full
    request = travel_alerts.parse_alert_request({"kind": "availability", "sailing_id": sailing.pk, "email": "a@b.fr"})
    alert = travel_alerts.alert_create(request=request, language=language)
    travel_alerts.alert_confirm(alert=alert)
    with django_capture_on_commit_callbacks(execute=True):
        capacity_release(hold_ref=group.ref)
    assert check_later() == 1

    with strict_templates():
        rendered = [build_message(email) for email in Email.objects.order_by("pk")]

    with translation.override(language):
        day = date_format(sailing.local_day, "j F")
    assert [subject for _message, subject, _text, _html in rendered] == [s.format(day=day) for s in subjects]
    for _message, _subject, text, html in rendered:
        assert "@@MISSING" not in text + html
        assert "&#x27;" not in text
    assert "/alerts/confirm/" in rendered[0][2]
    assert "/alerts/stop/" in rendered[1][2]
    assert "/alerts/stop/" in rendered[1][3]
