"""The demo checkout: pay with a test card on a machine without Stripe keys (DEBUG only).

Confirming a demo intent produces the Stripe-format event Stripe would send, signed with Stripe's
own signing code and the endpoint's secret, and delivers it to our webhook endpoint like Stripe
does, so the rest of the journey runs exactly as in production.
"""

import json
import logging
import secrets
import time

import requests
import stripe
from django.db import transaction

from payments.models import DemoIntent
from payments.providers import webhook_secret

logger = logging.getLogger(__name__)

# Stripe's own test card numbers, and what they do.
TEST_CARDS = {
    "4242424242424242": ("succeeded", ""),
    "4000000000000002": ("requires_payment_method", "Your card was declined."),
    "4000000000009995": ("requires_payment_method", "Your card has insufficient funds."),
}
STRIPE_API_VERSION = "2025-10-29.clover"


def demo_pay(*, intent_id: str, card_number: str) -> tuple[str, str]:
    """Confirm the intent with a test card; answers the event to deliver (JSON text) and its Stripe-Signature."""
    status, error = TEST_CARDS.get("".join(card_number.split()), ("requires_payment_method", "Use a test card."))
    with transaction.atomic():
        intent = DemoIntent.objects.select_for_update().get(intent_id=intent_id)
        if intent.status not in {"succeeded", "canceled"}:
            intent.status, intent.last_error = status, error
            intent.save(update_fields=["status", "last_error"])
    kind = "payment_intent.succeeded" if intent.status == "succeeded" else "payment_intent.payment_failed"
    payload = json.dumps(_event(kind, intent))
    return payload, stripe.WebhookSignature.generate_signature_header(payload, webhook_secret())


def demo_deliver(*, url: str, payload: str, signature: str) -> bool:
    """POST the event to the webhook endpoint as Stripe would; False if it could not be delivered."""
    try:
        response = requests.post(
            url, data=payload.encode(), timeout=10,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )  # fmt: skip
    except requests.RequestException as exc:
        logger.info("demo event not delivered over HTTP to %s: %r", url, exc)
        return False
    return response.status_code == 200


def _event(kind: str, intent: DemoIntent) -> dict:
    return {
        "id": "evt_demo_" + secrets.token_hex(12),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {
            "object": {
                "id": intent.intent_id,
                "object": "payment_intent",
                "amount": intent.amount_minor,
                "currency": intent.currency.lower(),
                "status": intent.status,
                "metadata": intent.metadata,
                "last_payment_error": {"message": intent.last_error} if intent.last_error else None,
            }
        },
    }
