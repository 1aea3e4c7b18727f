"""Deleting an account: the person's right to erasure, within what the law makes us keep.

The account goes, with its addresses, saved travellers and vehicles, claims, sessions and API tokens, and the
account e-mails it was sent. Its bookings stay — they are the company's accounts — as guest bookings: one still to
travel can be found with its reference and contact address as before. Their people are anonymised once the
retention period after their last sailing is over: at once for those past it, by the daily sweep for the others
(bookings.flows.forgetting).
"""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.selectors import account_addresses, account_bookings
from bookings.flows.forgetting import booking_forget
from bookings.models import Booking
from bookings.privacy import bookings_due_forgetting
from notifications.services import account_emails_forget
from notifications.travel_alerts import alerts_forget

logger = logging.getLogger(__name__)


def account_delete(*, user: AbstractBaseUser, password: str, confirmed: bool = True) -> int:
    """Delete the account once its holder has given its password (and, on the website, ticked the box); answers how
    many of its bookings were anonymised at once. Refused (ValidationError naming the fields) otherwise."""
    errors = {}
    if not user.check_password(password):
        errors["password"] = [_("This is not your password.")]
    if not confirmed:
        errors["confirm"] = [_("Tick the box to confirm.")]
    if errors:
        raise ValidationError(errors)
    user_id = user.pk
    with transaction.atomic():
        booking_ids = list(account_bookings(user).values_list("pk", flat=True))
        addresses = account_addresses(user)
        Booking.objects.filter(owner=user).update(owner=None)
        account_emails_forget(addresses=addresses)
        alerts_forget(addresses=addresses)  # its travel alerts, set signed in or not
        user.delete()
        # The account and its addresses are gone: nothing keeps its bookings' people now but their retention.
        due = list(bookings_due_forgetting().filter(pk__in=booking_ids).values_list("pk", flat=True))
        forgotten = sum(booking_forget(booking_id=booking_id) for booking_id in due)
    logger.info("account %s deleted: %d bookings kept, %d anonymised", user_id, len(booking_ids), forgotten)
    return forgotten
