"""Security checks across the whole site: forgery, who may open a booking, rate limits, personal data in the
logs, and the headers every page carries in production."""

import json
import logging
import os
import re
import secrets
import subprocess
import sys

import pytest
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from django.utils.regex_helper import normalize
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.views import APIView

from bookings.access import access_token
from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import ADULT, held_booking, request_data
from bookings.tests.test_website import details, details_url, sailing_at
from conftest import database_url_of_test_db
from kernel.csp import ADMIN
from maritime.celery import app as celery_app
from maritime.tests.hostile import database_state
from payments.models import Payment
from payments.tests.conftest import (
    card,
    card_form,
    fake_stripe,  # noqa: F401 (a fixture)
)

# --- forgery: every form refuses a POST without its CSRF token ---------------------------------------------

# Values for the parameters of the site's URL patterns, so that every pattern can be reached.
SAMPLES = {"app_label": "bookings", "object_id": "1", "content_type_id": "1", "url": "nowhere/"}


def concrete(pattern, samples: dict) -> str:
    """A path that `pattern` (a path() route or a re_path() regex) matches, with the sample parameters."""
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda group: samples.get(group[1], "1"), str(pattern))
    form, params = normalize(pattern.regex.pattern)[0]
    return form % {name: samples.get(name, "x") for name in params}


def every_url(samples: dict, resolver: URLResolver | None = None, prefix: str = "/"):
    """(path, view) for every pattern of the site, the admin's and Django's included."""
    for entry in (resolver or get_resolver()).url_patterns:
        path = prefix + concrete(entry.pattern, samples)
        if isinstance(entry, URLResolver):
            yield from every_url(samples, entry, path)
        else:
            assert isinstance(entry, URLPattern)
            yield path, entry.callback


def is_drf(view) -> bool:
    return isinstance(getattr(view, "cls", None), type) and issubclass(view.cls, APIView)


