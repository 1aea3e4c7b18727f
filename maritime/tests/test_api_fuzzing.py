"""Every API operation, fuzzed against its own OpenAPI schema on a live server (schemathesis).

Schemathesis reads the schema `/api/schema/` serves and sends each operation the schema's examples, its
boundary values and random requests, valid and invalid, to a live server — then again naming real sailings,
bookings, payments and an account's saved travellers and vehicles, with credentials that open them (an API Token,
or a traveller's session token from allauth's headless API) and credentials that must not. Every check
schemathesis has is on: never a 5xx; statuses, media types, headers and bodies as documented; a request the schema
refuses is refused, one it allows is accepted (but for rules no schema can state, below); credentials the schema
asks for are enforced; 405 with `Allow` for any other method. The run is bounded (examples per operation) and
deterministic (derandomized).
"""

import datetime as dt
import re

import pytest
import requests
import schemathesis
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.forms.models import model_to_dict
from django.test import Client
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.models import SavedTraveller, SavedVehicle
from bookings.access import access_token
from bookings.flows import checkout
from bookings.models import Booking
from bookings.tests.conftest import port_agent_group
from bookings.tests.factories import ADULT, CONTACT, held_booking, request_data
from ferries.tests.factories import sailing_factory
from maritime.api_auth import AuthTokenThrottle
from maritime.tests.fuzzing import fuzzed_schema, hypothesis_settings
from payments.tests.conftest import card

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 40  # per operation and test: about a minute for the whole file
HYPOTHESIS = hypothesis_settings(max_examples=MAX_EXAMPLES)


def served_schema() -> dict:
    """The schema exactly as `/api/schema/` serves it to clients, read when the tests are collected.

    Read here rather than from the live server in a fixture: schemathesis's fixture-based loader
    (`schemathesis.pytest.from_fixture`) reads a node attribute pytest 9.2 no longer has. The live server is
    checked to serve this same schema (the first test below)."""
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return response.json()


SERVED_SCHEMA = served_schema()


def load_schema(*, credentials: bool = True, **phases) -> schemathesis.BaseSchema:
    return fuzzed_schema(SERVED_SCHEMA, max_examples=MAX_EXAMPLES, credentials=credentials, **phases)


# The schema's examples, its boundary values (coverage) and random requests, with credentials made up as the schema
# describes them; then random requests only, naming real objects and sent with the credentials the test chooses
# (schemathesis does not mix extra strategies with examples), so none is generated.
schema = load_schema()
schema_with_credentials = load_schema(examples={"enabled": False}, coverage={"enabled": False}, credentials=False)


SAVED = {"travellers": SavedTraveller, "vehicles": SavedVehicle}
# Who is leaving: an account made for each request that deletes the signed-in account, which is never the owner's.
LEAVING_PASSWORD = "a last crossing passphrase"


