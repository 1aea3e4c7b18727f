import datetime as dt
import json
import secrets
import time

import pytest
import stripe

from payments.tests.stripe_fake import FakeStripe

WEBHOOK_SECRET = "whsec_test_" + "s" * 24
# As the environment of a process talking to Stripe (answered locally) sets them.
STRIPE_KEYS = {
    "STRIPE_SECRET_KEY": "sk_test_" + "k" * 24,
    "STRIPE_PUBLISHABLE_KEY": "pk_test_" + "k" * 24,
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}
# A card that has not expired, as the app sends it and as the checkout form takes it; only its number varies.
CARD_EXPIRY = {"exp_month": 12, "exp_year": dt.date.today().year + 3, "cvc": "123"}
CARD_FORM = {"expiry": f"12/{(dt.date.today().year + 3) % 100:02d}", "cvc": "123"}


def card(number: str = "4242424242424242") -> dict:
    return {"card_number": number, **CARD_EXPIRY}


def card_form(number: str = "4242424242424242") -> dict:
    return {"card_number": number, **CARD_FORM}


@pytest.fixture
def fake_stripe(settings):
    """The real stripe SDK, configured as in production, talking to Stripe's API answered locally."""
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = STRIPE_KEYS["STRIPE_SECRET_KEY"]
    settings.STRIPE_PUBLISHABLE_KEY = STRIPE_KEYS["STRIPE_PUBLISHABLE_KEY"]
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    settings.PAYMENTS_PROVIDER = "stripe"
    yield fake
    fake.stop()


def stripe_event(kind: str, obj: dict, *, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    )


def signed(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    """Headers as Stripe sends them, signed with the SDK's own signing code."""
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return {"HTTP_STRIPE_SIGNATURE": header, "content_type": "application/json"}
