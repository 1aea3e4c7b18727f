"""The beat sweepers: work a lost message or a dead worker left undone is enqueued again. Every task they enqueue is
idempotent, so a duplicate is harmless."""

import datetime as dt

from django.utils import timezone

from bookings import selectors
from bookings.flows.common import STALLED_AFTER, release_remote_holds
from bookings.flows.confirmation import booking_paid
from bookings.models import Booking, BookingChange
from bookings.tasks import cancel_booking_for_sailing_task, make_change_task, release_change_holds_task
from payments import refunds as payment_refunds
from payments import services as payments
from payments import webhooks
from payments.tasks import (
    cancel_open_payments_task,
    process_payment_webhook_task,
    reconcile_payment_task,
    send_refund_task,
    settle_payment_task,
)


def bookings_retry_stalled(*, quiet_for: dt.timedelta = STALLED_AFTER) -> int:
    """Enqueue again what a lost message or a dead worker left undone (beat): holds to give back,
    paid bookings to confirm, bookings on cancelled sailings to cancel. The tasks are idempotent, so a
    duplicate is harmless."""
    before = timezone.now() - quiet_for
    releases = selectors.bookings_awaiting_release(before=before)
    for booking_id in releases:
        release_remote_holds(booking_id)
    confirmations = selectors.bookings_awaiting_confirmation(before=before)
    for booking_id in confirmations:
        booking_paid(booking_id=booking_id)
    on_cancelled_sailings = selectors.bookings_on_cancelled_sailings()
    for booking_id in on_cancelled_sailings:
        cancel_booking_for_sailing_task.delay_on_commit(booking_id=booking_id)
    changes_to_make = selectors.changes_paid_not_made(before=before)
    for booking_id, change_id in changes_to_make:
        make_change_task.delay_on_commit(booking_id=booking_id, change_id=change_id)
    change_releases = selectors.changes_awaiting_release(before=before)
    for change_id in change_releases:
        release_change_holds_task.delay_on_commit(change_id=change_id)
    return len(releases) + len(confirmations) + len(on_cancelled_sailings) + len(changes_to_make) + len(change_releases)


def payments_sweep(*, quiet_for: dt.timedelta = STALLED_AFTER) -> int:
    """Enqueue again (beat): webhook events not processed, payments not heard of, money taken and not acted on,
    PaymentIntents still open on bookings that can no longer be paid, refunds not sent."""
    before = timezone.now() - quiet_for
    queued = 0
    for event_id in webhooks.webhook_events_unprocessed(received_before=before):
        process_payment_webhook_task.delay_on_commit(event_id=event_id)
        queued += 1
    in_doubt = payments.payments_in_doubt(
        before=before, booking_statuses=[Booking.Status.HELD], change_statuses=[BookingChange.Status.AWAITING_PAYMENT]
    )
    for payment_id in in_doubt:
        reconcile_payment_task.delay_on_commit(payment_id=payment_id)
        queued += 1
    for payment_id in payments.payments_unsettled(before=before):
        settle_payment_task.delay_on_commit(payment_id=payment_id)
        queued += 1
    not_payable = [status for status in Booking.Status if status != Booking.Status.HELD]
    for booking_id in payments.bookings_with_open_payments(before=before, booking_statuses=not_payable):
        cancel_open_payments_task.delay_on_commit(booking_id=booking_id)
        queued += 1
    not_payable = [status for status in BookingChange.Status if status != BookingChange.Status.AWAITING_PAYMENT]
    for booking_id, change_id in payments.changes_with_open_payments(before=before, change_statuses=not_payable):
        cancel_open_payments_task.delay_on_commit(booking_id=booking_id, change_id=change_id)
        queued += 1
    for refund_id in payment_refunds.refunds_pending(before=before):
        send_refund_task.delay_on_commit(refund_id=refund_id)
        queued += 1
    return queued