def traveller_account(username: str, email: str, password: str) -> User:
    """A traveller's account, its address verified, as allauth makes one at sign-up."""
    user = User.objects.create_user(username, email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def session_token(base_url: str, email: str, password: str) -> str:
    """Sign in as the app does, through allauth's headless API: the session token it answers."""
    answer = requests.post(
        f"{base_url}/_allauth/app/v1/auth/login", json={"email": email, "password": password}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["meta"]["session_token"]


def saved_item(kind: str, owner: User, **fields):
    if kind == "travellers":
        fields = {"first_name": "Lina", "last_name": "Ben Salah", "date_of_birth": dt.date(2019, 3, 2),
                  "nationality": "TN", "document_number": "X7654321", **fields}  # fmt: skip
    else:
        fields = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160, **fields}
    return SAVED[kind].objects.create(owner=owner, **fields)


def as_stored(item) -> dict | None:
    item = type(item).objects.filter(pk=item.pk).first()
    return None if item is None else model_to_dict(item) | {"updated_at": item.updated_at}


class World:
    """What fuzzed requests may name: sailings both ways, two travellers' accounts (each signed in to the app too,
    each keeping a traveller and a vehicle), a booking of each kind, a demo payment."""

    def __init__(self, base_url: str, tunis_marseille, marseille_tunis):
        self.base_url = base_url
        self.outbound = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
        self.inbound = sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))
        self.owner = traveller_account("amira", "amira.account@example.com", "a long pass phrase")
        self.stranger = traveller_account("sami", "sami.account@example.com", "another pass phrase")
        self.owned = held_booking(self.outbound, contact={**CONTACT, "email": "owner.secret@example.com"})
        Booking.objects.filter(pk=self.owned.pk).update(owner=self.owner)
        self.guest = held_booking(self.outbound, contact={**CONTACT, "email": "guest.secret@example.com"})
        # Changes are asked of confirmed bookings: one of each kind too (`aim_at_real_objects` picks them).
        self.owned_confirmed = held_booking(self.outbound, contact={**CONTACT, "email": "owner.secret@example.com"})
        self.guest_confirmed = held_booking(self.outbound, contact={**CONTACT, "email": "guest.secret@example.com"})
        Booking.objects.filter(pk=self.owned_confirmed.pk).update(owner=self.owner, status=Booking.Status.CONFIRMED)
        Booking.objects.filter(pk=self.guest_confirmed.pk).update(status=Booking.Status.CONFIRMED)
        paying = held_booking(self.outbound, self.inbound)
        self.intent_id = checkout.payment_start(booking_id=paying.pk).intent_id
        # A port agent checks travellers in (and opens no booking through the bookings' operations).
        self.agent = User.objects.create_user("quay", password="a quay pass phrase")
        self.agent.groups.add(port_agent_group())
        self.tokens = {user.pk: Token.objects.create(user=user).key for user in (self.owner, self.stranger, self.agent)}
        self.sessions = {
            self.owner.pk: session_token(base_url, self.owner.email, "a long pass phrase"),
            self.stranger.pk: session_token(base_url, self.stranger.email, "another pass phrase"),
        }
        # The stranger's own: never in an answer to anyone else.
        self.theirs = {
            "travellers": saved_item("travellers", self.stranger, first_name="Zeynep", last_name="Karaca"),
            "vehicles": saved_item("vehicles", self.stranger, registration="SAMI 99"),
        }
        self.plates = 0
        self.leaving: User | None = None

    def saved(self, kind: str):
        """The owner's saved traveller or vehicle — saved again if a fuzzed request deleted it."""
        return SAVED[kind].objects.filter(owner=self.owner).order_by("pk").first() or saved_item(kind, self.owner)

    def leaving_account(self, who: str) -> dict:
        """The credentials (of the kind `who` sends) of a new account, made to be deleted."""
        number = User.objects.count()
        email = f"leaving.{number}@example.com"
        self.leaving = traveller_account(f"leaving{number}", email, LEAVING_PASSWORD)
        if who == "owner's session":
            return {"X-Session-Token": session_token(self.base_url, email, LEAVING_PASSWORD)}
        return {"Authorization": f"Token {Token.objects.create(user=self.leaving).key}"}

    def day(self, sailing) -> str:
        return sailing.departs_at.astimezone(sailing.route.origin.tz).date().isoformat()


@pytest.fixture
def world(live_server, tunis_marseille, marseille_tunis, eager_tasks, settings, monkeypatch):
    # Fuzzing sends far more requests than any client may: the limits themselves are tested in test_security.py.
    rates = {"anon": "100000/minute", "user": "100000/minute"}
    rates |= {"booking_create": "100000/hour", "payment_start": "100000/hour", "booking_claim": "100000/hour"}
    rates["promo_code"] = rates["travel_alert"] = "100000/hour"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(AuthTokenThrottle, "rate", "100000/minute")
    return World(live_server.url, tunis_marseille, marseille_tunis)


def test_the_fuzzed_schema_is_the_one_the_live_server_serves(live_server):
    assert requests.get(f"{live_server.url}/api/schema/?format=json", timeout=10).json() == SERVED_SCHEMA


def test_every_check_schemathesis_has_is_on_for_every_operation():
    load_all_checks()
    names = sorted(check.__name__ for check in CHECKS.get_all())

    for loaded in schema.get_all_operations():
        operation = loaded.ok()
        config = schema.config.checks_config_for(operation=operation, phase="fuzzing")
        assert [name for name in names if not config.get_by_name(name=name).enabled] == [], operation.label
    assert {"positive_data_acceptance", "negative_data_rejection", "ignored_auth", "use_after_free"} <= set(names)


