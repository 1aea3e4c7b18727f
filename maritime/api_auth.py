"""Tokens for mobile apps: a user's username and password, once, for the `Authorization: Token …` that
signs every later request (DRF's token authentication)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle

from kernel.api import BODY_ERRORS_SCHEMA, JSONBodyParser


# Documentation only: DRF's AuthTokenSerializer reads the body. It refuses an empty username or password, a username of
# spaces alone (it trims it) and a NUL character in either; the schema says so, in these patterns. (A comment, not a
# docstring: a docstring would be the schema's description of the request.)
@extend_schema_serializer(component_name="AuthTokenRequest")
class AuthTokenInputSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[^\x00]*[^\s\x00][^\x00]*$", min_length=1)
    password = serializers.RegexField(r"^[^\x00]+$", min_length=1)


@extend_schema_serializer(component_name="AuthToken")
class AuthTokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. It does not expire.")


class AuthTokenThrottle(AnonRateThrottle):
    # Slows password guessing from one address; with the cache down, no request is counted (nor refused).
    scope = "auth_token"
    rate = "10/minute"


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_token",
        summary="A user's API token, for their username and password",
        description="The same token is answered every time. Signed in with it, bookings made are the user's and "
        "`/api/v1/bookings` lists them.",
        request=AuthTokenInputSerializer,
        responses={
            200: AuthTokenOutputSerializer,
            400: OpenApiResponse(
                response=BODY_ERRORS_SCHEMA,
                description="Missing or wrong credentials.",
                examples=[
                    OpenApiExample(
                        "Wrong password", value={"non_field_errors": ["Unable to log in with provided credentials."]}
                    )
                ],
            ),
            429: OpenApiResponse(description="Too many attempts from this address; `Retry-After` says when to retry."),
        },
    )
)
class AuthTokenApi(ObtainAuthToken):
    # No session, cookie or earlier token plays a part in getting a token: only the credentials sent.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONBodyParser]
    throttle_classes = [AuthTokenThrottle]
