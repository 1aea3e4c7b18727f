"""The mobile API for bookings — make, read, cancel, list — and its tokens, on real PostgreSQL and Redis."""

import datetime as dt
import json

import jsonschema_rs
import pytest
from django.contrib.auth.models import User
from django.db.models import Sum
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.models import Booking, BookingEvent, Passenger, PromoCode
from bookings.services import booking_transition
from bookings.tests.factories import ADULT, CHILD, CONTACT, INFANT, held_booking, pay, pay_with_demo_card, request_data
from ferries.choices import Resource
from ferries.models import CapacityHold, Sailing, SailingInventory
from ferries.tests.factories import OperatorFactory, RouteFactory, VesselFactory, sailing_factory
from ferries.tests.test_api import as_json_schema

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings"
CAR = {"category": "car", "registration": "123 TU 4567", "length_cm": 450, "height_cm": 160}
DOWN = "http://127.0.0.1:9/"  # the discard port: nothing listens there


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def outbound(tunis_marseille):
    return sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))


@pytest.fixture
def inbound(marseille_tunis):
    return sailing_factory(route=marseille_tunis, departs_in=dt.timedelta(days=14))


@pytest.fixture
def amira():
    return User.objects.create_user("amira", password="a long pass phrase")


@pytest.fixture
def sami():
    return User.objects.create_user("sami", password="another pass phrase")


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def signed_in(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def with_token(token: str) -> dict:
    return {"HTTP_X_BOOKING_TOKEN": token}


def book(api, data, **headers):
    return api.post(BOOKINGS, data, format="json", **headers)


def nothing_written() -> bool:
    """No booking, passenger or hold was kept, and no sailing has a place taken."""
    taken = SailingInventory.objects.aggregate(total=Sum("taken"))["total"] or 0
    return (Booking.objects.count(), Passenger.objects.count(), CapacityHold.objects.count(), taken) == (0, 0, 0, 0)


def passengers_taken(sailing: Sailing) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken


def assert_documented(openapi: dict, method: str, path: str, response) -> None:
    """The answer matches what the OpenAPI schema says of this operation and status, both ways."""
    operation = openapi["paths"][path][method]
    assert str(response.status_code) in operation["responses"], f"{response.status_code} is not documented"
    media = operation["responses"][str(response.status_code)]["content"]["application/json"]
    body = response.json()
    assert body, "an empty answer would match any schema"
    validator = Draft7Validator(as_json_schema(media["schema"], openapi["components"]["schemas"]))
    assert [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)] == []


def paid(booking: Booking) -> Booking:
    return pay_with_demo_card(booking)


# --- making a booking ---------------------------------------------------------------------------------


def test_a_one_way_booking_is_held_and_priced_for_the_whole_party(api, openapi, outbound):
    response = book(api, request_data(outbound, passengers=[ADULT, dict(CHILD)], vehicle=CAR))

    assert response.status_code == 201
    assert_documented(openapi, "post", BOOKINGS, response)
    body = response.json()
    booking = Booking.objects.get()
    assert body["reference"] == booking.reference
    assert body["status"] == "held"
    assert body["total"] == {"amount_minor": 10000 + 5000 + 15000, "currency": "EUR"}
    assert body["hold_expires_at"] == booking.hold_expires_at.isoformat()
    assert response["Location"] == f"http://testserver{BOOKINGS}/{booking.reference}"
    [leg] = body["legs"]
    assert (leg["direction"], leg["sailing_id"], leg["sailing_ref"]) == ("outbound", outbound.pk, outbound.ref)
    assert (leg["from"], leg["to"]) == ({"code": "TNTUN", "name": "Tunis"}, {"code": "FRMRS", "name": "Marseille"})
    assert leg["operator"] == {"code": "LOC", "name": "Local Lines", "logo_url": None}
    assert leg["departs_at"] == outbound.departs_at.isoformat()
    assert leg["departs_local"] == outbound.departs_at.astimezone(outbound.route.origin.tz).isoformat()
    assert leg["price"] == body["total"]
    assert [line["code"] for line in leg["price_lines"]] == ["adult", "child", "accommodation:deck", "vehicle:car"]
    assert [p["first_name"] for p in body["passengers"]] == ["Amira", "Youssef"]
    assert body["vehicles"] == [body["vehicle"]] == [{**CAR, "load": ""}]
    assert body["contact"] == {"name": "Amira Ben Salah", "email": "amira@example.com", "phone": "+216 71 000 000"}
    assert (body["accommodation"], body["pets"]) == ("deck", 0)
    assert passengers_taken(outbound) == 2


def test_a_return_booking_holds_both_legs(api, openapi, outbound, inbound):
    response = book(api, request_data(outbound, inbound))

    assert response.status_code == 201
    assert_documented(openapi, "post", BOOKINGS, response)
    body = response.json()
    assert [(leg["direction"], leg["sailing_id"]) for leg in body["legs"]] == [
        ("outbound", outbound.pk),
        ("return", inbound.pk),
    ]
    assert body["legs"][1]["from"]["code"] == "FRMRS"
    assert body["total"] == {"amount_minor": 20000, "currency": "EUR"}
    assert body["vehicle"] is None
    assert (passengers_taken(outbound), passengers_taken(inbound)) == (1, 1)


def test_the_access_token_answered_opens_the_new_booking(api, openapi, outbound):
    created = book(api, request_data(outbound)).json()

    response = APIClient().get(f"{BOOKINGS}/{created['reference']}", **with_token(created["access_token"]))

    assert response.status_code == 200
    assert_documented(openapi, "get", f"{BOOKINGS}/{{reference}}", response)
    assert response.json()["reference"] == created["reference"]
    assert "access_token" not in response.json()


def test_a_booking_made_with_a_token_belongs_to_its_user(api, outbound, amira):
    response = book(api, request_data(outbound), **signed_in(amira))

    assert response.status_code == 201
    assert Booking.objects.get().owner == amira