# A request the schema allows can still break a rule no schema can state: a sailing that exists and is on sale, a
# date from today on, a party with a grown-up, a user with this password, the code that was e-mailed. To such a
# request these operations answer 400 naming only the fields of those rules, and schemathesis'
# positive_data_acceptance is kept for everything else; a 400 naming any other field is a rule the schema should
# state, and fails.
EXTRAS_RULES = ("", ".dinners", ".breakfasts", ".priority_boarding")
LEGS = ("outbound", "return", "leg_2", "leg_3", "leg_4")
BOOKING_RULES = {
    *(f"{leg}_sailing_id" for leg in LEGS),
    *(f"{leg}_fare_family" for leg in LEGS),
    *(f"{leg}_extras{field}" for leg in LEGS for field in EXTRAS_RULES),
    "passengers",
    "passengers.*.date_of_birth",
    "vehicle.length_cm",
    "vehicle.height_cm",
    "vehicles.*.length_cm",
    "vehicles.*.height_cm",
    "vehicle",  # sent together with `vehicles`
    "pets",  # fewer than the dogs and cats
}
# Each vehicle of a search: its size within its type's limits, its size and load only with a type; the pets in all
# not fewer than the dogs and cats, at most four.
SEARCH_PARTY_RULES = {
    f"{vehicle}_{detail}"
    for vehicle in ("vehicle", "vehicle2", "vehicle3", "vehicle4")
    for detail in ("length_cm", "height_cm", "load")
} | {"pets"}
RULES_BEYOND_THE_SCHEMA = {
    # No user has this username and password.
    "POST /api/v1/auth/token": {"non_field_errors"},
    # A sailing that exists and is on sale, in the fare family named, with the extras named (a meal at most per
    # passenger, priority boarding left), a return that sails back after the outbound arrives, the legs of a trip each
    # after the one before (and no return with them); a party with a
    # grown-up, and a lap for each infant; an age on the day of travel that matches the passenger type; a vehicle's
    # size within its category's limits and the vessel's height.
    "POST /api/v1/bookings": BOOKING_RULES,
    # The same rules for the booking a change would make; a one-way booking has no return to change.
    "POST /api/v1/bookings/{reference}/changes": BOOKING_RULES,
    # A port that exists, not the same at both ends; a date from today to the search horizon, the return not before
    # the outbound, an open-jaw return's ports neither the way out again nor back to where it arrives; a party with a
    # grown-up, a lap for each infant, 9 at most; each vehicle's size within the limits of its type, and its size and
    # load only with a vehicle.
    # The sailing being boarded exists.
    "POST /api/v1/checkin/scan": {"sailing_id"},
    "GET /api/v1/sailings/search": {
        "from",
        "to",
        "date",
        "return_date",
        "return_from",
        "return_to",
        "adults",
        "infants",
        "passengers",
        *SEARCH_PARTY_RULES,
    },
    # The same for the fare calendar, with a month (or the date instead) that has days from today to the horizon,
    # and one of the two only.
    "GET /api/v1/sailings/calendar": {
        "from",
        "to",
        "month",
        "date",
        "adults",
        "infants",
        "passengers",
        *SEARCH_PARTY_RULES,
    },
    # A date of birth in the past, and not more than 120 years ago; a document that expires after its holder was
    # born (with the traveller's other fields as saved, for a change).
    "POST /api/v1/me/travellers": {"date_of_birth", "document_expires"},
    "PATCH /api/v1/me/travellers/{item_id}": {"date_of_birth", "document_expires"},
    # A vehicle's size within its category's limits; a number plate the account has not saved already.
    "POST /api/v1/me/vehicles": {"length_cm", "height_cm", "registration"},
    "PATCH /api/v1/me/vehicles/{item_id}": {"length_cm", "height_cm", "registration"},
    # The code e-mailed for this account's claim of this booking, while it is valid.
    "POST /api/v1/me/bookings/claim": {"code"},
    # The account's own password.
    "POST /api/v1/me/delete": {"password"},
    # What each kind needs (a sailing, or ports, a day and a limit) and an address unless signed in; a sailing that
    # exists, is on sale and is full for the party; ports that exist, a day from today, a party as the search takes
    # it; and what it would tell not true already (places free, the price at or under the limit).
    "POST /api/v1/alerts": {
        "email",
        "sailing_id",
        "from",
        "to",
        "date",
        "below",
        "below.amount_minor",
        "below.currency",
        "adults",
        "infants",
        "passengers",
        *SEARCH_PARTY_RULES,
    },
}
# Nor can a schema know what was sent before: an Idempotency-Key used for another booking is answered 422 (as the
# IETF's Idempotency-Key draft says), whatever the request.
STATE_BEYOND_THE_SCHEMA = {"POST /api/v1/bookings": {422}}


