"""The codes of e-tickets: one per leg, signed with SECRET_KEY, so a scanner at the port tells a genuine ticket from a
made-up one without asking anyone, and asks the database only whether it still boards.

A code names the booking, the leg and the tickets' version (`Booking.tickets_version`, raised by every change). It
stops boarding when a change replaces the e-tickets, when the booking is cancelled or not confirmed, and when its leg
is cancelled.
"""

import hashlib

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking

SALT = "maritime.eticket"


class TicketRefused(signing.BadSignature):
    """A code that does not board; `code` says why, `message` says it to the agent."""

    code = "invalid"
    message = _("Not one of our e-tickets: the code is damaged or made up.")


class TicketReplaced(TicketRefused):
    code = "replaced"
    message = _("These e-tickets were replaced by a change of the booking: ask for the new ones.")


class TicketCancelled(TicketRefused):
    code = "cancelled"
    message = _("This booking, or this leg of it, is cancelled.")


class TicketNotConfirmed(TicketRefused):
    code = "not_confirmed"
    message = _("This booking is not confirmed: it has no e-tickets yet.")


def ticket_code(*, reference: str, direction: str, version: int) -> str:
    """The signed code of the leg's e-ticket. It carries no time (signing.dumps would add when it was signed, which
    nothing reads): the same leg and version give the same code whenever it is drawn, so e-tickets made again from
    the same facts are the same bytes."""
    return signing.Signer(salt=SALT).sign_object({"booking": reference, "leg": direction, "v": version}, compress=True)


def ticket_signing_key_id() -> str:
    """A name for the key the codes are signed with now (not the key): e-tickets kept as PDFs are made again when it
    changes, since a code signed with a key retired from SECRET_KEY_FALLBACKS no longer boards."""
    return hashlib.sha256(f"{SALT}:{settings.SECRET_KEY}".encode()).hexdigest()[:16]


def ticket_read(code: str) -> dict:
    """{"booking", "leg", "v"} of a code we signed, whatever became of its booking; raises TicketRefused otherwise."""
    code = code.strip()
    try:
        if code.count(signing.Signer().sep) == 2:  # payload, time, signature: e-tickets made before codes had no time
            data = signing.loads(code, salt=SALT)
        else:
            data = signing.Signer(salt=SALT).unsign_object(code)
    except signing.BadSignature as exc:
        raise TicketRefused(str(exc)) from exc
    if not isinstance(data, dict) or not {"booking", "leg"} <= data.keys():
        raise TicketRefused("not an e-ticket's payload")
    return {"booking": str(data["booking"]), "leg": str(data["leg"]), "v": data.get("v", 1)}


def ticket_verify(code: str) -> dict:
    """{"booking", "leg", "v"} of a code that boards: the booking's current e-tickets, confirmed, the leg not
    cancelled. Raises the TicketRefused that says why not."""
    data = ticket_read(code)
    booking = Booking.objects.filter(reference=data["booking"]).only("status", "tickets_version").first()
    if booking is None:
        raise TicketRefused(f"{data['booking']}: no such booking")
    ticket_check(booking=booking, direction=data["leg"], version=data["v"])
    return data


def ticket_check(*, booking: Booking, direction: str, version: int) -> None:
    """Raises the TicketRefused that says why the booking's code of this leg and version does not board."""
    if booking.status in {Booking.Status.CANCELLED, Booking.Status.REFUNDED}:
        raise TicketCancelled(f"{booking.reference} is {booking.status}")
    if booking.status != Booking.Status.CONFIRMED:
        raise TicketNotConfirmed(f"{booking.reference} is {booking.status}")
    if version != booking.tickets_version:
        raise TicketReplaced(f"{booking.reference}: version {version} replaced by {booking.tickets_version}")
    if not booking.legs.filter(direction=direction).exists():
        raise TicketCancelled(f"{booking.reference}: the {direction} leg is cancelled")
