"""Guards in front of allauth's headless API where it would answer 500 to a malformed request (django-allauth
65.22): a password reset key whose part before the "-" (the user's id) is blank or holds a NUL character reaches
allauth's token form as None,
which fails with a TypeError instead of refusing the key. Refused here as allauth refuses any wrong key."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_resolver
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

RESET_PATH = "app/v1/auth/password/reset"


def _malformed(key) -> bool:
    """Its user part (before the first "-") is what Django's CharField refuses: blank, or with a NUL character. A
    number is read as its text, as allauth's form reads it (-4.6e+222: nothing before the "-")."""
    if isinstance(key, int | float) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str):
        return False
    user_part = key.partition("-")[0]
    return not user_part.strip() or "\x00" in user_part


@csrf_exempt  # allauth's view is: the app sends its session token, never a cookie
def password_reset(request: HttpRequest) -> HttpResponse:
    key = request.headers.get("X-Password-Reset-Key") if request.method == "GET" else None
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            body = None
        key = body.get("key") if isinstance(body, dict) else None
    if _malformed(key):
        error = {"message": _("The password reset token was invalid."), "code": "invalid_password_reset",
                 "param": "key"}  # fmt: skip
        return JsonResponse({"status": 400, "errors": [error]}, status=400)
    return get_resolver("allauth.headless.urls").resolve(f"/{RESET_PATH}").func(request)