def positive_data_accepted_but_for_rules_beyond_the_schema(ctx, response, case):
    """schemathesis' positive_data_acceptance, except that a 400 naming only fields of RULES_BEYOND_THE_SCHEMA, or a
    status of STATE_BEYOND_THE_SCHEMA, passes (for the other operations, the check is schemathesis' own)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code in STATE_BEYOND_THE_SCHEMA.get(case.operation.label, set()):
            return None
        if response.status_code != 400:
            raise
        fields = {re.sub(r"\.\d+\.", ".*.", field) for field in response.json()}  # passengers.0.… → passengers.*.…
        if not fields or not fields <= RULES_BEYOND_THE_SCHEMA.get(case.operation.label, set()):
            raise
        return None


def call_and_validate(case, world, headers: dict | None = None):
    """Send the case with `headers` (credentials chosen by the test: to schemathesis, explicit ones) and run every
    check on the answer."""
    return case.call_and_validate(
        base_url=world.base_url,
        headers=headers,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_accepted_but_for_rules_beyond_the_schema],
    )


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_answers_as_documented(case, world):
    call_and_validate(case, world)


# --- with real objects and chosen credentials -------------------------------------------------------------


def header_text():
    """What a client can put in a header at all: printable Latin-1, no line breaks, no space around it."""
    characters = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    return st.text(characters, max_size=60).map(str.strip)


# Who sends the request: the owner of `owned` with their Token or their app's session token, a guest with the access
# token of `guest`, or someone with the wrong key (each with some text, which only the made-up keys use).
OPENS = {"owner": "owned", "owner's session": "owned", "guest": "guest"}
WHO = ["owner", "owner's session", "guest", "another booking's token", "another user's token",
       "another user's session", "made-up Token", "made-up booking token", "made-up session token",
       "port agent"]  # fmt: skip
# Whose account the credentials open.
ACCOUNT = {"owner": "owner", "owner's session": "owner", "another user's token": "stranger",
           "another user's session": "stranger", "port agent": "agent"}  # fmt: skip
CREDENTIALS = st.sampled_from(WHO).flatmap(lambda kind: st.tuples(st.just(kind), header_text()))


def credentials(case, world: World, who: tuple) -> dict:
    """The headers `who` sends; whatever credentials were generated are taken out of the case."""
    case.headers = {
        k: v
        for k, v in (case.headers or {}).items()
        if k.lower() not in {"authorization", "x-booking-token", "x-session-token"}
    }
    return {
        "owner": {"Authorization": f"Token {world.tokens[world.owner.pk]}"},
        "owner's session": {"X-Session-Token": world.sessions[world.owner.pk]},
        "another user's session": {"X-Session-Token": world.sessions[world.stranger.pk]},
        "made-up session token": {"X-Session-Token": who[-1]},
        "guest": {"X-Booking-Token": access_token(world.guest)},
        "another booking's token": {
            "X-Booking-Token": access_token(world.owned_confirmed if "/changes" in case.path else world.owned)
        },
        "another user's token": {"Authorization": f"Token {world.tokens[world.stranger.pk]}"},
        "port agent": {"Authorization": f"Token {world.tokens[world.agent.pk]}"},
        "made-up Token": {"Authorization": f"Token {who[-1]}"},
        "made-up booking token": {"X-Booking-Token": who[-1]},
    }[who[0]]


def aim_at_real_objects(case, world: World, who: tuple) -> None:
    """Point the request at the world's objects: a booking (the one `who` would open, if any), the demo payment,
    the owner's saved traveller or vehicle, the sailings' ports and days, the sailings to book, the booking to claim.
    A path generated invalid on purpose is left as it is: schemathesis still expects it refused."""
    path = dict(case.path_parameters or {})
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        path = {}
    if "reference" in path:
        guest_side = {"guest", "another booking's token", "made-up booking token"}
        confirmed = "/changes" in case.path
        owned, guest = (world.owned_confirmed, world.guest_confirmed) if confirmed else (world.owned, world.guest)
        path["reference"] = (guest if who[0] in guest_side else owned).reference
    if "change_id" in path:
        path["change_id"] = 1
    if "leg" in path:
        path["leg"] = "outbound"
    if "/checkin/" in case.path and "reference" in path:
        path["reference"] = world.guest_confirmed.reference
    if "intent_id" in path:
        path["intent_id"] = world.intent_id
    if "item_id" in path:  # the owner's saved traveller or vehicle, whoever asks
        path["item_id"] = str(world.saved("travellers" if "/travellers/" in case.path else "vehicles").pk)
    case.path_parameters = {**(case.path_parameters or {}), **path}
    body_as_generated = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
    if case.path == "/api/v1/me/bookings/claim" and isinstance(case.body, dict) and not body_as_generated:
        case.body = {**case.body, "reference": world.guest.reference}
    if case.query and "from" in case.query:
        case.query = {**case.query, "from": "TNTUN", "to": "FRMRS", "date": world.day(world.outbound)}
        if "return_date" in case.query:
            case.query["return_date"] = world.day(world.inbound)
        if "month" in case.query:  # the fare calendar: the outbound's month, or the days around it
            case.query["month"] = world.day(world.outbound)[:7]
            del case.query["date"]
    if isinstance(case.body, dict) and "sailing_id" in case.body:
        case.body = {**case.body, "sailing_id": world.outbound.pk}
    if isinstance(case.body, dict) and "outbound_sailing_id" in case.body:
        case.body = {**case.body, "outbound_sailing_id": world.outbound.pk}
        if case.body.get("return_sailing_id") is not None:
            case.body["return_sailing_id"] = world.inbound.pk


def make_valid(case, world: World) -> None:
    """A request the operation accepts, headers aside: a search for the world's sailings, a booking on them,
    a change of one, a test card, the owner's password. A body generated unreadable on purpose (random bytes) is
    left as it is: schemathesis still expects it refused."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
        return
    if case.operation.label == "GET /api/v1/sailings/search":
        case.query = {"from": "TNTUN", "to": "FRMRS", "date": world.day(world.outbound)}
        case.query |= {"return_date": world.day(world.inbound), "adults": "2", "vehicle": "car"}
    elif case.operation.label == "GET /api/v1/sailings/calendar":
        case.query = {"from": "TNTUN", "to": "FRMRS", "month": world.day(world.outbound)[:7], "adults": "2"}
    elif case.operation.label == "POST /api/v1/bookings":
        case.body = request_data(world.outbound, world.inbound, passengers=[dict(ADULT)])
    elif case.operation.label == "POST /api/v1/bookings/{reference}/changes":
        # The schema asks for the party even when it stays as booked.
        case.body = {"outbound_fare_family": "flex", "pets": 1, "passengers": [dict(ADULT)]}
    elif case.operation.label == "POST /api/v1/payments/demo/{intent_id}/card":
        case.body = card("4242 4242 4242 4242")
    elif case.operation.label == "POST /api/v1/bookings/{reference}/disruption/accept":
        case.body = {"choice": "keep"}
    elif case.operation.label == "POST /api/v1/checkin/scan":
        case.body = {"sailing_id": world.outbound.pk, "code": world.guest_confirmed.reference}
    elif case.operation.label.startswith("POST /api/v1/checkin/{reference}"):
        case.body = {}
    elif case.operation.label == "POST /api/v1/auth/token":
        case.body = {"username": "amira", "password": "a long pass phrase"}
    elif case.operation.label in ("POST /api/v1/me/travellers", "PATCH /api/v1/me/travellers/{item_id}"):
        case.body = {"first_name": "Youssef", "last_name": "Ben Salah", "date_of_birth": "2016-07-21",
                     "nationality": "TN", "document_type": "id_card", "document_number": "T0912345"}  # fmt: skip
    elif case.operation.label in ("POST /api/v1/me/vehicles", "PATCH /api/v1/me/vehicles/{item_id}"):
        world.plates += 1
        case.body = {"category": "van", "registration": f"FZ {world.plates}", "length_cm": 600}
    elif case.operation.label == "POST /api/v1/me/bookings/claim":
        case.body = {"reference": world.guest.reference}
    elif case.operation.label == "POST /api/v1/me/delete":
        case.body = {"password": LEAVING_PASSWORD}


