"""Where money moves: Stripe, or the demo provider that plays Stripe on a machine without keys.

Both answer in the same small shapes; the rest of the app never sees which one is in use, nor
imports `stripe` (only this app does).
"""

import abc
import datetime as dt
import secrets
import threading
from dataclasses import dataclass, field

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from payments.models import DemoIntent, DemoRefund

# Stripe's errors worth another try: the network, Stripe's own trouble, too many requests.
TRANSIENT_STRIPE_ERRORS = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # Stripe's PaymentIntent status: requires_payment_method, processing, succeeded, canceled…
    amount_minor: int
    currency: str
    client_secret: str
    metadata: dict
    last_error: str = ""
    amount_received: int = 0  # what was actually taken, in `currency`


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount_minor: int
    payment_intent: str
    currency: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DisputeInfo:
    id: str
    status: str  # warning_needs_response, needs_response, under_review, won, lost…
    amount_minor: int
    currency: str
    reason: str
    payment_intent: str
    evidence_due_by: dt.datetime | None


# The metadata key a refund of ours carries at the provider: a refund without it was made elsewhere (the dashboard).
REFUND_KEY_METADATA = "maritime_refund_key"


class PaymentProvider(abc.ABC):
    name: str

    @property
    @abc.abstractmethod
    def publishable_key(self) -> str: ...

    @abc.abstractmethod
    def create_intent(self, *, amount_minor: int, currency: str, metadata: dict, idempotency_key: str) -> Intent: ...

    @abc.abstractmethod
    def retrieve_intent(self, intent_id: str) -> Intent: ...

    @abc.abstractmethod
    def cancel_intent(self, intent_id: str) -> Intent: ...

    @abc.abstractmethod
    def create_refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> RefundInfo:
        """Refund part of the intent; the refund carries the idempotency key in its metadata (REFUND_KEY_METADATA)."""

    @abc.abstractmethod
    def retrieve_refund(self, refund_id: str) -> RefundInfo: ...

    @abc.abstractmethod
    def list_refunds(self, intent_id: str) -> list[RefundInfo]:
        """Every refund of the intent, wherever it was made."""

    @abc.abstractmethod
    def retrieve_dispute(self, dispute_id: str) -> DisputeInfo: ...


_clients: dict[tuple, stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _stripe_client() -> stripe.StripeClient:
    """One client per process and configuration: its HTTP sessions (one per thread) keep their connections to Stripe
    open, so a call does not pay for a new TCP and TLS connection each time."""
    config = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT)
    with _clients_lock:
        if config not in _clients:
            _clients[config] = stripe.StripeClient(
                settings.STRIPE_SECRET_KEY,
                base_addresses={"api": settings.STRIPE_API_BASE},
                # The SDK retries network failures itself, with the same idempotency key.
                max_network_retries=2,
                http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
            )
        return _clients[config]


class StripeProvider(PaymentProvider):
    name = "stripe"

    def __init__(self):
        self.client = _stripe_client()

    @property
    def publishable_key(self) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY

    def create_intent(self, *, amount_minor, currency, metadata, idempotency_key) -> Intent:
        params = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "metadata": metadata,
            "automatic_payment_methods": {"enabled": True},
        }
        return _intent(self.client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key}))

    def retrieve_intent(self, intent_id: str) -> Intent:
        return _intent(self.client.v1.payment_intents.retrieve(intent_id))

    def cancel_intent(self, intent_id: str) -> Intent:
        return _intent(self.client.v1.payment_intents.cancel(intent_id))

    def create_refund(self, *, intent_id, amount_minor, idempotency_key) -> RefundInfo:
        params = {
            "payment_intent": intent_id,
            "amount": amount_minor,
            "metadata": {REFUND_KEY_METADATA: idempotency_key},
        }
        return _refund(self.client.v1.refunds.create(params, {"idempotency_key": idempotency_key}))

    def retrieve_refund(self, refund_id: str) -> RefundInfo:
        return _refund(self.client.v1.refunds.retrieve(refund_id))

    def list_refunds(self, intent_id: str) -> list[RefundInfo]:
        listed = self.client.v1.refunds.list({"payment_intent": intent_id, "limit": 100})
        return [_refund(refund) for refund in listed.auto_paging_iter()]

    def retrieve_dispute(self, dispute_id: str) -> DisputeInfo:
        obj = self.client.v1.disputes.retrieve(dispute_id).to_dict()
        due_by = (obj.get("evidence_details") or {}).get("due_by")
        return DisputeInfo(
            id=obj["id"],
            status=obj["status"],
            amount_minor=obj["amount"],
            currency=obj["currency"].upper(),
            reason=obj.get("reason") or "",
            payment_intent=_id_of(obj.get("payment_intent")),
            evidence_due_by=dt.datetime.fromtimestamp(due_by, dt.UTC) if due_by else None,
        )


def _id_of(reference) -> str:
    """An expandable field's id, whether Stripe sent the id or the whole object."""
    if isinstance(reference, dict):
        return reference.get("id") or ""
    return reference or ""


