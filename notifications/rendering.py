"""An outbox row made into a message: subject, plain text and HTML in the booking's language, e-tickets attached;
a staff alert in plain text, as Django's mail_admins would send it."""

import datetime as dt
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.templatetags.tz import do_timezone
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from bookings.models import Compensation, Disruption
from bookings.selectors import booking_as_shown
from ferries.fare_rules import change_rule, refund_rule
from ferries.models import Sailing, SailingRetiming
from kernel.money import format_money
from notifications import travel_alerts
from notifications.etickets import eticket_pdf, qr_png
from notifications.invoices import invoice_pdf
from notifications.models import Email
from payments.models import Invoice

TEMPLATES = "notifications/email"


def build_message(email: Email) -> tuple[EmailMultiAlternatives, str, str, str]:
    """(message, subject, text, html) for the row, as it will be sent now."""
    if email.kind == Email.Kind.STAFF_ALERT:
        return _staff_alert_message(email)
    if email.kind in {Email.Kind.TRAVEL_ALERT, Email.Kind.TRAVEL_ALERT_CONFIRM}:
        return _travel_alert_message(email)
    if email.kind in {Email.Kind.ACCOUNT, Email.Kind.BOOKING_CLAIM}:  # written when asked for
        message = EmailMultiAlternatives(email.subject, email.body_text, settings.DEFAULT_FROM_EMAIL, [email.recipient])
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        return message, email.subject, email.body_text, email.body_html
    booking = booking_as_shown().get(pk=email.booking_id)
    with translation.override(email.language):
        context = email_context(email, booking)
        subject = " ".join(render_to_string(f"{TEMPLATES}/{email.kind}_subject.txt", context).split())
        text = render_to_string(f"{TEMPLATES}/{email.kind}.txt", context)
        html = render_to_string(f"{TEMPLATES}/{email.kind}.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email.recipient])
        message.attach_alternative(html, "text/html")
        if email.kind in {Email.Kind.BOOKING_CONFIRMATION, Email.Kind.BOOKING_CHANGED, Email.Kind.DEPARTURE_REMINDER}:
            _attach_etickets(message, booking, context["legs"])
        _attach_invoices(message, email)
    return message, subject, text, html


def _travel_alert_message(email: Email) -> tuple[EmailMultiAlternatives, str, str, str]:
    """A travel alert's e-mail, from the facts its row keeps; its links (confirm, stop) are made now, from the alert's
    id, so the outbox keeps no key to it. Mail programs offer the stop link as their own unsubscribe button."""
    facts = email.details
    alert_id = facts["alert"]
    with translation.override(email.language):
        departs = dt.datetime.fromisoformat(facts["departs_local"]) if facts.get("departs_local") else None
        context = {
            "email": email, "alert_kind": facts["alert_kind"], "origin": facts["from"], "destination": facts["to"],
            "day": dt.date.fromisoformat(facts["date"]), "departs": departs and formats.time_format(departs),
            "operator": facts.get("operator", ""),
            "price": format_money(**facts["price"]) if facts.get("price") else "",
            "below": format_money(**facts["below"]) if facts.get("below") else "",
            "search_url": settings.SITE_URL + facts["search_url"], "stop_url": travel_alerts.stop_url(alert_id),
            "confirm_url": travel_alerts.confirm_url(alert_id), "site_url": settings.SITE_URL,
        }  # fmt: skip
        subject = " ".join(render_to_string(f"{TEMPLATES}/{email.kind}_subject.txt", context).split())
        text = render_to_string(f"{TEMPLATES}/{email.kind}.txt", context)
        html = render_to_string(f"{TEMPLATES}/{email.kind}.html", context)
    headers = {}
    if email.kind == Email.Kind.TRAVEL_ALERT:  # RFC 8058: one click in the mail program stops it
        headers = {
            "List-Unsubscribe": f"<{context['stop_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email.recipient], headers=headers)
    message.attach_alternative(html, "text/html")
    return message, subject, text, html


def _staff_alert_message(email: Email) -> tuple[EmailMultiAlternatives, str, str, str]:
    context = {
        "prefix": settings.EMAIL_SUBJECT_PREFIX,
        "subject": email.details.get("subject", ""),
        "message": email.details.get("message", ""),
        "operations_url": settings.SITE_URL + reverse("admin-operations"),
    }
    with translation.override("en"):
        subject = " ".join(render_to_string(f"{TEMPLATES}/staff_alert_subject.txt", context).split())
        text = render_to_string(f"{TEMPLATES}/staff_alert.txt", context)
    return EmailMultiAlternatives(subject, text, settings.SERVER_EMAIL, [email.recipient]), subject, text, ""


def email_context(email: Email, booking) -> dict:
    legs = [_leg(leg) for leg in booking.legs.all()]
    vehicles = list(booking.vehicles.all())
    details = email.details or {}
    currency = booking.currency
    return {
        "email": email,
        "booking": booking,
        "legs": legs,
        "passengers": list(booking.passengers.all()),
        "vehicles": vehicles,
        # The one a measure at the port is about (the latest measured), else the first.
        "vehicle": max(vehicles, key=lambda v: (v.measured_at is not None, v.measured_at or 0, -v.pk), default=None),
        "total": format_money(booking.total_minor, currency),
        # What the flow that queued the e-mail decided: the amounts are the refunds made, not worked out again here.
        "refund": format_money(details["refund_minor"], details.get("currency", currency))
        if details.get("refund_minor")
        else "",
        "refunded_before": format_money(details["refunded_before_minor"], currency)
        if details.get("refunded_before_minor")
        else "",
        "paid": details.get("paid", True),
        "cause": details.get("cause", ""),
        **{
            f"change_{name}": format_money(details[f"{name}_minor"], currency) if details.get(f"{name}_minor") else ""
            for name in ("paid", "refund", "fee")
        },
        "manage_url": f"{settings.SITE_URL}/manage?reference={booking.reference}",
        "site_url": settings.SITE_URL,
        **(_reminder(details, legs) if email.kind == Email.Kind.DEPARTURE_REMINDER else {}),
        **(_retimed(details, legs) if email.kind == Email.Kind.SAILING_RETIMED else {}),
        **(_disrupted(details, legs, booking) if email.kind == Email.Kind.SAILING_DISRUPTED else {}),
        **(_compensation(details, legs, booking) if email.kind == Email.Kind.COMPENSATION else {}),
        **(_change_payment(details, booking) if email.kind == Email.Kind.CHANGE_PAYMENT else {}),
    }


def _change_payment(details: dict, booking) -> dict:
    """The change awaiting its payment, and the amount due."""
    change = booking.changes.filter(number=details.get("change_number")).first()
    return {"change": change, "due": format_money(details.get("due_minor", 0), booking.currency)}


def _compensation(details: dict, legs: list[dict], booking) -> dict:
    """The late leg, how late it arrived and the share of its price paid back (the refund made: `refund`)."""
    compensation = Compensation.objects.filter(pk=details.get("compensation_id"), booking=booking).first()
    if compensation is None:
        return {"legs": [], "late_minutes": 0, "percent": 0}
    legs = [leg for leg in legs if leg["direction"] == compensation.direction]
    return {"legs": legs, "late_minutes": compensation.late_minutes, "percent": compensation.percent}


def _retimed(details: dict, legs: list[dict]) -> dict:
    """The leg on the retimed sailing, with the times it had before (in its ports' time)."""
    legs = [leg for leg in legs if leg["leg"].sailing_id == details.get("sailing_id")]
    retiming = SailingRetiming.objects.filter(pk=details.get("retiming_id")).first()
    if not legs or retiming is None:
        return {"legs": legs, "was_departs": None, "was_arrives": None}
    route = legs[0]["leg"].sailing.route
    return {
        "legs": legs,
        "was_departs": do_timezone(retiming.previous_departs_at, route.origin.tz),
        "was_arrives": do_timezone(retiming.previous_arrives_at, route.destination.tz),
    }


def _disrupted(details: dict, legs: list[dict], booking) -> dict:
    """The disrupted leg, the re-routing held (its sailing, in port time) and what the refund would give back."""
    disruption = (
        Disruption.objects.select_related("sailing__route__origin", "reroute")
        .filter(pk=details.get("disruption_id"), booking=booking)
        .first()
    )
    if disruption is None:
        return {"legs": [], "disruption": None}
    legs = [leg for leg in legs if leg["direction"] == disruption.direction]
    reroute = disruption.reroute and disruption.reroute.new_legs[0]
    sailing = reroute and Sailing.objects.select_related("route__origin", "route__destination").get(
        pk=reroute["sailing_id"]
    )
    origin_tz = disruption.sailing.route.origin.tz
    return {
        "legs": legs,
        "disruption": disruption,
        "reroute_departs": sailing and do_timezone(sailing.departs_at, sailing.route.origin.tz),
        "reroute_arrives": sailing and do_timezone(sailing.arrives_at, sailing.route.destination.tz),
        "reroute_sailing": sailing,
        "deadline": do_timezone(disruption.deadline, origin_tz),
        # What the flow worked out choosing the refund gives back, not worked out again here.
        "leg_refund": format_money(details.get("refund_minor", 0), booking.currency),
    }


def _reminder(details: dict, legs: list[dict]) -> dict:
    """A reminder is about one leg: where and until when to check in, what drivers do, what to carry."""
    legs = [leg for leg in legs if leg["direction"] == details.get("leg")]
    route = legs[0]["leg"].sailing.route if legs else None
    return {
        "legs": legs,
        "window": details.get("window", ""),
        "lane_rules": route.departure_terminal.vehicle_lane_rules if route else "",
        "documents": (route.travel_documents if route else "") or _("A passport or national identity card for every "
                                                                    "passenger, children included."),
    }  # fmt: skip


def _leg(leg) -> dict:
    route = leg.sailing.route
    return {
        "leg": leg,
        "direction": leg.direction,
        "origin": route.origin.name,
        "destination": route.destination.name,
        # In port time, marked so that template filters do not turn it back into the site's time zone.
        "departs": do_timezone(leg.sailing.departs_at, route.origin.tz),
        "arrives": do_timezone(leg.sailing.arrives_at, route.destination.tz),
        "operator": route.operator.name,
        "vessel": leg.sailing.vessel.name,
        "operator_booking_ref": leg.operator_booking_ref,
        "price": format_money(leg.price_minor, leg.booking.currency),
        "lines": leg.price_lines,
        "fare": leg.fare_family_name,
        "fare_rules": [refund_rule(leg.cancellation_policy), change_rule(leg.change_policy)],
        "qr_cid": f"qr-{leg.direction}",
        "terminal": route.departure_terminal,
        "closes": do_timezone(leg.sailing.check_in_closes_at, route.origin.tz),
    }


def _attach_invoices(message: EmailMultiAlternatives, email: Email) -> None:
    """The invoice of a payment (receipt, change) or the credit note of a refund the e-mail is about."""
    numbers = [number for number in (email.details.get("invoice"), email.details.get("credit_note")) if number]
    for invoice in Invoice.objects.select_related("booking").filter(number__in=numbers, booking_id=email.booking_id):
        message.attach(f"{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf")


def _attach_etickets(message: EmailMultiAlternatives, booking, legs: list[dict]) -> None:
    # The QR codes are shown in the HTML (cid:…) and the PDF is attached: "related" keeps both in one message.
    message.mixed_subtype = "related"
    for leg in legs:
        image = MIMEImage(qr_png(leg["leg"]), "png")
        image.add_header("Content-ID", f"<{leg['qr_cid']}>")
        image.add_header("Content-Disposition", "inline", filename=f"{leg['qr_cid']}.png")
        message.attach(image)
    message.attach(f"e-ticket-{booking.reference}.pdf", eticket_pdf(booking), "application/pdf")