def assert_no_other_booking_shown(response, world: World, who: tuple) -> None:
    opened = OPENS.get(who[0])
    for name in ("owned", "guest"):
        if name == opened:
            continue
        for booking in (getattr(world, name), getattr(world, f"{name}_confirmed")):
            assert not re.search(rf"\b{booking.reference}\b", response.text), f"{name} booking shown to {who[0]}"
            assert booking.contact_email not in response.text, f"{name} booking's contact shown to {who[0]}"


def assert_only_the_callers_account(response, case, world: World, who: tuple, aim: str, aimed_at) -> None:
    """An account's operations answer the caller's own account, and nobody's without credentials that open one: an
    item of another account (the owner's, `aimed_at`, with what it held before) is answered 404 and left as it
    was."""
    user = getattr(world, ACCOUNT[who[0]]) if who[0] in ACCOUNT else None
    if user is None:
        if aim != "as generated" or "{item_id}" not in case.path:  # a made-up path may be no operation's
            assert response.status_code == 401, f"{case.path} answered {response.status_code} to {who[0]}"
        return
    if user != world.stranger:
        traveller, vehicle = world.theirs["travellers"], world.theirs["vehicles"]
        for text in (traveller.first_name, traveller.last_name, vehicle.registration):
            assert text not in response.text, f"the stranger's saved details shown to {who[0]}"
    if aimed_at is not None and user != world.owner:
        item, before = aimed_at
        assert response.status_code == 404, f"another account's item answered {response.status_code} to {who[0]}"
        assert as_stored(item) == before, f"another account's item changed by {who[0]}"
    kind = re.fullmatch(r"/api/v1/me/(travellers|vehicles)(?:/[^/]+)?", case.formatted_path)
    if kind and response.status_code in (200, 201):
        body = response.json()
        shown = {item["id"] for item in body.get("results", [body])}
        owned = set(SAVED[kind.group(1)].objects.filter(owner=user).values_list("pk", flat=True))
        assert shown <= owned, f"items of another account shown to {who[0]}"


