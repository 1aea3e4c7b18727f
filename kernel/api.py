"""What every app's JSON API shares: rule errors answered the DRF way, how the schema describes them and the
answers DRF itself gives, pages of bounded size, a JSON parser and token authentication that answer malformed input
with a 4xx, never a 500, and answers made into JSON as DRF makes them, by orjson."""

import functools
import re
from collections.abc import Mapping

import orjson
from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import authentication, pagination, serializers
from rest_framework.exceptions import AuthenticationFailed, ParseError, ValidationError
from rest_framework.fields import SkipField, empty
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.utils.encoders import JSONEncoder

# Dates and times go to DRF's encoder ("Z" for UTC), as does anything else orjson does not know (Decimals written as
# numbers, lazy translations as their text; dataclasses refused, as DRF refuses them).
_AS_DRF = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_DRF_DEFAULT = JSONEncoder().default
_LINE_SEPARATORS = {b"\xe2\x80\xa8": b"\\u2028", b"\xe2\x80\xa9": b"\\u2029"}


def json_bytes(value: dict | list) -> bytes:
    """`value` in JSON as DRF's JSONRenderer writes it (compact, UTF-8, the two line separators that JavaScript's
    strings refuse escaped), made by orjson in a fourteenth of the time: the answers sent as the cache keeps them (a
    search's, a calendar's) are made on every miss. Byte for byte but for floats, which orjson writes in its own
    shortest form of the same number (0.00001 for 1e-05), NaN and infinities as null where DRF refuses them; what
    orjson refuses (keys that are not strings, integers beyond 64 bits) is written by DRF's renderer itself."""
    try:
        body = orjson.dumps(value, default=_DRF_DEFAULT, option=_AS_DRF)
    except orjson.JSONEncodeError:
        return JSONRenderer().render(value)
    for raw, escaped in _LINE_SEPARATORS.items():
        if raw in body:
            body = body.replace(raw, escaped)
    return body


def api_validation_error(error: DjangoValidationError) -> ValidationError:
    """Services and parsers raise Django's ValidationError; API clients get DRF's 400 {field: [messages]}."""
    if not hasattr(error, "error_dict"):
        return ValidationError({api_settings.NON_FIELD_ERRORS_KEY: error.messages})
    return ValidationError(
        {
            api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
            for field, messages in error.message_dict.items()
        }
    )


# An input declaration that reports every problem at once: each field's, then those of the rules across fields
# (`check`), which see the values read and the errors so far — a traveller fixes a form in one go. `check(values,
# errors)` adds its errors with `add_error` and answers what the input reads as (`values`, or a domain value made of
# them). Its fields hold no state: one instance can serve every request (its fields are then built once). (Said here
# rather than in a docstring, which drf-spectacular would give every input schema as its description.)
class InputSerializer(serializers.Serializer):
    default_error_messages = {"invalid": gettext_lazy("Send a JSON object.")}

    def run_validation(self, data=empty):
        # Left out, null or not an object alike: answered with the declaration's own "invalid" message.
        return self.to_internal_value(data)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            self.fail("invalid")
        values, errors = {}, {}
        for field in self._writable_fields:
            try:
                values[field.field_name] = self.read_field(field, data, values)
            except ValidationError as error:
                errors[field.field_name] = error.detail
            except SkipField:
                pass
        result = self.check(values, errors)
        if errors:
            raise ValidationError(errors)
        return result

    def read_field(self, field: serializers.Field, data: Mapping, values: dict):
        """A field's value; a field whose reading depends on the fields before it reads `values`."""
        return field.run_validation(field.get_value(data))

    def check(self, values: dict, errors: dict):
        return values


def represented(serializer_class: type[serializers.BaseSerializer], instance) -> dict:
    """`serializer_class(instance).data`, by one instance of the output serializer per process: an output declaration
    holds no state of a request, and its fields (deep copies of the declared ones) are then built once, not at every
    answer."""
    return _output_serializer(serializer_class).to_representation(instance)


@functools.cache
def _output_serializer(serializer_class: type[serializers.BaseSerializer]) -> serializers.BaseSerializer:
    return serializer_class()


