"""schemathesis, every check, against allauth's headless "app" API (django-allauth 65.22.1) as its own
OpenAPI document (/_allauth/openapi.json) describes it — anonymous (made-up X-Session-Token) and signed in (a real
one, of a verified account, fresh for each request).

Where allauth's document and allauth differ, harmlessly, the checks are narrowed (anything else still fails):
  * /_allauth/app/v1/account/phone is left out: accounts here have no phone number, and allauth's page for it
    failed (500s); it is answered 404 in front of allauth (accounts/urls.py), which a test below checks.
  * 401 is added to the spec copy for PUT/PATCH/DELETE /account/email and POST /auth/reauthenticate (allauth
    answers 401 to an anonymous caller there, as everywhere else, but its spec leaves it out).
  * content_type_conformance: a bare `400 text/html` with an empty body is let through — allauth's answer to a body
    that is not a JSON object (null, 0, [], "x", bad UTF-8); everything else must be application/json.
  * unsupported_method: a 400/409 to TRACE is let through — allauth validates the body and the login stage before
    it looks at the method; 405 is still expected otherwise, never a 2xx or 5xx.
  * positive_data_acceptance: a 400 in allauth's error envelope naming only the error codes of RULES_BEYOND_THE_SPEC
    is let through (wrong password/key/token, unknown or duplicate address, and the spec's lax `type: string`
    fields: empty strings, any text as e-mail or phone); any other refusal fails.
"""

import copy
import itertools
import json
import logging

import pytest
import requests
import schemathesis
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.test import Client
from schemathesis.openapi.checks import RejectedPositiveData, UndefinedContentType, UnsupportedMethodResponse
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    unsupported_method,
)

from maritime.tests.fuzzing import fuzzed_schema, hypothesis_settings

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 12  # per operation and test: allauth's 27 operations in about a minute
HYPOTHESIS = hypothesis_settings(max_examples=MAX_EXAMPLES)
PASSWORD = "a long pass phrase"
PREFIX = "/_allauth/app/v1"
# Accounts here have no phone number; allauth's page for it failed (500s) and is answered 404 (accounts/urls.py).
NOT_OFFERED = f"{PREFIX}/account/phone"


def served_spec() -> dict:
    response = Client().get("/_allauth/openapi.json")
    assert response.status_code == 200
    return response.json()


SPEC = served_spec()


def fixed_spec() -> dict:
    spec = copy.deepcopy(SPEC)
    unauthenticated = {"$ref": "#/components/responses/Authentication"}
    for method, path in [("put", "/account/email"), ("patch", "/account/email"), ("delete", "/account/email"),
                         ("post", "/auth/reauthenticate")]:  # fmt: skip
        responses = spec["paths"][PREFIX + path][method]["responses"]
        assert "401" not in responses, (method, path)  # once allauth's document has it, this goes
        responses["401"] = unauthenticated
    return spec


def load_schema(*, credentials: bool) -> schemathesis.BaseSchema:
    schema = fuzzed_schema(fixed_spec(), max_examples=MAX_EXAMPLES, credentials=credentials)
    return schema.exclude(path=NOT_OFFERED)


schema = load_schema(credentials=True)  # X-Session-Token made up, as the spec describes it
schema_signed_in = load_schema(credentials=False)  # the test sends a real one

# Error codes allauth gives a request its spec allows: what no spec can know (credentials, keys, tokens, addresses
# on file), and what its spec does not state (`type: string` with no minLength or format for e-mail and phone).
RULES_BEYOND_THE_SPEC = {
    "incorrect_password", "email_password_mismatch", "enter_current_password",
    "invalid_or_expired_key", "invalid_password_reset",
    "unknown_email", "unknown_phone", "duplicate_email",
    "required", "invalid", "invalid_phone", "null_characters_not_allowed", "password_too_short",
}  # fmt: skip