@schema_with_credentials.parametrize()
@schema_with_credentials.given(who=CREDENTIALS, aim=st.sampled_from(["as generated", "real objects", "valid"]))
@HYPOTHESIS
def test_every_operation_answers_as_documented_to_whoever_asks(case, who, aim, world):
    headers = credentials(case, world, who)
    if case.operation.label == "POST /api/v1/me/delete" and ACCOUNT.get(who[0]) == "owner":
        headers = world.leaving_account(who[0])  # the owner's account stays for the requests after this one
    if aim != "as generated":
        aim_at_real_objects(case, world, who)
    if aim == "valid":
        make_valid(case, world)
    aimed_at = None  # the owner's saved item the request names, as it was
    if aim != "as generated" and "{item_id}" in case.path:
        kind = "travellers" if "/travellers/" in case.path else "vehicles"
        item_id, item = str(case.path_parameters["item_id"]), None
        if re.fullmatch(r"[0-9]{1,18}", item_id):
            item = SAVED[kind].objects.filter(owner=world.owner, pk=item_id).first()
        aimed_at = item and (item, as_stored(item))

    response = call_and_validate(case, world, headers)

    if case.path.startswith("/api/v1/me"):
        assert_only_the_callers_account(response, case, world, who, aim, aimed_at)
        if case.operation.label == "POST /api/v1/me/delete" and response.status_code == 204:
            assert world.leaving is not None
            assert not User.objects.filter(pk=world.leaving.pk).exists()
            assert User.objects.filter(pk=world.owner.pk).exists()

    if "/checkin/" in case.path:  # port agents' operations: they see the party they check in
        if who[0] != "port agent":
            assert response.status_code in (401, 403), f"check-in answered {response.status_code} to {who[0]}"
        return
    assert_no_other_booking_shown(response, world, who)
    if aim != "as generated" and "{reference}" in case.path and who[0] not in OPENS:
        assert response.status_code in (401, 404), f"a booking answered {response.status_code} to {who[0]}"
