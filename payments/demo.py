"""The demo checkout: pay with a test card on a machine without Stripe keys (DEBUG only).

Confirming a demo intent produces the Stripe-format event Stripe would send, signed with Stripe's
own signing code and the endpoint's secret, and delivers it to our webhook endpoint like Stripe
does, so the rest of the journey runs exactly as in production.
"""

import json
import logging
import secrets
import time
from dataclasses import dataclass

import requests
import stripe
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.models import DemoIntent
from payments.providers import webhook_secret

logger = logging.getLogger(__name__)

# Stripe's own test card numbers, and what each does (their decline messages are Stripe's).
TEST_CARDS = {
    "4242424242424242": ("succeeded", ""),
    "4000000000000002": ("requires_payment_method", gettext_lazy("Your card was declined.")),
    "4000000000009995": ("requires_payment_method", gettext_lazy("Your card has insufficient funds.")),
    "4000000000000069": ("requires_payment_method", gettext_lazy("Your card has expired.")),
    "4000000000000127": ("requires_payment_method", gettext_lazy("Your card's security code is incorrect.")),
    "4000000000000119": (
        "requires_payment_method",
        gettext_lazy("An error occurred while processing your card. Try again in a little bit."),
    ),
}
# A real card's number in test mode: Stripe declines it.
NOT_A_TEST_CARD = gettext_lazy("Your card was declined: in demo mode, use one of Stripe's test cards.")
STRIPE_API_VERSION = "2025-10-29.clover"


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


def demo_card_check(*, number: str, exp_month: int | str, exp_year: int | str, cvc: str) -> Card:
    """The card as Stripe reads it before charging anything, or ValidationError naming each field that is wrong:
    a number of 12 to 19 digits passing the Luhn check, an expiry month and year not in the past (a two-digit year is
    of this century), a security code of 3 digits (4 for American Express)."""
    errors: dict[str, list[str]] = {}
    digits = "".join(str(number).split())
    if not (digits.isdigit() and 12 <= len(digits) <= 19 and _luhn(digits)):
        errors["card_number"] = [_("Your card number is invalid.")]
    month, year = _as_int(exp_month), _as_int(exp_year)
    if year is not None and year < 100:
        year += 2000
    today = timezone.now().date()
    if month is None or not 1 <= month <= 12:
        errors["exp_month"] = [_("Your card's expiration month is invalid.")]
    elif year is None or not today.year - 50 <= year <= today.year + 50:
        errors["exp_year"] = [_("Your card's expiration year is invalid.")]
    elif (year, month) < (today.year, today.month):
        errors["exp_year"] = [_("Your card's expiration date is in the past.")]
    amex = digits[:2] in {"34", "37"}
    if not (str(cvc).isdigit() and len(str(cvc)) == (4 if amex else 3)):
        errors["cvc"] = [_("Your card's security code is invalid.")]
    if errors:
        raise ValidationError(errors)
    return Card(number=digits, exp_month=month, exp_year=year, cvc=str(cvc))


def demo_expiry(typed: str) -> tuple[str, str]:
    """(month, year) from an expiry typed as MM/YY, MM / YY or MM/YYYY; empty parts when it is not one."""
    month, _sep, year = typed.replace(" ", "").partition("/")
    return month, year


def _as_int(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def demo_pay(*, intent_id: str, card: Card) -> tuple[str, str]:
    """Confirm the intent with a checked test card; answers the event to deliver (JSON text) and its
    Stripe-Signature."""
    status, error = TEST_CARDS.get(card.number, ("requires_payment_method", NOT_A_TEST_CARD))
    error = str(error)
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