def positive_data_accepted_but_for_rules_beyond_the_spec(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code != 400:
            raise
        body = json.loads(response.content)
        if body.get("status") != 400:
            raise
        if "errors" not in body and case.operation.path == f"{PREFIX}/tokens/refresh":
            return None  # an unknown refresh token: allauth names no error
        codes = {error.get("code") for error in body.get("errors", [])}
        if not codes or not codes <= RULES_BEYOND_THE_SPEC:
            raise
        return None


def content_type_conformance_but_bare_400(ctx, response, case):
    try:
        return content_type_conformance(ctx, response, case)
    except UndefinedContentType:
        if response.status_code == 400 and not response.content:
            body = response.request.body
            try:
                if not isinstance(json.loads(body), dict):
                    return None  # allauth's HttpResponseBadRequest() for a body that is not a JSON object
            except (TypeError, ValueError):
                return None
        raise


def unsupported_method_refused(ctx, response, case):
    try:
        return unsupported_method(ctx, response, case)
    except UnsupportedMethodResponse:
        if response.status_code in (400, 409):
            return None  # refused for its body or login stage before allauth looks at the method
        raise


def call_and_validate(test, case, base_url, headers=None):
    response = case.call_and_validate(
        base_url=base_url,
        headers=headers,
        excluded_checks=[positive_data_acceptance, content_type_conformance, unsupported_method],
        additional_checks=[
            positive_data_accepted_but_for_rules_beyond_the_spec,
            content_type_conformance_but_bare_400,
            unsupported_method_refused,
        ],
    )
    assert response.status_code < 500, (test, case.operation.label)


class Who:
    """A verified traveller, signed in afresh through the headless API for each request (a request may sign out)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.numbers = itertools.count()
        self.new_user()

    def new_user(self):
        n = next(self.numbers)
        self.email = f"fuzz.{n}@example.com"
        user = User.objects.create_user(f"fuzz{n}", email=self.email, password=PASSWORD)
        EmailAddress.objects.create(user=user, email=self.email, verified=True, primary=True)

    def session_token(self) -> str:
        for _ in range(2):
            answer = requests.post(
                f"{self.base_url}{PREFIX}/auth/login", json={"email": self.email, "password": PASSWORD}, timeout=10
            )
            if answer.status_code == 200:
                return answer.json()["meta"]["session_token"]
            self.new_user()  # the last one's e-mail or password was changed by a fuzzed request
        raise AssertionError(answer.text)


@pytest.fixture
def base_url(live_server, settings, eager_tasks):
    settings.ACCOUNT_RATE_LIMITS = False  # fuzzing sends far more than allauth's limits allow
    return live_server.url


@pytest.fixture
def who(base_url):
    return Who(base_url)


def test_the_spec_is_the_one_the_live_server_serves(base_url):
    assert requests.get(f"{base_url}/_allauth/openapi.json", timeout=10).json() == SPEC


@schema.parametrize()
@HYPOTHESIS
def test_anonymous(case, base_url, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    call_and_validate("anonymous", case, base_url)


@schema_signed_in.parametrize()
@HYPOTHESIS
def test_signed_in(case, who, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    call_and_validate("signed_in", case, who.base_url, {"X-Session-Token": who.session_token()})


def test_the_phone_page_accounts_do_not_have_answers_404_to_every_method(who):
    token = {"X-Session-Token": who.session_token()}
    url = who.base_url + NOT_OFFERED
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        for headers in (token, {}):
            answer = requests.request(method, url, headers=headers, json={"phone": "+21620123456"}, timeout=10)
            assert answer.status_code == 404, (method, headers)
            assert answer.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("key", ["-abc", "-0-0", "  -abc", "1\x00-abc", "", -4.6e222, -12])
def test_a_reset_key_without_its_user_part_is_refused_as_any_wrong_key(client, key):
    """allauth's own view failed (500) on these: accounts/headless.py refuses them as it refuses a wrong key."""
    url = f"{PREFIX}/auth/password/reset"
    answers = [
        client.post(url, {"key": key, "password": PASSWORD}, content_type="application/json"),
        client.get(url, HTTP_X_PASSWORD_RESET_KEY=str(key)),
    ]
    for answer in answers:
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] in {"invalid_password_reset", "required"}
