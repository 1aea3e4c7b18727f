"""Stripe's webhook events, processed once on the payments queue: each is only a trigger to fetch again what it is
about; what Stripe then says is applied with the booking's consequences."""

from django.db import transaction

from bookings.flows.checkout import intent_changed
from bookings.flows.common import alert_staff
from bookings.flows.disputes import dispute_changed
from bookings.flows.refunds import refund_changed
from payments import webhooks
from payments.errors import EventNotYetResolved
from payments.providers import DisputeInfo, Intent, RefundInfo

# How often an event about an object Stripe or we do not know is tried (a PaymentIntent's event may arrive before
# we stored its id) before it is closed with its reason.
WEBHOOK_ATTEMPTS = 5


def payment_event_process(*, event_id: str) -> None:
    """A Stripe event, once: fetch what it is about from Stripe, then apply it with the booking's consequences.

    An event of a type we do not act on is closed and staff are told; one about an object that neither Stripe nor
    we know is tried WEBHOOK_ATTEMPTS times (EventNotYetResolved), then closed with its reason.
    """
    try:
        facts = webhooks.webhook_event_facts(event_id=event_id)
    except webhooks.MalformedEvent as exc:
        _event_closed(event_id, outcome=f"not processed: {exc}", alert=f"Stripe event {event_id} malformed")
        return
    except webhooks.ObjectUnknown as exc:
        _event_unresolved(event_id, webhooks.webhook_event_attempts(event_id=event_id), f"Stripe: {exc}")
        return
    if facts is None:
        return  # processed already
    if not facts.handled:
        _event_closed(
            event_id,
            outcome="not handled: a type Maritime does not act on; staff alerted",
            alert=f"Stripe event type {facts.event_type} not handled",
        )
        return
    with transaction.atomic():
        if not webhooks.webhook_event_claim(event_id=event_id):
            return
        unknown = [fact for fact in facts.objects if not _fact_applied(fact)]
        if unknown:
            ids = ", ".join(fact.id for fact in unknown)
            _event_unresolved(event_id, facts.attempts, f"no payment of ours for {ids}", facts=unknown)
            return
        webhooks.webhook_event_done(event_id=event_id)


def _fact_applied(fact: Intent | RefundInfo | DisputeInfo) -> bool:
    if isinstance(fact, Intent):
        return intent_changed(fact)
    if isinstance(fact, RefundInfo):
        return refund_changed(fact)
    return dispute_changed(fact)


def _event_unresolved(event_id: str, attempts: int, why: str, facts: list | None = None) -> None:
    """Try again shortly, or, once the attempts are spent, close the event with its reason — telling staff when
    money may be involved (a PaymentIntent that took money, a refund or a dispute)."""
    if attempts < WEBHOOK_ATTEMPTS:
        raise EventNotYetResolved(why)
    involves_money = facts is None or any(not isinstance(f, Intent) or f.status == "succeeded" for f in facts)
    alert = f"Stripe event {event_id} not ours" if involves_money else ""
    _event_closed(event_id, outcome=f"closed after {attempts} attempts: {why}", alert=alert)


def _event_closed(event_id: str, *, outcome: str, alert: str = "") -> None:
    with transaction.atomic():
        webhooks.webhook_event_done(event_id=event_id, outcome=outcome)
        if alert:
            alert_staff(alert, f"Stripe event {event_id}: {outcome}. It is kept in the admin (Webhook events).")