def test_a_guest_booking_belongs_to_nobody(api, outbound):
    assert book(api, request_data(outbound)).status_code == 201

    assert Booking.objects.get().owner is None


def test_the_booking_keeps_the_language_of_the_request(api, outbound):
    book(api, request_data(outbound), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")

    assert Booking.objects.get().language == "fr"


# --- what a hold costs -------------------------------------------------------------------------------
# Its transaction counts two statements: a savepoint and its release here, BEGIN and COMMIT in production.


def test_a_hold_for_one_adult_costs_eight_statements_and_its_transaction(api, outbound, django_assert_max_num_queries):
    # The sailing, its fare, the booking with its totals, the places (inventory, hold), the leg, the passenger, the
    # event; the answer is made of what was written, not read back.
    with django_assert_max_num_queries(8 + 2):
        response = book(api, request_data(outbound))

    assert response.status_code == 201


@pytest.mark.parametrize(
    "party",
    [{"passengers": [ADULT, CHILD], "vehicle": CAR},
     {"passengers": [ADULT, ADULT, CHILD, CHILD, INFANT], "vehicles": [CAR, {**CAR, "registration": "9 TU 1"}]}],
    ids=["two passengers and a car", "five passengers and two cars"],
)  # fmt: skip
def test_a_return_hold_costs_as_many_statements_whatever_the_party(
    api, outbound, inbound, party, django_assert_max_num_queries
):
    # Each leg: its sailing, its fare, its two resources (places, lanes) and its hold; then the booking, its legs,
    # passengers, vehicles and event, each in one statement however many there are; and the transaction.
    with django_assert_max_num_queries(2 * 5 + 5 + 2):
        response = book(api, request_data(outbound, inbound, passengers=[dict(p) for p in party["passengers"]],
                                          **{k: v for k, v in party.items() if k != "passengers"}))  # fmt: skip

    assert response.status_code == 201
    assert len(response.json()["passengers"]) == len(party["passengers"])


@pytest.mark.parametrize("promo", [False, True], ids=["without a promo code", "with a promo code"])
def test_the_new_bookings_answer_is_the_booking_as_read_again(api, outbound, inbound, promo):
    data = request_data(outbound, inbound, passengers=[ADULT, dict(CHILD)], vehicle=CAR)
    if promo:
        PromoCode.objects.create(code="SPRING10", kind=PromoCode.Kind.PERCENT, percent=10)
        data["promo_code"] = "SPRING10"
    created = book(api, data)
    assert created.status_code == 201

    read = APIClient().get(f"{BOOKINGS}/{created.json()['reference']}", **with_token(created.json()["access_token"]))

    assert read.status_code == 200
    shared = created.json().keys() & read.json().keys()
    assert {key: created.json()[key] for key in shared} == {key: read.json()[key] for key in shared}
    assert shared >= {"reference", "legs", "passengers", "vehicles", "total", "hold_expires_at", "promo_code"}
    assert (created.json()["promo_code"] is not None) == promo


# --- Idempotency-Key ----------------------------------------------------------------------------------


def test_the_same_request_with_the_same_key_answers_the_same_booking_once(api, outbound):
    data = request_data(outbound)

    first = book(api, data, HTTP_IDEMPOTENCY_KEY="6f1c2b3a-retry")
    again = book(api, data, HTTP_IDEMPOTENCY_KEY="6f1c2b3a-retry")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert (Booking.objects.count(), CapacityHold.objects.count(), passengers_taken(outbound)) == (1, 1, 1)


def test_a_key_reused_for_another_request_is_refused_and_books_nothing_more(api, openapi, outbound):
    data = request_data(outbound)
    book(api, data, HTTP_IDEMPOTENCY_KEY="k-1")

    response = book(
        api, {**data, "contact": {**data["contact"], "phone": "+33 4 91 00 00 00"}}, HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert response.status_code == 422
    assert_documented(openapi, "post", BOOKINGS, response)
    assert response.json() == {"detail": "This Idempotency-Key was used for a different booking."}
    assert (Booking.objects.count(), passengers_taken(outbound)) == (1, 1)


UNUSABLE_KEYS = ["k" * 101, "", "tab\there", "no\xa0break", "soft\xadhyphen"]


@pytest.mark.parametrize(
    "key", UNUSABLE_KEYS, ids=["too long", "empty", "control character", "no-break space", "soft hyphen"]
)
def test_an_unusable_idempotency_key_is_refused_naming_the_header(api, openapi, outbound, key):
    response = book(api, request_data(outbound), HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert_documented(openapi, "post", BOOKINGS, response)
    assert list(response.json()) == ["Idempotency-Key"]
    assert nothing_written()


def test_the_schema_refuses_the_idempotency_keys_refused_and_allows_the_others(openapi):
    [header] = [p for p in openapi["paths"][BOOKINGS]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    schema = jsonschema_rs.validator_for(header["schema"])

    assert [key for key in UNUSABLE_KEYS if schema.is_valid(key)] == []
    assert schema.is_valid("3f1c2a9e-7b4d-4e2a-9c1f-0d8e6b5a4c3f")
    assert schema.is_valid("réservation n° 12 (retry)")


# --- bad requests: 400 naming the field, nothing written ----------------------------------------------


def sailing_gone(route):
    sailing = sailing_factory(route=route, departs_in=dt.timedelta(days=3))
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.DEPARTED)
    return request_data(sailing)


def too_late(route):
    return request_data(sailing_factory(route=route, departs_in=dt.timedelta(minutes=10)))


def same_way_back(route):
    return request_data(sailing_factory(route=route), sailing_factory(route=route, departs_in=dt.timedelta(days=12)))


def vehicle_too_tall(route):
    low = VesselFactory(operator=route.operator, max_vehicle_height_cm=200)
    return request_data(sailing_factory(route=route, vessel=low), vehicle={**CAR, "height_cm": 240})


def sold_out(route):
    small = VesselFactory(operator=route.operator, passenger_capacity=1)
    return request_data(sailing_factory(route=route, vessel=small), passengers=[ADULT, {**ADULT, "first_name": "Sami"}])


def changed(**changes):
    """A valid request on a new sailing of the route, with these fields set; `contact__email` sets contact.email."""

    def build(route):
        data = request_data(sailing_factory(route=route))
        for field, value in changes.items():
            outer, _sep, inner = field.partition("__")
            data[outer] = {**data[outer], inner: value} if inner else value
        return data

    return build


def infant_alone(route):
    return request_data(sailing_factory(route=route), passengers=[dict(INFANT)])


def passenger(**fields):
    return changed(passengers=[{**ADULT, **fields}])


BAD_REQUESTS = [
    pytest.param(changed(outbound_sailing_id=987654), "outbound_sailing_id", id="unknown sailing"),
    pytest.param(sailing_gone, "outbound_sailing_id", id="departed sailing"),
    pytest.param(too_late, "outbound_sailing_id", id="sales closed before departure"),
    pytest.param(changed(outbound_sailing_id=None), "outbound_sailing_id", id="no sailing"),
    pytest.param(same_way_back, "return_sailing_id", id="legs that do not match"),
    pytest.param(passenger(last_name=""), "passengers.0.last_name", id="passenger without a name"),
    pytest.param(passenger(first_name="R2-D2"), "passengers.0.first_name", id="digits in a name"),
    pytest.param(infant_alone, "passengers", id="infant without an adult"),
    pytest.param(passenger(date_of_birth="2020-01-01"), "passengers.0.date_of_birth", id="adult too young"),
    pytest.param(changed(passengers=[ADULT] * 10), "passengers", id="ten passengers"),
    pytest.param(vehicle_too_tall, "vehicle.height_cm", id="vehicle too tall for the vessel"),
    pytest.param(changed(vehicle={**CAR, "height_cm": 900}), "vehicle.height_cm", id="vehicle higher than any"),
    pytest.param(sold_out, "outbound_sailing_id", id="over capacity"),
    pytest.param(changed(accommodation="suite"), "accommodation", id="unknown accommodation"),
    pytest.param(changed(contact__email="not-an-email"), "contact.email", id="bad e-mail"),
    # Wrong types, everywhere.
    pytest.param(changed(outbound_sailing_id="abc"), "outbound_sailing_id", id="letters for an id"),
    pytest.param(changed(outbound_sailing_id=1.5), "outbound_sailing_id", id="fraction for an id"),
    pytest.param(changed(outbound_sailing_id=True), "outbound_sailing_id", id="boolean for an id"),
    pytest.param(changed(outbound_sailing_id=10**30), "outbound_sailing_id", id="huge id"),
    pytest.param(changed(outbound_sailing_id=[1]), "outbound_sailing_id", id="list for an id"),
    pytest.param(changed(return_sailing_id={}), "return_sailing_id", id="object for an id"),
    pytest.param(changed(passengers="Amira"), "passengers", id="string for the passengers"),
    pytest.param(changed(passengers=[None]), "passengers.0", id="null passenger"),
    pytest.param(changed(passengers=[["adult"]]), "passengers.0", id="list for a passenger"),
    pytest.param(passenger(type=None), "passengers.0.type", id="null passenger type"),
    pytest.param(passenger(last_name=["Ben", "Salah"]), "passengers.0.last_name", id="list for a name"),
    pytest.param(passenger(date_of_birth=19850412), "passengers.0.date_of_birth", id="number for a date"),
    pytest.param(passenger(date_of_birth="1985-02-30"), "passengers.0.date_of_birth", id="no such date"),
    pytest.param(passenger(nationality=None), "passengers.0.nationality", id="null nationality"),
    pytest.param(passenger(nationality="ZZ"), "passengers.0.nationality", id="nationality of no country"),
    pytest.param(passenger(nationality="XX"), "passengers.0.nationality", id="nationality for unknown"),
    pytest.param(changed(vehicle="car"), "vehicle", id="string for the vehicle"),
    pytest.param(changed(vehicle={**CAR, "category": None}), "vehicle.category", id="null vehicle category"),
    pytest.param(changed(vehicle={**CAR, "length_cm": "long"}), "vehicle.length_cm", id="letters for a length"),
    pytest.param(changed(vehicle={**CAR, "height_cm": None}), "vehicle.height_cm", id="null height"),
    pytest.param(changed(vehicle={**CAR, "registration": 1234}), "vehicle.registration", id="number for a plate"),
    pytest.param(changed(pets="many"), "pets", id="letters for pets"),
    pytest.param(changed(pets=-1), "pets", id="negative pets"),
    pytest.param(changed(accommodation=["deck"]), "accommodation", id="list for the accommodation"),
    pytest.param(changed(contact=[]), "contact", id="list for the contact"),
    pytest.param(changed(contact=None), "contact", id="no contact"),
    pytest.param(changed(contact__name=None), "contact.name", id="null contact name"),
    pytest.param(changed(contact__name="Amira\x00"), "contact.name", id="NUL in the contact name"),
    pytest.param(changed(contact__phone={"number": 1}), "contact.phone", id="object for the phone"),
    pytest.param(lambda route: [request_data(sailing_factory(route=route))], "non_field_errors", id="list body"),
    pytest.param(lambda route: "book me", "non_field_errors", id="string body"),
    pytest.param(lambda route: 42, "non_field_errors", id="number body"),
    pytest.param(lambda route: {}, "outbound_sailing_id", id="empty object"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_REQUESTS)
def test_a_bad_request_is_refused_naming_the_field_and_writes_nothing(api, openapi, tunis_marseille, bad, field):
    response = book(api, bad(tunis_marseille))

    assert response.status_code == 400
    assert_documented(openapi, "post", BOOKINGS, response)
    body = response.json()
    assert field in body, body
    assert all(isinstance(message, str) and message for message in body[field])
    assert nothing_written()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"outbound_sailing_id": ', id="cut short"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested too deep"),
        pytest.param(b'{"outbound_sailing_id": ' + b"9" * 5000 + b"}", id="number too long to read"),
        pytest.param(b'{"pets": NaN}', id="NaN"),
        pytest.param(b"\xff\xfe{\x00}\x00", id="not UTF-8"),
        pytest.param(b"null", id="null"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(api, openapi, tunis_marseille, raw):
    response = api.post(BOOKINGS, raw, content_type="application/json")

    assert response.status_code == 400
    assert_documented(openapi, "post", BOOKINGS, response)
    assert nothing_written()


def test_a_form_encoded_body_is_refused_as_not_json(api, outbound):
    response = api.post(BOOKINGS, {"outbound_sailing_id": outbound.pk})

    assert response.status_code == 415
    assert nothing_written()


def test_a_nationality_that_is_no_country_is_refused_saying_what_is_expected(api, outbound):
    response = book(api, request_data(outbound, passengers=[{**ADULT, "nationality": "ZZ"}]))

    assert response.status_code == 400
    assert response.json() == {
        "passengers.0.nationality": ["ZZ is not a country code of ISO 3166-1, such as TN or FR."]
    }
    assert nothing_written()


def test_the_schema_lists_every_country_code_a_nationality_may_take(openapi):
    schemas = openapi["components"]["schemas"]
    nationality = as_json_schema(schemas["PassengerRequest"]["properties"]["nationality"], schemas)
    codes = next(part["enum"] for part in [nationality, *nationality.get("allOf", [])] if "enum" in part)

    assert {"TN", "FR", "IT", "DZ", "AL"} <= set(codes)
    assert not {"ZZ", "XX", "EU", "tn"} & set(codes)
    assert len(codes) == 249


def test_every_bad_field_is_reported_at_once(api, outbound):
    data = request_data(outbound, vehicle={**CAR, "height_cm": "tall"}, pets=9)
    data["passengers"] = [{**ADULT, "last_name": ""}, {**ADULT, "nationality": "Tunisia"}]

    response = book(api, data)

    assert response.status_code == 400
    assert set(response.json()) == {
        "passengers.0.last_name", "passengers.1.nationality", "vehicle.height_cm", "pets"
    }  # fmt: skip


def test_an_operator_that_does_not_answer_is_a_503_and_nothing_is_booked(api, openapi, settings):
    remote = OperatorFactory(code="REM", name="Remote Lines", integration="http", api_url=DOWN)
    settings.OPERATOR_API_URLS = {"REM": DOWN}
    sailing = sailing_factory(route=RouteFactory(operator=remote))

    response = book(api, request_data(sailing), HTTP_IDEMPOTENCY_KEY="k-down")

    assert response.status_code == 503
    assert_documented(openapi, "post", BOOKINGS, response)
    assert response.json() == {"detail": "Remote Lines is not answering; please try again."}
    assert nothing_written()


# --- the request's schema says what the parser takes -------------------------------------------------------

# Values of the request's fields, each with whether `bookings.requests` takes it (on an otherwise valid request).
FIELD_VALUES = [
    ("PassengerRequest", "first_name", "Zoé", True),
    ("PassengerRequest", "first_name", "Jean-Luc", True),
    ("PassengerRequest", "first_name", "  Ben  Salah ", True),
    ("PassengerRequest", "last_name", "O'Neil", True),
    ("PassengerRequest", "last_name", "Ahmed Jr.", True),
    ("PassengerRequest", "last_name", "Ὀδυσσεύς", True),
    ("PassengerRequest", "first_name", "R2-D2", False),
    ("PassengerRequest", "first_name", "A--B", False),
    ("PassengerRequest", "first_name", "   ", False),
    ("PassengerRequest", "last_name", "Ben_Salah", False),
    ("PassengerRequest", "nationality", "TN", True),
    ("PassengerRequest", "nationality", "tn", False),
    ("PassengerRequest", "nationality", "ZZ", False),
    ("PassengerRequest", "nationality", "T1", False),
    ("PassengerRequest", "document_number", "x1234567", True),
    ("PassengerRequest", "document_number", "X123 4567", False),
    ("PassengerRequest", "document_number", "X12-4567", False),
    ("VehicleRequest", "registration", "123 tu 4567", True),
    ("VehicleRequest", "registration", "AB-123-CD", True),
    ("VehicleRequest", "registration", "-AB123", False),
    ("VehicleRequest", "registration", "AB 123.", False),
    ("ContactRequest", "name", "Amira Ben Salah", True),
    ("ContactRequest", "name", "   ", False),
    ("ContactRequest", "name", "Amira\x07", False),
    ("ContactRequest", "phone", "+216 71 000 000", True),
    ("ContactRequest", "phone", "0123 (45) 67-89.0", True),
    ("ContactRequest", "phone", "+216", False),
    ("ContactRequest", "phone", "phone me", False),
    ("ContactRequest", "phone", "0000000000000000000000000000000", False),
]


def with_field(route, component: str, field: str, value) -> dict:
    """A valid request (one adult and a car) with one field of one part set to `value`."""
    data = request_data(sailing_factory(route=route), vehicle=CAR)
    data |= {"passengers": [dict(data["passengers"][0])], "vehicle": dict(data["vehicle"]), "contact": dict(CONTACT)}
    parts = {
        "PassengerRequest": data["passengers"][0],
        "VehicleRequest": data["vehicle"],
        "ContactRequest": data["contact"],
    }
    parts[component][field] = value
    return data


@pytest.mark.parametrize(("component", "field", "value", "taken"), FIELD_VALUES)
def test_the_booking_requests_schema_allows_a_fields_value_exactly_when_the_booking_is_made_with_it(
    api, openapi, tunis_marseille, component, field, value, taken
):
    schemas = openapi["components"]["schemas"]
    schema = as_json_schema(schemas[component]["properties"][field], schemas)

    response = book(api, with_field(tunis_marseille, component, field, value))

    assert (response.status_code == 201) is taken, response.json()
    # \p{L} (any letter) is in the patterns: checked as JSON Schema validators check them (jsonschema-rs, ECMAScript).
    assert jsonschema_rs.validator_for(schema).is_valid(value) is taken


def test_the_booking_requests_schema_says_how_many_passengers_and_how_large_an_id():
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    request = schemas["BookingRequest"]["properties"]

    assert (request["passengers"]["minItems"], request["passengers"]["maxItems"]) == (1, 9)
    assert request["outbound_sailing_id"]["maximum"] == request["return_sailing_id"]["maximum"] == 2**31 - 1
    assert schemas["ContactRequest"]["properties"]["email"]["maxLength"] == 254


# --- who may read and cancel a booking ----------------------------------------------------------------


@pytest.fixture
def amiras_booking(amira):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(owner=amira)
    return booking


def read(api, booking_or_reference, **headers):
    reference = getattr(booking_or_reference, "reference", booking_or_reference)
    return api.get(f"{BOOKINGS}/{reference}", **headers)


def cancel(api, booking_or_reference, **headers):
    reference = getattr(booking_or_reference, "reference", booking_or_reference)
    return api.post(f"{BOOKINGS}/{reference}/cancel", **headers)


ENDPOINTS = [pytest.param(read, id="read"), pytest.param(cancel, id="cancel")]


@pytest.mark.parametrize("call", ENDPOINTS)
def test_the_owner_signed_in_with_a_token_is_answered(api, amira, amiras_booking, call):
    response = call(api, amiras_booking, **signed_in(amira))

    assert response.status_code == 200
    assert response.json()["reference"] == amiras_booking.reference


@pytest.mark.parametrize("call", ENDPOINTS)
def test_the_bookings_access_token_is_answered_without_an_account(api, amiras_booking, call):
    response = call(api, amiras_booking.reference.lower(), **with_token(access_token(amiras_booking)))

    assert response.status_code == 200
    assert response.json()["reference"] == amiras_booking.reference


def strangers(amira, sami, booking: Booking) -> dict:
    other = held_booking()
    return {
        "no credentials": (booking.reference, {}),
        "another booking's token": (booking.reference, with_token(access_token(other))),
        "a made-up access token": (booking.reference, with_token("0" * 40)),
        "another user's token": (booking.reference, signed_in(sami)),
        "a reference that does not exist": ("ZZZZZZ", {**signed_in(amira), **with_token(access_token(booking))}),
        "another booking's reference": (other.reference, {**signed_in(amira), **with_token(access_token(booking))}),
        "not a reference": ("%00'--", signed_in(amira)),
    }


# Without a credential that opens anything here, the answer is 401 (as the schema's `security` says); a signed-in
# user is answered 404 for a booking that is not theirs. Neither answer depends on whether the booking exists.
NOT_SIGNED_IN = ["no credentials", "another booking's token", "a made-up access token"]
SIGNED_IN = ["another user's token", "a reference that does not exist", "another booking's reference"]
SIGNED_IN += ["not a reference"]


@pytest.mark.parametrize("call", ENDPOINTS)
@pytest.mark.parametrize("who", NOT_SIGNED_IN)
def test_without_a_credential_that_opens_the_booking_the_answer_is_401(
    api, openapi, amira, sami, amiras_booking, call, who
):
    reference, headers = strangers(amira, sami, amiras_booking)[who]

    response = call(api, reference, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert Booking.objects.get(pk=amiras_booking.pk).status == Booking.Status.HELD
    template = f"{BOOKINGS}/{{reference}}" + ("/cancel" if call is cancel else "")
    assert_documented(openapi, "post" if call is cancel else "get", template, response)


@pytest.mark.parametrize("headers", [{}, with_token("0" * 40)], ids=["no credentials", "a made-up access token"])
def test_the_401_is_the_same_whether_or_not_the_booking_exists(api, amiras_booking, headers):
    existing = read(api, amiras_booking, **headers)
    missing = read(api, "ZZZZZZ", **headers)

    assert (existing.status_code, existing.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize("call", ENDPOINTS)
@pytest.mark.parametrize("who", SIGNED_IN)
def test_a_signed_in_user_is_answered_404_as_if_a_booking_not_theirs_did_not_exist(
    api, openapi, amira, sami, amiras_booking, call, who
):
    reference, headers = strangers(amira, sami, amiras_booking)[who]

    response = call(api, reference, **headers)

    assert response.status_code == 404
    assert response.json() == {"detail": "Booking not found."}
    assert Booking.objects.get(pk=amiras_booking.pk).status == Booking.Status.HELD
    template = f"{BOOKINGS}/{{reference}}" + ("/cancel" if call is cancel else "")
    assert_documented(openapi, "post" if call is cancel else "get", template, response)


@pytest.mark.parametrize("key", ["not-a-token", "abc\x00def", "f" * 41], ids=["unknown", "NUL", "too long"])
def test_a_token_that_is_not_a_users_is_refused_whether_or_not_the_booking_exists(api, amiras_booking, key):
    existing = read(api, amiras_booking, HTTP_AUTHORIZATION=f"Token {key}")
    missing = read(api, "ZZZZZZ", HTTP_AUTHORIZATION=f"Token {key}")

    assert (existing.status_code, existing.json()) == (missing.status_code, missing.json())
    assert existing.status_code == 401


# --- reading a booking --------------------------------------------------------------------------------


def test_a_booking_is_read_with_its_history_and_what_cancelling_now_would_refund(
    api, openapi, amira, outbound, fake_stripe
):
    booking = held_booking(outbound, vehicle=CAR)
    Booking.objects.filter(pk=booking.pk).update(owner=amira)
    pay(fake_stripe, booking)
    booking_transition(booking_id=booking.pk, to=Booking.Status.CONFIRMED, actor="operator", reason="confirmed")

    response = read(api, booking, **signed_in(amira))

    assert response.status_code == 200
    assert_documented(openapi, "get", f"{BOOKINGS}/{{reference}}", response)
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["hold_expires_at"] is None
    assert [(e["from"], e["to"]) for e in body["events"]] == [(None, "held"), ("held", "paid"), ("paid", "confirmed")]
    assert body["refund_if_cancelled_now"] == {
        "amount_minor": 25000,
        "currency": "EUR",
        "reason": "policy",
        "message": "What the fare's conditions give back.",
    }
    assert body["vehicles"] == [body["vehicle"]] == [{**CAR, "load": ""}]


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("en", ["Adult (12–64)", "Child (4–11)", "Deck passage", "Car"]),
        ("fr", ["Adulte (12–64 ans)", "Enfant (4–11 ans)", "Passage pont", "Voiture"]),
    ],
)
def test_a_bookings_price_lines_are_named_in_the_language_of_the_request(api, openapi, outbound, language, labels):
    booking = held_booking(outbound, passengers=[ADULT, CHILD], vehicle=CAR)  # made in English

    response = read(api, booking, HTTP_ACCEPT_LANGUAGE=language, **with_token(access_token(booking)))

    assert response.status_code == 200
    assert_documented(openapi, "get", f"{BOOKINGS}/{{reference}}", response)
    [leg] = response.json()["legs"]
    assert [(line["code"], line["label"]) for line in leg["price_lines"]] == list(
        zip(["adult", "child", "accommodation:deck", "vehicle:car"], labels, strict=True)
    )


def test_an_unpaid_booking_would_refund_nothing_and_says_why(api, amiras_booking, amira):
    body = read(api, amiras_booking, **signed_in(amira)).json()

    assert body["refund_if_cancelled_now"] == {
        "amount_minor": 0,
        "currency": "EUR",
        "reason": "not_paid",
        "message": "Nothing has been paid, so there is nothing to refund.",
    }


def test_a_booking_that_no_longer_travels_offers_no_refund_and_says_why(api, amiras_booking, amira):
    Booking.objects.filter(pk=amiras_booking.pk).update(status=Booking.Status.EXPIRED)

    body = read(api, amiras_booking, **signed_in(amira)).json()

    assert body["refund_if_cancelled_now"]["amount_minor"] == 0
    assert body["refund_if_cancelled_now"]["reason"] == "not_active"


def test_the_history_says_who_acted_only_in_general_terms(api, amiras_booking, amira):
    booking_transition(booking_id=amiras_booking.pk, to=Booking.Status.PAID, actor="staff:4242", reason="paid by phone")

    body = read(api, amiras_booking, **signed_in(amira)).json()

    assert [(e["to"], e["by"]) for e in body["events"]] == [("held", "traveller"), ("paid", "staff")]
    assert "4242" not in json.dumps(body["events"])


# --- cancelling ---------------------------------------------------------------------------------------


def test_cancelling_a_paid_booking_refunds_it_by_the_policy_and_gives_the_places_back(api, openapi, amira, outbound):
    booking = paid(held_booking(outbound))
    Booking.objects.filter(pk=booking.pk).update(owner=amira)

    response = cancel(api, booking, **signed_in(amira))

    assert response.status_code == 200
    assert_documented(openapi, "post", f"{BOOKINGS}/{{reference}}/cancel", response)
    assert response.json() == {
        "reference": booking.reference,
        "status": "cancelled",
        "refund": {"amount_minor": 10000, "currency": "EUR"},
    }
    assert passengers_taken(outbound) == 0
    assert BookingEvent.objects.filter(booking=booking, to_status="cancelled").get().actor == f"user:{amira.pk}"


def test_cancelling_a_held_booking_refunds_nothing(api, amiras_booking, amira):
    response = cancel(api, amiras_booking, **signed_in(amira))

    assert response.status_code == 200
    assert response.json()["refund"] == {"amount_minor": 0, "currency": "EUR"}
    assert Booking.objects.get(pk=amiras_booking.pk).status == Booking.Status.CANCELLED


def test_cancelling_twice_answers_the_same_booking_and_refunds_once(api, amira):
    booking = paid(held_booking())
    Booking.objects.filter(pk=booking.pk).update(owner=amira)

    first = cancel(api, booking, **signed_in(amira))
    again = cancel(api, booking, **signed_in(amira))

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["refund"]["amount_minor"] == 10000
    assert again.json() == {**first.json(), "refund": {"amount_minor": 0, "currency": "EUR"}}
    assert BookingEvent.objects.filter(booking=booking, to_status="cancelled").count() == 1


@pytest.mark.parametrize("status", [Booking.Status.EXPIRED, Booking.Status.FAILED])
def test_a_booking_that_no_longer_travels_cannot_be_cancelled(api, openapi, amira, amiras_booking, status):
    Booking.objects.filter(pk=amiras_booking.pk).update(status=status)

    response = cancel(api, amiras_booking, **signed_in(amira))

    assert response.status_code == 409
    assert_documented(openapi, "post", f"{BOOKINGS}/{{reference}}/cancel", response)
    assert "cannot be cancelled" in response.json()["detail"]
    assert response.json()["code"] == "not_cancellable"
    assert Booking.objects.get(pk=amiras_booking.pk).status == status


# --- a user's list of bookings ------------------------------------------------------------------------


def test_a_user_lists_only_their_own_bookings_newest_first(api, openapi, amira, sami):
    older, newer = held_booking(), held_booking()
    Booking.objects.filter(pk__in=[older.pk, newer.pk]).update(owner=amira)
    Booking.objects.filter(pk=older.pk).update(created_at=newer.created_at - dt.timedelta(hours=1))
    Booking.objects.filter(pk=held_booking().pk).update(owner=sami)
    held_booking()  # a guest's

    response = api.get(BOOKINGS, **signed_in(amira))

    assert response.status_code == 200
    assert_documented(openapi, "get", BOOKINGS, response)
    body = response.json()
    assert body["count"] == 2
    assert [b["reference"] for b in body["results"]] == [newer.reference, older.reference]


def test_the_list_comes_in_pages(api, amira):
    for _booking in range(3):
        Booking.objects.filter(pk=held_booking().pk).update(owner=amira)

    body = api.get(BOOKINGS, {"limit": 2}, **signed_in(amira)).json()

    assert (body["count"], len(body["results"])) == (3, 2)
    assert "offset=2" in body["next"]


@pytest.mark.parametrize("limit", ["101", "99999999999999999999", str(2**63)])
def test_a_page_larger_than_the_largest_is_answered_as_the_largest(api, amira, limit):
    Booking.objects.filter(pk=held_booking().pk).update(owner=amira)

    response = api.get(BOOKINGS, {"limit": limit, "offset": "3"}, **signed_in(amira))

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (1, [])
    assert "limit=100" in response.json()["previous"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "ten"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "1.5"}, "offset"),
    ],
)
def test_a_page_asked_for_with_a_limit_or_offset_that_is_not_a_whole_number_is_refused_naming_it(
    api, openapi, amira, query, field
):
    response = api.get(BOOKINGS, query, **signed_in(amira))

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert_documented(openapi, "get", BOOKINGS, response)


def test_a_limit_or_offset_sent_empty_is_read_as_left_out(api, openapi, amira):
    parameters = {p["name"]: p for p in openapi["paths"][BOOKINGS]["get"]["parameters"]}

    response = api.get(BOOKINGS, {"limit": "", "offset": ""}, **signed_in(amira))

    assert response.status_code == 200
    assert parameters["limit"]["allowEmptyValue"] is parameters["offset"]["allowEmptyValue"] is True
    assert (parameters["limit"]["schema"]["minimum"], parameters["offset"]["schema"]["minimum"]) == (1, 0)


def test_the_list_needs_a_token(api, openapi, amira):
    response = api.get(BOOKINGS)

    assert response.status_code == 401
    assert_documented(openapi, "get", BOOKINGS, response)
    assert api.head(BOOKINGS).status_code == 401


def test_a_website_session_does_not_stand_for_a_token(api, amira):
    api.force_login(amira)

    assert api.get(BOOKINGS).status_code == 401


# --- tokens for mobile users --------------------------------------------------------------------------


def test_a_user_gets_a_token_for_their_password_and_lists_their_bookings_with_it(api, openapi, amira):
    response = api.post("/api/v1/auth/token", {"username": "amira", "password": "a long pass phrase"}, format="json")

    assert response.status_code == 200
    assert_documented(openapi, "post", "/api/v1/auth/token", response)
    token = response.json()["token"]
    assert token == Token.objects.get(user=amira).key
    assert APIClient().get(BOOKINGS, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_a_wrong_password_gets_no_token(api, openapi, amira):
    response = api.post("/api/v1/auth/token", {"username": "amira", "password": "guess"}, format="json")

    assert response.status_code == 400
    assert_documented(openapi, "post", "/api/v1/auth/token", response)
    assert not Token.objects.exists()


def test_password_guessing_is_slowed_down(api, amira):
    answers = [
        api.post("/api/v1/auth/token", {"username": "amira", "password": f"guess {n}"}, format="json").status_code
        for n in range(11)
    ]

    assert answers == [400] * 10 + [429]


# --- OpenAPI ------------------------------------------------------------------------------------------


def test_schema_documents_every_bookings_operation_with_its_headers_and_answers(openapi):
    paths = openapi["paths"]
    # DRF's own answers: 406 and 429 everywhere, 401 where a Token is read, 415 where a JSON body is.
    operations = {
        ("post", BOOKINGS): {"201", "400", "422", "503", "401", "406", "415", "429"},
        ("get", BOOKINGS): {"200", "400", "401", "406", "429"},
        ("get", f"{BOOKINGS}/{{reference}}"): {"200", "404", "401", "406", "429"},
        ("post", f"{BOOKINGS}/{{reference}}/cancel"): {"200", "400", "404", "409", "401", "406", "415", "429", "503"},
        ("post", "/api/v1/auth/token"): {"200", "400", "406", "415", "429"},
    }
    for (method, path), statuses in operations.items():
        assert set(paths[path][method]["responses"]) == statuses, (method, path)
    throttled = paths[BOOKINGS]["post"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]
    assert throttled["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    create = paths[BOOKINGS]["post"]
    assert [p["name"] for p in create["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BookingRequest"
    }
    assert "Location" in create["responses"]["201"]["headers"]


# The operations a booking's access token opens, besides its owner's Token.
BOOKING_TOKEN_OPERATIONS = [
    ("get", f"{BOOKINGS}/{{reference}}"),
    ("get", f"{BOOKINGS}/{{reference}}/cancel"),
    ("post", f"{BOOKINGS}/{{reference}}/cancel"),
    ("post", f"{BOOKINGS}/{{reference}}/payment"),
    ("get", f"{BOOKINGS}/{{reference}}/invoices"),
    ("get", f"{BOOKINGS}/{{reference}}/changes"),
    ("post", f"{BOOKINGS}/{{reference}}/changes"),
    ("get", f"{BOOKINGS}/{{reference}}/changes/{{change_id}}"),
    ("post", f"{BOOKINGS}/{{reference}}/changes/{{change_id}}/confirm"),
    ("post", f"{BOOKINGS}/{{reference}}/disruption/accept"),
    ("post", "/api/v1/payments/demo/{intent_id}/card"),
]


def test_the_booking_token_is_a_security_scheme_swagger_can_authorize_with(openapi):
    schemes = openapi["components"]["securitySchemes"]

    assert schemes["bookingToken"] | {"description": ""} == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Booking-Token",
        "description": "",
    }
    assert schemes["bookingToken"]["description"]
    assert schemes["tokenAuth"]["name"] == "Authorization"


@pytest.mark.parametrize(("method", "path"), BOOKING_TOKEN_OPERATIONS)
def test_operations_a_booking_token_opens_take_it_or_the_owners_token_and_no_header_parameter(openapi, method, path):
    operation = openapi["paths"][path][method]

    # Alternatives: one or the other, and not neither (no empty requirement).
    assert operation["security"] == [{"tokenAuth": []}, {"sessionToken": []}, {"bookingToken": []}]
    assert "X-Booking-Token" not in [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
    assert "401" in operation["responses"]


def test_no_other_operation_takes_the_booking_token(openapi):
    takers = {
        (method, path)
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if {"bookingToken": []} in operation.get("security", [])
    }

    assert takers == set(BOOKING_TOKEN_OPERATIONS)


def test_a_request_authorized_as_swagger_does_with_the_booking_token_alone_is_answered(api, openapi, amiras_booking):
    scheme = openapi["components"]["securitySchemes"]["bookingToken"]
    # What Swagger UI sends once "Authorize" is given the token: that header, and nothing else.
    header = {f"HTTP_{scheme['name'].upper().replace('-', '_')}": access_token(amiras_booking)}

    response = api.get(f"{BOOKINGS}/{amiras_booking.reference}", **header)

    assert response.status_code == 200
    assert response.json()["reference"] == amiras_booking.reference


@pytest.mark.parametrize("field", ["username", "password"])
def test_the_schema_says_an_empty_username_or_password_is_refused(openapi, amira, api, field):
    schema = openapi["components"]["schemas"]["AuthTokenRequest"]["properties"][field]
    body = {"username": "amira", "password": "a long pass phrase"} | {field: ""}

    response = api.post("/api/v1/auth/token", body, format="json")

    assert schema["minLength"] == 1
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "   "), ("username", "ami\x00ra"), ("password", "a long\x00pass phrase")],
    ids=["a username of spaces", "a NUL in the username", "a NUL in the password"],
)
def test_what_the_token_endpoint_refuses_the_schema_refuses_too(openapi, amira, api, field, value):
    schema = openapi["components"]["schemas"]["AuthTokenRequest"]["properties"][field]
    body = {"username": "amira", "password": "a long pass phrase"} | {field: value}

    response = api.post("/api/v1/auth/token", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Draft7Validator(schema).is_valid(value)
    assert Draft7Validator(schema).is_valid(body[field].replace("\x00", "").strip() or "x")


# --- fare families --------------------------------------------------------------------------------------------


def test_a_fare_family_of_the_search_is_booked_and_each_leg_answers_its_rules_as_documented(
    api, outbound, inbound, openapi
):
    day = outbound.departs_at.astimezone(outbound.route.origin.tz).date().isoformat()
    search = api.get("/api/v1/sailings/search", {"from": "TNTUN", "to": "FRMRS", "date": day}).json()
    flex = next(fare for fare in search["outbound"][0]["fares"] if fare["fare_family"]["code"] == "flex")

    response = book(api, request_data(outbound, inbound, outbound_fare_family="flex", return_fare_family="basic"))

    assert response.status_code == 201, response.json()
    assert_documented(openapi, "post", BOOKINGS, response)
    legs = {leg["direction"]: leg for leg in response.json()["legs"]}
    assert legs["outbound"]["fare_family"] == {"code": "flex", "name": "Flex"}
    assert legs["outbound"]["price"] == flex["price"]
    assert legs["outbound"]["cancellation_policy"] == flex["cancellation_policy"]
    assert legs["outbound"]["change_policy"] == flex["change_policy"]
    assert legs["return"]["fare_family"]["code"] == "basic"
    assert legs["return"]["change_policy"]["allowed"] is False
    assert response.json()["total"]["amount_minor"] == 12500 + 8500


def test_a_fare_family_the_sailing_is_not_sold_in_is_answered_400_on_its_field(api, outbound):
    response = book(api, request_data(outbound, outbound_fare_family="first-class"))

    assert response.status_code == 400
    assert list(response.json()) == ["outbound_fare_family"]
    assert nothing_written()


def test_extras_of_the_search_are_booked_priced_on_the_server_and_answered_as_documented(api, outbound, openapi):
    day = outbound.departs_at.astimezone(outbound.route.origin.tz).date().isoformat()
    [row] = api.get("/api/v1/sailings/search", {"from": "TNTUN", "to": "FRMRS", "date": day}).json()["outbound"]
    units = {extra["code"]: extra["unit"]["amount_minor"] for extra in row["extras"]}

    response = book(
        api,
        request_data(outbound, outbound_extras={"dinners": 1, "priority_boarding": True}, cancellation_protection=True),
    )

    assert response.status_code == 201, response.json()
    assert_documented(openapi, "post", BOOKINGS, response)
    body = response.json()
    assert units == {"meal:dinner": 2500, "meal:breakfast": 1200, "priority_boarding": 1500, "protection": 800}
    lines = {line["code"]: line for line in body["legs"][0]["price_lines"]}
    assert lines["meal:dinner"]["label"] == "Dinner"
    assert lines["protection"]["total"]["amount_minor"] == 800
    assert body["cancellation_protection"] is True
    assert body["total"]["amount_minor"] == 10000 + 2500 + 1500 + 800
