"""Stripe's webhook events: checked, stored once, and turned into the objects they are about, fetched again.

An event is only a trigger. What we act on is what Stripe answers when asked again for the PaymentIntent,
Refund or Dispute the event names. Every type of event Stripe may send is either handled here (its objects
fetched) or reported as not handled, for the flow to record and tell staff: none is dropped without a word.
"""

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass

import stripe
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from payments.errors import EventNotYetResolved  # noqa: F401 (raised by the flow, retried by the task)
from payments.models import Payment, WebhookEvent
from payments.providers import DisputeInfo, Intent, RefundInfo, payment_provider, webhook_secret
from payments.tasks import process_payment_webhook_task

logger = logging.getLogger(__name__)

# How far a Stripe-Signature timestamp may be from our clock, either way (Stripe's own default tolerance).
SIGNATURE_TOLERANCE_SECONDS = 300
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]+")
EVENT_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
# Stripe's events are a few levels deep; anything far deeper is not one of them (and would strain the parsers).
MAX_DEPTH = 32

REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
DISPUTE_PREFIX = "charge.dispute."


class InvalidWebhook(Exception):
    """Not a genuine, recent Stripe event, or not an event at all; the message names what is wrong."""


class MalformedEvent(Exception):
    """A signed event that lacks what its type promises (the id of its object)."""


class ObjectUnknown(Exception):
    """The provider knows no object by the id the event gives (or refuses to tell it)."""


@dataclass(frozen=True)
class EventFacts:
    """What an event is about, as Stripe tells it now; `handled` is False for a type we do not act on."""

    event_type: str
    attempts: int
    objects: list[Intent | RefundInfo | DisputeInfo]
    handled: bool = True


# --- receiving ----------------------------------------------------------------------------------


