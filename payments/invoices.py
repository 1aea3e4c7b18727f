"""Invoices for money taken and credit notes for money given back, issued in the transaction that records the money.

Each kind has a series per calendar year (INV-2026-000001, CN-2026-000001…) with no gaps: the next number is taken
under the series' row lock in the issuing transaction, so a transaction that fails takes its number back with it,
and two at once wait for each other. A document is issued once per payment or refund, and keeps its seller, buyer
and lines as issued. Prices include VAT at each route's rate: a line's VAT is its gross × rate / (100 + rate).
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from bookings.models import Booking, BookingLeg
from kernel import l10n
from payments.models import Invoice, InvoiceSeries, Payment, Refund


def seller() -> dict:
    """The company's details, as settings give them."""
    return dict(settings.COMPANY)


def buyer(booking: Booking) -> dict:
    """Who the document is made out to: the billing details given at booking, else the contact's name."""
    billing = booking.billing or {}
    return {
        "name": billing.get("name") or booking.contact_name,
        "address": billing.get("address", ""),
        "company": billing.get("company", ""),
        "vat_number": billing.get("vat_number", ""),
    }


def vat_line(description: str, gross_minor: int, vat_percent: Decimal) -> dict:
    """A line at a gross price (VAT included) and its rate: its VAT and net, in minor units."""
    rate = Decimal(vat_percent)
    vat = int((gross_minor * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {
        "description": description,
        "vat_percent": format(rate.normalize(), "f") if rate else "0",
        "gross_minor": gross_minor,
        "vat_minor": vat,
        "net_minor": gross_minor - vat,
    }


# --- issuing --------------------------------------------------------------------------------------------------------


def invoice_for_payment(*, payment: Payment) -> Invoice:
    """The invoice of money taken (the booking's price, or a change's difference), issued once, in the caller's
    transaction."""
    if existing := Invoice.objects.filter(payment=payment).first():
        return existing
    booking = payment.booking
    with translation.override(booking.language):
        if payment.change_id:
            change = payment.change
            rate = _rate(BookingLeg.objects.filter(booking=booking).select_related("sailing__route").first())
            description = _("Change %(number)d of booking %(reference)s") % {
                "number": change.number, "reference": booking.reference
            }  # fmt: skip
            lines = [vat_line(description, payment.taken_minor, rate)]
        else:
            lines = [vat_line(_leg_description(leg), leg.price_minor, _rate(leg)) for leg in _legs(booking)]
    return _issue(Invoice.Kind.INVOICE, booking, payment.taken_currency, lines, payment=payment)


def credit_note_for_refund(*, refund: Refund) -> Invoice:
    """The credit note of money given back, issued once, in the caller's transaction: its VAT split over the rates
    the booking was invoiced at, in proportion to what each rate's lines came to."""
    if existing := Invoice.objects.filter(refund=refund).first():
        return existing
    booking = refund.payment.booking
    invoiced: dict[str, int] = {}
    for invoice in booking.invoices.filter(kind=Invoice.Kind.INVOICE):
        for line in invoice.lines:
            invoiced[line["vat_percent"]] = invoiced.get(line["vat_percent"], 0) + line["gross_minor"]
    invoiced = invoiced or {"0": refund.amount_minor}
    total = sum(invoiced.values())
    shares = {rate: refund.amount_minor * gross // total for rate, gross in invoiced.items()}
    largest = max(invoiced, key=invoiced.get)
    shares[largest] += refund.amount_minor - sum(shares.values())
    with translation.override(booking.language):
        description = _("Refund for booking %(reference)s: %(cause)s") % {
            "reference": booking.reference, "cause": refund.get_cause_display()
        }  # fmt: skip
    lines = [vat_line(description, amount, Decimal(rate)) for rate, amount in sorted(shares.items()) if amount]
    return _issue(Invoice.Kind.CREDIT_NOTE, booking, refund.currency, lines, refund=refund)


def _issue(kind: str, booking: Booking, currency: str, lines: list[dict], **about) -> Invoice:
    issued = timezone.now()
    with transaction.atomic():
        sequence = _next_number(kind, issued.year)
        return Invoice.objects.create(
            kind=kind, year=issued.year, sequence=sequence,
            number=f"{Invoice.PREFIXES[kind]}-{issued.year}-{sequence:06d}", booking=booking, issued_at=issued,
            currency=currency, seller=seller(), buyer=buyer(booking), lines=lines,
            total_minor=sum(line["gross_minor"] for line in lines), vat_minor=sum(line["vat_minor"] for line in lines),
            **about,
        )  # fmt: skip


def _next_number(kind: str, year: int) -> int:
    """The next number of the series, taken under its row lock until the caller's transaction ends: the UPDATE takes
    the lock (the first document of a year makes the series' row first)."""
    series = InvoiceSeries.objects.filter(kind=kind, year=year)
    if not series.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                InvoiceSeries.objects.create(kind=kind, year=year)
        except IntegrityError:
            pass  # made by a concurrent first document of the year
        series.update(last=F("last") + 1)
    return series.values_list("last", flat=True).get()


def _legs(booking: Booking):
    return BookingLeg.objects.filter(booking=booking).select_related(
        "sailing__route__origin", "sailing__route__destination"
    )


def _rate(leg: BookingLeg | None) -> Decimal:
    return leg.sailing.route.vat_percent if leg else Decimal(0)


def _leg_description(leg: BookingLeg) -> str:
    route = leg.sailing.route
    departs = l10n.day_year_time(timezone.localtime(leg.sailing.departs_at, route.origin.tz))
    return _("%(leg)s crossing %(origin)s → %(destination)s, %(when)s, %(fare)s fare") % {
        "leg": leg.get_direction_display(), "origin": route.origin.name, "destination": route.destination.name,
        "when": departs, "fare": leg.fare_family_name,
    }  # fmt: skip


def booking_invoices(*, booking_id: int) -> list[Invoice]:
    return list(Invoice.objects.filter(booking_id=booking_id).order_by("issued_at", "pk"))
