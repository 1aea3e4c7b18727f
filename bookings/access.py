"""Who may see a booking: its owner, or a guest holding its access token (API) or reference + e-mail (website).

The guest token is derived from a per-booking salt and SECRET_KEY, so it is never stored and the same
token can be answered again to a client that repeats its request with the same Idempotency-Key.
"""

import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

from bookings.models import Booking

KEY_SALT = "bookings.access"


def new_access_salt() -> str:
    return secrets.token_hex(16)


def access_token(booking: Booking) -> str:
    return salted_hmac(KEY_SALT, f"{booking.reference}:{booking.access_salt}", algorithm="sha256").hexdigest()[:40]


def token_opens(booking: Booking, token: str) -> bool:
    return bool(token) and constant_time_compare(access_token(booking), token)