def webhook_receive(*, payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Check the signature and the event's shape, store it once, enqueue its processing after commit.

    Answers (event, created); a duplicate delivery is stored once and enqueued once. Raises InvalidWebhook saying
    what is wrong: nothing is stored then.
    """
    text = _verified(payload, signature)
    event = _parsed(text)
    if "\\u0000" in text:  # PostgreSQL's jsonb cannot hold a NUL character: stored without them
        text = json.dumps(_without_nul(event))
    stored, created = _webhook_store(event_id=event["id"], kind=event["type"], payload=text)
    if created:
        process_payment_webhook_task.delay_on_commit(event_id=stored.event_id)
    return stored, created


def _verified(payload: bytes, signature: str) -> str:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidWebhook("body: not UTF-8 text") from None
    try:
        stripe.WebhookSignature.verify_header(text, signature, webhook_secret(), SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"Stripe-Signature: {str(exc).split('.')[0]}") from None
    # Stripe's check refuses a timestamp too old, not one too far ahead: a signature made for later is not valid now.
    if _signed_at(signature) > time.time() + SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidWebhook("Stripe-Signature: timestamp in the future")
    return text


def _signed_at(signature: str) -> int:
    for item in signature.split(","):
        name, _sep, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return 0  # verify_header has already refused a header without a timestamp


def _parsed(text: str) -> dict:
    """The event, checked for what we rely on; InvalidWebhook names the first field that is wrong."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidWebhook("body: not JSON") from None
    if not isinstance(event, dict):
        raise InvalidWebhook("body: not a JSON object")
    if _depth(event) > MAX_DEPTH:
        raise InvalidWebhook(f"body: nested deeper than {MAX_DEPTH} levels")
    max_length = WebhookEvent._meta.get_field("event_id").max_length
    for name, pattern in (("id", EVENT_ID), ("type", EVENT_TYPE)):
        value = event.get(name)
        if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > max_length:
            raise InvalidWebhook(f"{name}: not a Stripe event {name} of at most {max_length} characters")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidWebhook("data.object: missing or not an object")
    return event


def _depth(value) -> int:
    """How deeply lists and objects nest in `value`, without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _webhook_store(*, event_id: str, kind: str, payload: str) -> tuple[WebhookEvent, bool]:
    """(the event's row, whether it is new). One statement, so one round trip, and atomic on its own: Stripe waits
    for our answer, and a duplicate delivery racing the first one finds the row the first one inserted. The payload
    is stored as received (checked as JSON already)."""
    if connection.vendor != "postgresql":  # the embedded default's SQLite: the same, in two statements
        with transaction.atomic():
            return WebhookEvent.objects.get_or_create(
                event_id=event_id, defaults={"type": kind, "payload": json.loads(payload)}
            )
    table = WebhookEvent._meta.db_table
    received_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, type, payload, received_at, attempts, last_error, outcome) "
            "VALUES (%s, %s, %s::jsonb, %s, 0, '', '') ON CONFLICT (event_id) DO NOTHING RETURNING id",
            [event_id, kind, payload, received_at],
        )
        row = cursor.fetchone()
    if row is None:
        return WebhookEvent.objects.get(event_id=event_id), False
    return WebhookEvent(pk=row[0], event_id=event_id, type=kind, received_at=received_at), True


# --- what an event is about ---------------------------------------------------------------------


def webhook_event_facts(*, event_id: str) -> EventFacts | None:
    """Fetch again from Stripe what the event is about (None once it is processed); counts the attempt.

    Raises MalformedEvent when the event lacks its object's id, ObjectUnknown when the provider does not know the
    object, and the provider's other errors (the network, its own trouble) as they come.
    """
    WebhookEvent.objects.filter(event_id=event_id).update(attempts=F("attempts") + 1)
    event = WebhookEvent.objects.get(event_id=event_id)
    if event.processed_at:
        return None
    try:
        return _facts(event)
    except stripe.InvalidRequestError as exc:
        raise ObjectUnknown(str(exc)) from None


def _facts(event: WebhookEvent) -> EventFacts:
    obj = event.payload.get("data", {}).get("object", {})
    kind = event.type
    provider = payment_provider()
    if intent_id := _intent_of(kind, obj):
        if _settled(intent_id):
            return EventFacts(event_type=kind, attempts=event.attempts, objects=[])
        objects = [provider.retrieve_intent(intent_id)]
    elif kind in REFUND_EVENTS:
        objects = [provider.retrieve_refund(_field(obj, "id"))]
    elif kind == "charge.refunded":  # the charge names its PaymentIntent; its refunds may be ours or the dashboard's
        objects = provider.list_refunds(_field(obj, "payment_intent"))
    elif kind.startswith(DISPUTE_PREFIX):
        objects = [provider.retrieve_dispute(_field(obj, "id"))]
    else:
        return EventFacts(event_type=kind, attempts=event.attempts, objects=[], handled=False)
    return EventFacts(event_type=kind, attempts=event.attempts, objects=objects)


# Stripe sends several events about one payment (payment_intent.succeeded, charge.succeeded, charge.updated…): once
# its money is taken and acted on, nothing a PaymentIntent says changes it (payments.services.payment_apply), so the
# others are handled by closing them, without asking Stripe again (no objects to apply).


def _intent_of(kind: str, obj: dict) -> str:
    """The PaymentIntent an event is news of ("" when it is about a refund, a dispute or something else)."""
    if kind.startswith("payment_intent."):
        return _field(obj, "id")
    if (
        kind.startswith("charge.")
        and kind not in REFUND_EVENTS
        and kind != "charge.refunded"
        and not kind.startswith(DISPUTE_PREFIX)
    ):  # succeeded, failed, captured, updated…: news of the charge's PaymentIntent
        return _field(obj, "payment_intent")
    return ""


def _settled(intent_id: str) -> bool:
    return Payment.objects.filter(
        intent_id=intent_id, status__in=[Payment.Status.SUCCEEDED, Payment.Status.MISMATCHED], settled_at__isnull=False
    ).exists()


def _field(obj: dict, name: str) -> str:
    value = obj.get(name)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"data.object.{name} missing")
    return value


def webhook_event_attempts(*, event_id: str) -> int:
    return WebhookEvent.objects.filter(event_id=event_id).values_list("attempts", flat=True).first() or 0


def webhook_event_claim(*, event_id: str) -> bool:
    """Lock the event for processing (inside the caller's transaction); False if it was already processed."""
    return WebhookEvent.objects.select_for_update().filter(event_id=event_id, processed_at__isnull=True).exists()


def webhook_event_done(*, event_id: str, outcome: str = "handled") -> None:
    WebhookEvent.objects.filter(event_id=event_id).update(
        processed_at=timezone.now(), last_error="", outcome=outcome[:255]
    )


def webhook_event_failed(*, event_id: str, error: Exception) -> None:
    WebhookEvent.objects.filter(event_id=event_id).update(last_error=f"{type(error).__name__}: {error}"[:255])


def webhook_events_unprocessed(*, received_before: dt.datetime) -> list[str]:
    return list(
        WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=received_before).values_list(
            "event_id", flat=True
        )[:500]
    )


# What a stored event keeps once the booking it is about is anonymised: what it was and what it was about (for the
# accounts: which object, how much, what became of it), not the payer's card holder name, e-mail or address that
# Stripe's objects carry in their billing details, receipts and shipping.
KEPT_EVENT_FIELDS = ("id", "object", "type", "created", "livemode", "api_version")
KEPT_OBJECT_FIELDS = ("id", "object", "amount", "amount_received", "amount_refunded", "currency", "status",
                      "payment_intent", "reason", "created", "metadata")  # fmt: skip


def webhook_events_forget(*, intent_ids: list[str]) -> int:
    """Reduce the stored events about these PaymentIntents (theirs, their charges', refunds' and disputes') to
    KEPT_EVENT_FIELDS and their object's KEPT_OBJECT_FIELDS; answers how many were changed. Processing reads no
    more than that (webhook_event_facts fetches the object again)."""
    if not intent_ids:
        return 0
    about = Q(payload__data__object__id__in=intent_ids) | Q(payload__data__object__payment_intent__in=intent_ids)
    changed = 0
    for event in WebhookEvent.objects.filter(about).only("pk", "payload"):
        obj = event.payload.get("data", {}).get("object", {}) if isinstance(event.payload, dict) else {}
        kept = {name: event.payload[name] for name in KEPT_EVENT_FIELDS if name in event.payload}
        kept["data"] = {"object": {name: obj[name] for name in KEPT_OBJECT_FIELDS if name in obj}}
        if kept != event.payload:
            WebhookEvent.objects.filter(pk=event.pk).update(payload=kept)
            changed += 1
    return changed
