"""The parts of a booking, shown in its page as they were booked and changed only by the booking's services."""

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking, BookingChange, BookingEvent, BookingLeg, BookingVehicle, Passenger
from ferries.admin import local_time
from ferries.choices import Extra
from ferries.fare_rules import change_rule, refund_rule
from ferries.templatetags.ferries_format import price_line_label
from kernel.money import format_money
from notifications.models import Email
from payments.models import Invoice


class BookingPartInline(admin.TabularInline):
    """A part of the booking, shown as it was booked and changed only by the booking's services."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        # Whoever may open the booking sees all of it, without a permission per part.
        opts = self.parent_model._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )

    def has_add_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False


class BookingLegInline(BookingPartInline):
    model = BookingLeg
    fields = [
        "sailing_link",
        "direction",
        "departure",
        "operator_hold_ref",
        "operator_booking_ref",
        "fare",
        "price",
        "extras",
        "released_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[BookingLeg]:
        return super().get_queryset(request).select_related("booking", "sailing__route__origin")

    @admin.display(description=_("sailing"))
    def sailing_link(self, leg: BookingLeg) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:ferries_sailing_change", args=[leg.sailing_id]), leg.sailing.ref
        )

    @admin.display(description=_("departure (port time)"))
    def departure(self, leg: BookingLeg) -> str:
        return local_time(leg.sailing.departs_at, leg.sailing.route.origin.tz)

    @admin.display(description=_("price"))
    def price(self, leg: BookingLeg) -> str:
        return format_money(leg.price_minor, leg.booking.currency)

    @admin.display(description=_("fare"))
    def fare(self, leg: BookingLeg) -> str:
        """The fare family as sold, with its rules in words."""
        rules = f"{refund_rule(leg.cancellation_policy)} {change_rule(leg.change_policy)}"
        return format_html('<span title="{}">{}</span>', rules, leg.fare_family_name)

    @admin.display(description=_("extras"))
    def extras(self, leg: BookingLeg) -> str:
        lines = [line for line in leg.price_lines if line["code"] in Extra.values]
        return ", ".join(f"{line['quantity']} × {price_line_label(line['code'])}" for line in lines) or "—"


class PassengerInline(BookingPartInline):
    model = Passenger
    fields = ["type", "first_name", "last_name", "date_of_birth", "nationality", "document_number"]
    readonly_fields = fields


class BookingVehicleInline(BookingPartInline):
    model = BookingVehicle
    fields = ["category", "registration", "length_cm", "height_cm", "load", "measured_at"]
    readonly_fields = fields


class BookingEventInline(BookingPartInline):
    """The booking's history, oldest first, as it reads."""

    model = BookingEvent
    fields = ["change", "actor", "reason", "at"]
    readonly_fields = fields
    ordering = ["at", "pk"]
    verbose_name_plural = _("history")

    @admin.display(description=_("status"))
    def change(self, event: BookingEvent) -> str:
        return f"{event.from_status or '—'} → {event.to_status}"


class BookingChangeInline(BookingPartInline):
    """The booking's changes, oldest first: who asked, when, what, and the money."""

    model = BookingChange
    fields = ["number", "status", "actor", "summary", "money", "created_at", "confirmed_at", "note"]
    readonly_fields = fields
    ordering = ["number"]
    verbose_name_plural = _("changes")

    @admin.display(description=_("money"))
    def money(self, change: BookingChange) -> str:
        parts = [
            gettext("difference %(amount)s") % {"amount": format_money(change.difference_minor, change.currency)},
            gettext("fee %(amount)s") % {"amount": format_money(change.fee_minor, change.currency)},
        ]
        if change.due_minor:
            parts.append(gettext("to pay %(amount)s") % {"amount": format_money(change.due_minor, change.currency)})
        if change.refund_minor:
            parts.append(gettext("refund %(amount)s") % {"amount": format_money(change.refund_minor, change.currency)})
        return "; ".join(parts)  # fmt: skip


class InvoiceInline(BookingPartInline):
    """The booking's invoices and credit notes, each with its PDF."""

    model = Invoice
    fields = ["number", "kind", "issued_at", "amount", "document"]
    readonly_fields = fields
    ordering = ["issued_at", "pk"]
    verbose_name_plural = _("invoices and credit notes")

    @admin.display(description=_("amount"))
    def amount(self, invoice: Invoice) -> str:
        return format_money(invoice.total_minor, invoice.currency)

    @admin.display(description=_("document"))
    def document(self, invoice: Invoice) -> str:
        url = reverse("invoice_download", args=[invoice.booking.reference, invoice.number])
        return format_html('<a href="{}">PDF</a>', url)


class EmailInline(BookingPartInline):
    """The booking's e-mails, oldest first, each linked to its own page with the message as sent."""

    model = Email
    fields = ["status", "recipient", "attempts", "created_at", "sent_at", "last_error"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    show_change_link = True
    verbose_name_plural = _("e-mails")