@pytest.fixture
def signed_in_staff(db):
    """A browser signed in as a superuser that has a booking in its session: every view could act for it."""
    booking = held_booking()
    user = User.objects.create_superuser("root", password="a long pass phrase")
    Booking.objects.filter(pk=booking.pk).update(owner=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    session = browser.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return browser, booking


def test_every_view_but_the_webhook_and_the_token_api_refuses_a_post_without_its_csrf_token(signed_in_staff):
    browser, booking = signed_in_staff
    urls = list(every_url(SAMPLES | {"reference": booking.reference, "intent_id": "pi_demo_0"}))
    # allauth's headless patterns that accounts/urls.py answers itself, in front of them (accounts/headless.py).
    guarded = {"/_allauth/app/v1/auth/password/reset", "/_allauth/app/v1/account/phone"}
    unreachable = [path for path, view in urls if resolve(path.split("?")[0]).func is not view and path not in guarded]
    assert {resolve(path).func.__module__ for path in guarded} == {"accounts.headless", "accounts.views"}
    before = database_state()

    refused = {path: browser.post(path).status_code for path, view in urls if not getattr(view, "csrf_exempt", False)}
    exempt = sorted(path for path, view in urls if getattr(view, "csrf_exempt", False))

    assert unreachable == [], "a URL pattern the samples do not reach: add to SAMPLES"
    assert len(refused) > 100, "the admin's forms are among them"
    assert {path: status for path, status in refused.items() if status != 403} == {}
    # allauth's headless API for the mobile app reads its `X-Session-Token` header, never a cookie: nothing a
    # browser sends by itself opens it.
    not_drf = [path for path in exempt if not is_drf(resolve(path).func)]
    # A travel alert's stop link: its signed token is the proof, and mail programs' one-click unsubscribe (RFC 8058)
    # posts without a form; stopping an alert is all it can do.
    assert [path for path in not_drf if not path.startswith("/_allauth/app/v1/")] == [
        "/alerts/stop/1",
        "/webhooks/stripe",
    ]
    assert "/_allauth/app/v1/auth/login" in not_drf
    assert database_state() == before
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD


@pytest.mark.django_db
def test_the_api_reads_tokens_only_never_a_website_session():
    api_views = {path: view for path, view in every_url(SAMPLES) if is_drf(view) and path.startswith("/api/v1/")}

    assert len(api_views) == 28
    for path, view in api_views.items():
        authenticators = view.cls().get_authenticators()
        assert not any(isinstance(auth, SessionAuthentication) for auth in authenticators), path


def test_a_signed_in_website_session_neither_opens_nor_owns_anything_in_the_api(signed_in_staff, tunis_marseille):
    browser, booking = signed_in_staff
    reference = booking.reference

    made = browser.post("/api/v1/bookings", request_data(sailing_at(tunis_marseille)), content_type="application/json")

    assert made.status_code == 201
    assert Booking.objects.get(reference=made.json()["reference"]).owner is None, "booked as a guest"
    assert browser.get("/api/v1/bookings").status_code == 401
    assert browser.get(f"/api/v1/bookings/{reference}").status_code == 401
    assert browser.post(f"/api/v1/bookings/{reference}/cancel").status_code == 401
    assert browser.post(f"/api/v1/bookings/{reference}/payment").status_code == 401
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
    assert not Payment.objects.exists()


# --- a booking opens for its own credentials only ----------------------------------------------------------


@pytest.fixture
def two_travellers(db, eager_tasks):
    """Amira's booking (signed in, and with its token) and Sami's, each in a browser of its own."""
    amira, sami = User.objects.create_user("amira"), User.objects.create_user("sami")
    hers, his = held_booking(), held_booking()
    Booking.objects.filter(pk=hers.pk).update(owner=amira)
    Booking.objects.filter(pk=his.pk).update(owner=sami)
    return {"amira": amira, "sami": sami, "hers": hers, "his": his}


def api_strangers(t) -> dict:
    sami_token = Token.objects.create(user=t["sami"]).key
    return {
        "no credentials": {},
        "another booking's token": {"HTTP_X_BOOKING_TOKEN": access_token(t["his"])},
        "another user's token": {"HTTP_AUTHORIZATION": f"Token {sami_token}"},
        "both of someone else": {
            "HTTP_AUTHORIZATION": f"Token {sami_token}",
            "HTTP_X_BOOKING_TOKEN": access_token(t["his"]),
        },
        "a made-up booking token": {"HTTP_X_BOOKING_TOKEN": secrets.token_hex(20)},
    }


API_ENDPOINTS = [("get", "/api/v1/bookings/{}"), ("post", "/api/v1/bookings/{}/cancel")]
API_ENDPOINTS += [("post", "/api/v1/bookings/{}/payment")]


# Refused with 401 without a signed-in user (as the schema's `security` says), 404 to a signed-in user: both the
# same answer a reference that does not exist gets.
REFUSALS = {
    "no credentials": 401,
    "another booking's token": 401,
    "another user's token": 404,
    "both of someone else": 404,
    "a made-up booking token": 401,
}


@pytest.mark.parametrize(("method", "endpoint"), API_ENDPOINTS)
@pytest.mark.parametrize("who", list(REFUSALS))
def test_no_api_endpoint_opens_a_booking_to_someone_elses_credentials(two_travellers, method, endpoint, who):
    hers = two_travellers["hers"]
    client, credentials = APIClient(), api_strangers(two_travellers)[who]

    response = getattr(client, method)(endpoint.format(hers.reference), **credentials)
    missing = getattr(client, method)(endpoint.format("ZZZZZZ"), **credentials)

    assert response.status_code == REFUSALS[who]
    assert (response.status_code, response.json()) == (missing.status_code, missing.json())
    assert Booking.objects.get(pk=hers.pk).status == Booking.Status.HELD
    assert not Payment.objects.filter(booking=hers).exists()


def browser_of(user=None, *bookings) -> Client:
    browser = Client()
    if user:
        browser.force_login(user)
    session = browser.session
    session[BROWSER_SESSION_KEY] = [booking.reference for booking in bookings]
    session.save()
    return browser


WEBSITE_PAGES = [
    ("get", "/bookings/{}"),
    ("get", "/bookings/{}/cancel"),
    ("post", "/bookings/{}/cancel"),
    ("get", "/bookings/{}/pay"),
    ("post", "/bookings/{}/pay"),
    ("get", "/bookings/{}/pay/done"),
    ("get", "/bookings/{}/e-tickets.pdf"),
]


@pytest.mark.parametrize(("method", "page"), WEBSITE_PAGES)
@pytest.mark.parametrize("who", ["a new browser", "a browser with another booking", "another signed-in traveller"])
def test_no_booking_page_opens_to_another_browser_or_traveller(two_travellers, method, page, who):
    hers, his, sami = two_travellers["hers"], two_travellers["his"], two_travellers["sami"]
    Booking.objects.filter(pk=hers.pk).update(status=Booking.Status.CONFIRMED)  # so that its e-tickets exist
    browser = {
        "a new browser": Client(),
        "a browser with another booking": browser_of(None, his),
        "another signed-in traveller": browser_of(sami, his),
    }[who]

    response = getattr(browser, method)(page.format(hers.reference), {"card_number": "4242424242424242"})

    assert response.status_code == 404
    assert Booking.objects.get(pk=hers.pk).status == Booking.Status.CONFIRMED
    assert not Payment.objects.filter(booking=hers).exists()
    assert mail.outbox == []


def test_the_owner_opens_each_page_the_others_cannot(two_travellers):
    """The other side of the two tests above: the same pages do open for the booking's own browser."""
    hers, amira = two_travellers["hers"], two_travellers["amira"]
    browser = browser_of(amira)

    assert browser.get(f"/bookings/{hers.reference}").status_code == 200
    assert browser.get(f"/bookings/{hers.reference}/cancel").status_code == 200
    assert browser.get(f"/bookings/{hers.reference}/pay").status_code == 200
    api, token = APIClient(), Token.objects.create(user=amira).key
    assert api.get(f"/api/v1/bookings/{hers.reference}", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert api.get(f"/api/v1/bookings/{hers.reference}", HTTP_X_BOOKING_TOKEN=access_token(hers)).status_code == 200


# --- rate limits -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_booking_past_the_limit_is_refused_with_retry_after_and_books_nothing(settings, tunis_marseille):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "booking_create": "3/hour"},
    }
    data = request_data(sailing_at(tunis_marseille))
    api = APIClient()

    answers = [api.post("/api/v1/bookings", data, format="json") for _ in range(5)]

    assert [answer.status_code for answer in answers] == [201, 201, 201, 429, 429]
    for refused in answers[3:]:
        assert 0 < int(refused["Retry-After"]) <= 3600
        assert set(refused.json()) == {"detail"}
    assert Booking.objects.count() == 3


# --- no personal data in the logs ---------------------------------------------------------------------------

TRAVELLER = {
    "contact-name": "Zénobie Quarterdeck",
    "contact-email": "zenobie.quarterdeck@example.org",
    "contact-phone": "+216 98 765 432",
    "passengers-0-first_name": "Zénobie",
    "passengers-0-last_name": "Quarterdeck",
    "passengers-0-document_number": "ZQ9876543",
    "passengers-1-first_name": "Anatole",
    "passengers-1-last_name": "Xylander",
    "passengers-1-document_number": "AX1234567",
    "passengers-1-date_of_birth": "1990-07-02",
    "passengers-1-nationality": "FR",
}


def personal(values: dict) -> set[str]:
    found = {value.lower() for value in values.values() if "@" in value or not re.fullmatch(r"[\d-]+|[A-Z]{2}", value)}
    return found | {"21698765432", "98 765 432", "zenobie.quarterdeck"}


@pytest.fixture
def logs(caplog):
    """Every record logged at INFO and above during the test. Celery imports the task modules on first use and its
    Django fix-up then runs django.setup() again, which configures logging afresh and would drop the capturing
    handler in the middle of the test: they are imported before it starts."""
    celery_app.loader.import_default_modules()
    caplog.set_level(logging.INFO)
    return caplog


def logged_text(records) -> str:
    return "\n".join(f"{record.getMessage()} {record.exc_text or ''} {vars(record)!r}" for record in records).lower()


@pytest.mark.django_db(transaction=True)
def test_a_whole_journey_on_the_website_logs_no_personal_data(logs, eager_tasks, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    browser = Client()

    booked = browser.post(details_url(sailing, adults=2), details(**TRAVELLER))
    reference = booked.url.rsplit("/", 1)[-1]
    browser.get(f"/bookings/{reference}/pay")
    browser.post(f"/bookings/{reference}/pay", card_form("4000 0000 0000 0002"))
    browser.post(f"/bookings/{reference}/pay", card_form("4242 4242 4242 4242"))
    browser.post(f"/bookings/{reference}/cancel")
    browser.post("/manage", {"reference": reference, "email": TRAVELLER["contact-email"].upper()})

    assert Booking.objects.get(reference=reference).status in (Booking.Status.CANCELLED, Booking.Status.REFUNDED)
    assert {message.subject.split(" ")[0] for message in mail.outbox}, "e-mails went out on the way"
    assert len(logs.records) > 10, "the journey logs"
    text = logged_text(logs.records)
    assert {value for value in personal(TRAVELLER) if value in text} == set()


@pytest.mark.django_db(transaction=True)
def test_a_whole_journey_in_the_api_logs_no_personal_data(logs, eager_tasks, tunis_marseille):
    contact = {"name": "Zénobie Quarterdeck", "email": "zenobie.quarterdeck@example.org", "phone": "+216 98 765 432"}
    passenger = {**ADULT, "first_name": "Zénobie", "last_name": "Quarterdeck", "document_number": "ZQ9876543"}
    data = request_data(sailing_at(tunis_marseille), passengers=[passenger], contact=contact)
    api = APIClient()

    created = api.post("/api/v1/bookings", data, format="json").json()
    headers = {"HTTP_X_BOOKING_TOKEN": created["access_token"]}
    intent = api.post(f"/api/v1/bookings/{created['reference']}/payment", **headers).json()["payment_intent_id"]
    api.post(f"/api/v1/payments/demo/{intent}/card", card(), format="json", **headers)
    api.post(f"/api/v1/bookings/{created['reference']}/cancel", **headers)
    api.post("/api/v1/bookings", {**data, "contact": {**contact, "email": "zenobie@"}}, format="json")  # refused

    assert Booking.objects.get(reference=created["reference"]).status in (
        Booking.Status.CANCELLED,
        Booking.Status.REFUNDED,
    )
    assert len(logs.records) > 5, "the journey logs"
    text = logged_text(logs.records)
    assert {value for value in personal(contact | passenger) if value in text} == set()


# --- headers -----------------------------------------------------------------------------------------------

HEADERS_SCRIPT = """
import json
from django.test import Client
client = Client(enforce_csrf_checks=True)
answers = {}
for path in ["/", "/manage", "/sailings/search?from=TNTUN&to=FRMRS&date=2000-01-01", "/admin/login/", "/nowhere",
             "/api/v1/ports", "/api/docs/"]:
    response = client.get(path, secure=True)
    answers[path] = {
        "status": response.status_code,
        "headers": dict(response.headers),
            "cookies": {name: {"secure": bool(c["secure"])} for name, c in response.cookies.items()},
    }
answers["plain http"] = {"status": client.get("/").status_code, "headers": {}, "cookies": {}}
token = client.cookies["csrftoken"].value
switched = client.post("/i18n/setlang/", {"language": "fr", "next": "/", "csrfmiddlewaretoken": token}, secure=True,
                       headers={"referer": "https://testserver/"})
answers["language switch"] = {
    "status": switched.status_code,
    "headers": dict(switched.headers),
    "cookies": {name: {"secure": bool(c["secure"])} for name, c in switched.cookies.items()},
}
print(json.dumps(answers))
"""


@pytest.fixture
def production_answers(db, tmp_path) -> dict:
    """What a web process in production mode answers to a few requests (its own process, on the test database)."""
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "MARITIME_VAR_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": database_url_of_test_db(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "CACHE_KEY_PREFIX": os.environ["CACHE_KEY_PREFIX"],
        "CELERY_BROKER_KEY_PREFIX": os.environ["CELERY_BROKER_KEY_PREFIX"],
        "DEFAULT_FROM_EMAIL": "Maritime <bookings@ferries.example.com>",
        "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "x" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 24,
        "STATIC_MANIFEST": "0",  # no collectstatic here; the manifest is tested with the deployment files
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", HEADERS_SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_pages_carry_the_security_headers(production_answers):
    pages = {path: answer for path, answer in production_answers.items() if path.startswith("/")}
    assert {path: answer["status"] for path, answer in pages.items()} == {
        "/": 200, "/manage": 200, "/sailings/search?from=TNTUN&to=FRMRS&date=2000-01-01": 400, "/admin/login/": 200,
        "/nowhere": 404, "/api/v1/ports": 200, "/api/docs/": 200,
    }  # fmt: skip
    for path, answer in pages.items():
        headers = answer["headers"]
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path
        policy = build_policy(update=ADMIN if path.startswith("/admin/") else None)
        assert directives(headers["Content-Security-Policy"]) == directives(policy), path
    assert production_answers["plain http"]["status"] == 301


def test_production_cookies_are_all_secure(production_answers):
    cookies = {name: flags for answer in production_answers.values() for name, flags in answer["cookies"].items()}

    assert {"csrftoken", settings.LANGUAGE_COOKIE_NAME} <= set(cookies)
    assert {name for name, flags in cookies.items() if not flags["secure"]} == set()


def directives(policy: str) -> dict[str, str]:
    return dict(directive.split(" ", 1) for directive in policy.split("; "))


def policy_of(response) -> dict[str, str]:
    return directives(response["Content-Security-Policy"])


def test_the_policy_allows_our_own_files_only():
    policy = directives(build_policy())

    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["object-src"] == policy["frame-src"] == policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe" not in build_policy()


@pytest.mark.usefixtures("fake_stripe")
def test_only_the_stripe_checkout_may_load_stripe(eager_tasks, db):
    booking = held_booking()
    browser = browser_of(None, booking)

    checkout = browser.get(f"/bookings/{booking.reference}/pay")
    home = browser.get("/")

    assert 'src="https://js.stripe.com/v3/"' in checkout.content.decode()
    policy = policy_of(checkout)
    assert policy["script-src"] == "'self' https://js.stripe.com"
    assert policy["frame-src"] == "https://js.stripe.com https://hooks.stripe.com"
    assert "stripe" not in home["Content-Security-Policy"]


def test_the_demo_checkout_may_not_load_stripe(eager_tasks, db):
    booking = held_booking()

    checkout = browser_of(None, booking).get(f"/bookings/{booking.reference}/pay")

    assert checkout.status_code == 200
    assert "stripe" not in checkout["Content-Security-Policy"]


def test_the_admin_may_use_inline_styles_but_never_inline_scripts(signed_in_staff):
    browser, _booking = signed_in_staff

    policy = policy_of(browser.get("/admin/"))

    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"


# --- the policy in a real browser (see also the `page` fixture: any blocked load fails a browser test) --------


@pytest.mark.browser
def test_the_language_switch_still_changes_the_language_under_the_policy(page, transactional_db):
    page.goto("/manage")

    page.get_by_label("Language").select_option("fr")

    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert page.get_by_role("heading", level=1).inner_text() != "Manage my booking"


@pytest.mark.browser
def test_the_api_docs_still_render_under_the_policy(page, transactional_db):
    page.goto("/api/docs/")

    page.get_by_text("/api/v1/bookings/{reference}/cancel").first.wait_for()
    assert page.locator(".opblock").count() >= 10


@pytest.mark.browser
def test_the_operations_page_keeps_its_layout_under_the_policy(page, transactional_db):
    User.objects.create_superuser("ops", password="a long pass phrase")
    page.goto("/admin/login/?next=/admin/operations/")
    page.get_by_label("Username").fill("ops")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/operations/")

    assert page.locator(".ops-grid").evaluate("el => getComputedStyle(el).display") == "flex"