def _intent(resource) -> Intent:
    obj = resource.to_dict()
    error = obj.get("last_payment_error") or {}
    return Intent(
        id=obj["id"],
        status=obj["status"],
        amount_minor=obj["amount"],
        currency=obj["currency"].upper(),
        client_secret=obj.get("client_secret") or "",
        metadata=dict(obj.get("metadata") or {}),
        last_error=(error.get("message") or "")[:255],
        amount_received=obj.get("amount_received") or 0,
    )


def _refund(resource) -> RefundInfo:
    obj = resource.to_dict()
    return RefundInfo(
        id=obj["id"],
        status=obj["status"],
        amount_minor=obj["amount"],
        payment_intent=_id_of(obj.get("payment_intent")),
        currency=(obj.get("currency") or "").upper(),
        metadata=dict(obj.get("metadata") or {}),
    )


class DemoProvider(PaymentProvider):
    """Plays Stripe with no network and no money: intents and refunds are rows of ours, and the demo
    checkout (payments.demo) confirms them and sends Stripe-format events, signed with Stripe's own code."""

    name = "demo"

    @property
    def publishable_key(self) -> str:
        return "pk_demo"

    def create_intent(self, *, amount_minor, currency, metadata, idempotency_key) -> Intent:
        intent_id = "pi_demo_" + secrets.token_hex(12)
        try:
            with transaction.atomic():
                demo = DemoIntent.objects.create(
                    intent_id=intent_id,
                    idempotency_key=idempotency_key,
                    amount_minor=amount_minor,
                    currency=currency,
                    metadata=metadata,
                )
        except IntegrityError:  # the same key answers the same intent, as Stripe does
            demo = DemoIntent.objects.get(idempotency_key=idempotency_key)
        return _demo_intent(demo)

    def retrieve_intent(self, intent_id: str) -> Intent:
        return _demo_intent(DemoIntent.objects.get(intent_id=intent_id))

    def cancel_intent(self, intent_id: str) -> Intent:
        # As Stripe: an intent that succeeded or was canceled cannot be canceled, and saying so is an error.
        cancelled = (
            DemoIntent.objects.filter(intent_id=intent_id).exclude(status__in=["succeeded", "canceled"])
        ).update(status="canceled")
        if not cancelled:
            status = DemoIntent.objects.get(intent_id=intent_id).status
            raise stripe.InvalidRequestError(
                f"You cannot cancel this PaymentIntent because it has a status of {status}.",
                param=None,
                code="payment_intent_unexpected_state",
            )
        return self.retrieve_intent(intent_id)

    def create_refund(self, *, intent_id, amount_minor, idempotency_key) -> RefundInfo:
        with transaction.atomic():
            intent = DemoIntent.objects.select_for_update().get(intent_id=intent_id)
            refund = DemoRefund.objects.filter(idempotency_key=idempotency_key).first()
            if refund is None:
                if intent.status != "succeeded" or intent.amount_refunded + amount_minor > intent.amount_minor:
                    raise stripe.InvalidRequestError("Refund exceeds what was charged.", param="amount")
                refund = DemoRefund.objects.create(
                    refund_id="re_demo_" + secrets.token_hex(12),
                    idempotency_key=idempotency_key,
                    intent=intent,
                    amount_minor=amount_minor,
                    metadata={REFUND_KEY_METADATA: idempotency_key},
                )
                intent.amount_refunded += amount_minor
                intent.save(update_fields=["amount_refunded"])
        return _demo_refund(refund)

    def retrieve_refund(self, refund_id: str) -> RefundInfo:
        return _demo_refund(DemoRefund.objects.select_related("intent").get(refund_id=refund_id))

    def list_refunds(self, intent_id: str) -> list[RefundInfo]:
        refunds = DemoRefund.objects.select_related("intent").filter(intent__intent_id=intent_id)
        return [_demo_refund(refund) for refund in refunds]

    def retrieve_dispute(self, dispute_id: str) -> DisputeInfo:
        # Demo cards have no bank behind them, so nobody can dispute a demo payment: as Stripe says of an unknown id.
        raise stripe.InvalidRequestError(f"No such dispute: '{dispute_id}'", param="id", code="resource_missing")


def _demo_intent(demo: DemoIntent) -> Intent:
    return Intent(
        id=demo.intent_id,
        status=demo.status,
        amount_minor=demo.amount_minor,
        currency=demo.currency,
        client_secret=f"{demo.intent_id}_secret_demo",
        metadata=demo.metadata,
        last_error=demo.last_error,
        amount_received=demo.amount_minor if demo.status == "succeeded" else 0,
    )


def _demo_refund(refund: DemoRefund) -> RefundInfo:
    return RefundInfo(
        id=refund.refund_id,
        status=refund.status,
        amount_minor=refund.amount_minor,
        payment_intent=refund.intent.intent_id,
        currency=refund.intent.currency,
        metadata=refund.metadata,
    )


def payment_provider() -> PaymentProvider:
    return StripeProvider() if settings.PAYMENTS_PROVIDER == "stripe" else DemoProvider()


def webhook_secret() -> str:
    """The endpoint's signing secret; the demo provider derives its own from SECRET_KEY."""
    if settings.STRIPE_WEBHOOK_SECRET:
        return settings.STRIPE_WEBHOOK_SECRET
    return "whsec_demo_" + salted_hmac("payments.demo-webhook", "secret", algorithm="sha256").hexdigest()[:32]