def add_error(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def validation_error(error: ValidationError, *, nested: str = ".") -> DjangoValidationError:
    """A serializer's refusal as services and forms raise it: {"passengers.0.last_name": [messages]}, nested fields
    joined by `nested`; an object's own errors (not a field's) are the object's path."""
    flat: dict[str, list[str]] = {}

    def walk(detail, path: str) -> None:
        if isinstance(detail, dict):
            for key, value in detail.items():
                if not path:
                    walk(value, str(key))
                else:
                    walk(value, path if key == api_settings.NON_FIELD_ERRORS_KEY else f"{path}{nested}{key}")
        elif detail and isinstance(detail[0], dict | list):
            for index, value in enumerate(detail):
                walk(value, f"{path}{nested}{index}")
        else:
            flat.setdefault(path or NON_FIELD_ERRORS, []).extend(str(message) for message in detail)

    walk(error.detail, "")
    return DjangoValidationError(flat)


VALIDATION_ERROR_RESPONSE = OpenApiResponse(
    response={
        "type": "object",
        "description": "Each field in error (a query parameter or `non_field_errors`) with its messages.",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description="The request was refused; nothing was changed.",
    examples=[OpenApiExample("A date in the past", value={"date": ["This date is in the past."]})],
)

# A refused JSON body: each field in error, by its path in the body (`passengers.0.last_name`) or a header's
# name, with its messages; or `detail` alone when the body could not be read as JSON at all.
BODY_ERRORS_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


class JSONBodyParser(JSONParser):
    """DRF's JSON parser, answering 400 rather than 500 to a body nested too deep for Python's parser."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deep.")) from None


# What a token key can be at all (DRF makes 40 hex digits); anything else is refused before the database is asked.
TOKEN_KEY = re.compile(r"[\x21-\x7e]{1,40}")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, answering 401 rather than 500 to a key PostgreSQL cannot even compare
    (a NUL character in it)."""

    def authenticate_credentials(self, key):
        if not TOKEN_KEY.fullmatch(key):
            raise AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(key)


# What a session key can be (Django makes 32 lower-case letters and digits).
SESSION_KEY = re.compile(r"[a-z0-9]{1,40}")


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """The mobile app's `X-Session-Token`, as allauth's headless API gives it at sign-in: the same user as its
    session. A token that opens nothing (expired, signed out, made up) is refused with 401, not read as no token."""

    allow_invalid_session_tokens = False

    def authenticate(self, request):
        token = self.get_session_token(request)
        if token and not SESSION_KEY.fullmatch(token):
            raise AuthenticationFailed(_("Invalid session token."))
        return super().authenticate(request)

    def authenticate_header(self, request) -> None:
        return None  # `Token` is the scheme a 401 names (TokenAuthentication comes first)


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kernel.api.SessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "The session token allauth's headless API (`/_allauth/app/v1/auth/login`, "
            "`…/auth/signup`) answers in `meta.session_token` once the traveller is signed in.",
        }


# How the mobile app signs in: a staff-made API Token, or a traveller's session token.
APP_AUTHENTICATION = [TokenAuthentication, SessionTokenAuthentication]

WHOLE_NUMBER = re.compile(r"[0-9]+")

PAGE_ERROR_RESPONSE = OpenApiResponse(
    response=VALIDATION_ERROR_RESPONSE.response,
    description="The page asked for is refused: `limit` or `offset` is not a whole number (at least 1, and 0).",
    examples=[
        OpenApiExample("A limit of 0", value={"limit": ["Enter a whole number of at least 1, or leave it out."]})
    ],
)


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's `limit`/`offset` pages, at most `max_limit` results each: a larger `limit` is answered as that many.
    Unbounded, a limit past PostgreSQL's bigint reached the database and failed there (a 500). A limit or offset that
    is not a whole number (at least 1 and 0) is refused naming it, where DRF would quietly answer the first page; sent
    empty, it is read as left out."""

    max_limit = 100
    limit_query_description = "Results per page, at most 100 (a larger limit is answered as 100)."
    minimums = {"limit": 1, "offset": 0}

    def paginate_queryset(self, queryset, request, view=None):
        errors = {}
        for name, minimum in self.minimums.items():
            value = request.query_params.get(name, "").strip()
            if value and (not WHOLE_NUMBER.fullmatch(value) or int(value) < minimum):
                errors[name] = [_("Enter a whole number of at least %(min)d, or leave it out.") % {"min": minimum}]
        if errors:
            raise ValidationError(errors)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = self.minimums[parameter["name"]]
        return parameters


# --- what DRF answers before a view's own code runs, in the schema ------------------------------------------

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERROR_COMPONENT = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
_RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before sending it again."}
}
_FRAMEWORK_ANSWERS = {
    "401": "The `Authorization` header is not a valid `Token …`, or `X-Session-Token` opens no session (leave them "
    "out to send none).",
    "406": "The `Accept` header names no media type this API answers with: it answers `application/json`.",
    "415": "The body is not sent as `Content-Type: application/json`; nothing was changed.",
    "429": "Too many requests from this client; `Retry-After` says in how many seconds to retry.",
}


def _framework_answers(operation: dict) -> list[str]:
    codes = ["406", "429"]  # every operation answers JSON only and is rate-limited
    if {"tokenAuth": []} in operation.get("security", []) or {"sessionToken": []} in operation.get("security", []):
        codes.append("401")
    if "requestBody" in operation:
        codes.append("415")
    return codes


def document_empty_query_values(result, generator, request, public):
    """drf-spectacular postprocessing hook: an optional query parameter sent empty (`?vehicle=`) is read as left out,
    by the search and the pages alike, so each one says so (`allowEmptyValue`)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


def document_framework_answers(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation lists the answers DRF gives before the view runs —
    406 and 429 everywhere, 401 where a Token is read, 415 where a body is — each a JSON `{"detail": …}`, 429
    with its `Retry-After`. An operation that describes one of them itself keeps its words."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", _ERROR_COMPONENT)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in _framework_answers(operation):
                answer = responses.setdefault(code, {"description": _FRAMEWORK_ANSWERS[code]})
                answer.setdefault("content", {"application/json": {"schema": _ERROR}})
                if code == "429":
                    answer.setdefault("headers", _RETRY_AFTER)
    return result
