"""Bookings in the admin: staff find a booking, read its legs, party, history and e-mails, and act on it —
cancel, refund part of it, send an e-mail again, ask the operator again to confirm it.

Bookings are made by travellers and change status only through the flows of `bookings.flows` (which lock the row
and write the event), so the admin adds and deletes none, shows the status without a field to edit it,
and acts through the same flows as the website and the API. Only the contact details are editable:
they are what a traveller phones in to correct (a mistyped e-mail keeps the tickets from them), and no
rule hangs on them.

Cancelling a sailing cancels its bookings, so that action is added to the sailings' admin here: the
network's own admin (ferries) knows nothing of bookings.
"""

import datetime as dt

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.admin.inlines import (
    BookingChangeInline,
    BookingEventInline,
    BookingLegInline,
    BookingVehicleInline,
    EmailInline,
    InvoiceInline,
    PassengerInline,
)
from bookings.admin.listing import DepartureFilter, DisputedFilter, S, format_html_join_lines, status_badge
from bookings.admin_actions import EmailKindForm, RefundForm, action_page, submitted_form
from bookings.flows import cancelling, confirmation, quotes, refunds
from bookings.models import Booking, BookingLeg
from bookings.services import TransitionNotAllowed
from ferries.admin import local_time
from kernel.money import format_money
from notifications.models import Email
from notifications.services import email_resend_latest
from payments.models import Dispute
from payments.refunds import RefundNotAllowed, bookings_disputed

CONTACT_FIELDS = ["contact_name", "contact_email", "contact_phone"]
# What a booking is at a glance: none of it typed by staff.
SUMMARY_FIELDS = [
    "reference", "status_badge", "disputes", "total", "refund_if_cancelled_now", "change_link", "hold_expires_at",
]  # fmt: skip


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "status_badge",
        "contact_name",
        "contact_email",
        "first_departure",
        "routes",
        "operators",
        "total",
        "hold_expires",
        "created_at",
    ]
    list_filter = ["status", DisputedFilter, "legs__sailing__route__operator", DepartureFilter, "created_at"]
    search_fields = ["reference", "contact_email", "contact_name", "passengers__last_name"]
    search_help_text = _("Reference, contact name or e-mail, or a passenger's last name.")
    actions = ["cancel_bookings", "refund_amount", "resend_email", "retry_confirmation"]
    inlines = [
        BookingLegInline, PassengerInline, BookingVehicleInline, BookingEventInline, BookingChangeInline,
        InvoiceInline, EmailInline,
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": SUMMARY_FIELDS}),
        (
            _("Contact"),
            {
                "fields": [*CONTACT_FIELDS, "language", "owner"],
                "description": _("The traveller opens the booking on the website with its reference and this e-mail."),
            },
        ),
        (_("Travel"), {"fields": ["accommodation", ("pets", "dogs", "cats")]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
        *SUMMARY_FIELDS,
        "language",
        "owner",
        "accommodation",
        "pets",
        "dogs",
        "cats",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        legs = BookingLeg.objects.select_related(
            "sailing__route__origin", "sailing__route__destination", "sailing__route__operator"
        )
        first_departure = BookingLeg.objects.filter(booking=OuterRef("pk")).order_by("sailing__departs_at")
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .prefetch_related(Prefetch("legs", queryset=legs))
            .annotate(first_departs_at=Subquery(first_departure.values("sailing__departs_at")[:1]))
            .annotate(disputed=Exists(Booking.objects.filter(bookings_disputed(), pk=OuterRef("pk"))))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # travellers make bookings, through the website and the API

    def has_delete_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False  # a booking's history and its operators' references must outlive it; cancel instead

    def save_model(self, request: HttpRequest, obj: Booking, form, change: bool) -> None:
        # Only the fields the form changed are written: a full save would write back the status as read
        # at the start of this request, undoing a payment or a cancellation committed meanwhile.
        if form.changed_data:
            obj.save(update_fields=form.changed_data)

    @admin.action(description=_("Cancel selected bookings (with the policy's refund)"), permissions=["change"])
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        for booking_id, reference in queryset.order_by("reference").values_list("pk", "reference"):
            try:
                cancellation = cancelling.booking_cancel(
                    booking_id=booking_id, actor=f"staff:{request.user.pk}", reason="cancelled by staff"
                )
            except TransitionNotAllowed as refusal:
                self.message_user(request, f"{reference}: {refusal}", messages.WARNING)
                continue
            if not cancellation.changed:
                self.message_user(
                    request, gettext("%(ref)s was already cancelled.") % {"ref": reference}, messages.WARNING
                )
                continue
            refund = format_money(cancellation.refund_minor, cancellation.booking.currency)
            self.message_user(
                request,
                gettext("%(ref)s cancelled; refund: %(refund)s.") % {"ref": reference, "refund": refund},
                messages.SUCCESS,
            )

    @admin.action(description=_("Refund an amount of one booking…"), permissions=["change"])
    def refund_amount(self, request: HttpRequest, queryset: QuerySet[Booking]) -> TemplateResponse | None:
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, gettext("Choose one booking to refund part of."), messages.WARNING)
            return None
        booking = chosen[0]
        form = submitted_form(request, RefundForm, currency=booking.currency)
        if form.is_bound and form.is_valid():
            try:
                made = refunds.booking_refund(
                    booking_id=booking.pk, amount_minor=form.amount_minor, reason=form.cleaned_data["reason"],
                    actor=f"staff:{request.user.pk}", key=form.cleaned_data["key"],
                )  # fmt: skip
            except RefundNotAllowed as refusal:
                form.add_error("amount", str(refusal))
            else:
                amount = format_money(sum(r.amount_minor for r in made), booking.currency)
                self.message_user(
                    request,
                    gettext("%(ref)s: a refund of %(amount)s is asked of Stripe; the traveller is e-mailed once made.")
                    % {"ref": booking.reference, "amount": amount},
                    messages.SUCCESS,
                )
                return None
        return self._refund_page(request, queryset, booking, form)

    def _refund_page(
        self, request: HttpRequest, queryset: QuerySet[Booking], booking: Booking, form: RefundForm
    ) -> TemplateResponse | None:
        try:
            money = refunds.booking_refundable(booking_id=booking.pk)
        except RefundNotAllowed as refusal:
            self.message_user(request, f"{booking.reference}: {refusal}", messages.ERROR)
            return None
        paid = format_money(money.paid_minor, money.currency)
        left = format_money(money.left_minor, money.currency)
        return action_page(
            self, request, queryset, action="refund_amount", form=form,
            title=gettext("Refund part of %(ref)s") % {"ref": booking.reference},
            intro=gettext("Paid %(paid)s, of which %(left)s is left to refund. The booking keeps its status.")
            % {"paid": paid, "left": left},
            submit=gettext("Refund"),
        )  # fmt: skip

    @admin.action(description=_("Send an e-mail again (booking confirmation…)…"), permissions=["change"])
    def resend_email(self, request: HttpRequest, queryset: QuerySet[Booking]) -> TemplateResponse | None:
        form = submitted_form(request, EmailKindForm, initial={"kind": Email.Kind.BOOKING_CONFIRMATION})
        bookings = queryset.order_by("reference")
        if not (form.is_bound and form.is_valid()):
            return action_page(
                self, request, bookings, action="resend_email", form=form, title=gettext("Send an e-mail again"),
                intro=gettext("Each booking's latest e-mail of this kind goes again, to its contact address."),
                submit=gettext("Send again"),
            )  # fmt: skip
        kind = Email.Kind(form.cleaned_data["kind"])
        for booking_id, reference in bookings.values_list("pk", "reference"):
            email = email_resend_latest(booking_id=booking_id, kind=kind)
            if email is None:
                self.message_user(
                    request, gettext("%(ref)s has no %(kind)s to send again.") % {"ref": reference, "kind": kind.label},
                    messages.WARNING,
                )  # fmt: skip
                continue
            self.message_user(
                request,
                gettext("%(ref)s: %(kind)s queued for %(to)s.")
                % {"ref": reference, "kind": kind.label, "to": email.recipient},
                messages.SUCCESS,
            )
        return None

    @admin.action(description=_("Ask the operator again to confirm (paid bookings)"), permissions=["change"])
    def retry_confirmation(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        for booking_id, reference in queryset.order_by("reference").values_list("pk", "reference"):
            try:
                confirmation.booking_confirmation_retry(booking_id=booking_id)
            except TransitionNotAllowed as refusal:
                self.message_user(request, f"{reference}: {refusal}", messages.WARNING)
                continue
            self.message_user(
                request, gettext("%(ref)s: confirmation asked of the operator again.") % {"ref": reference},
                messages.SUCCESS,
            )  # fmt: skip

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, booking: Booking) -> str:
        badge = status_badge(booking)
        if getattr(booking, "disputed", False):
            return format_html('{} <strong style="color:#b3261e">{}</strong>', badge, gettext("Disputed"))
        return badge

    @admin.display(description=_("disputes"))
    def disputes(self, booking: Booking) -> str:
        rows = Dispute.objects.filter(payment__booking=booking).order_by("created_at")
        if not rows:
            return "—"
        return format_html_join_lines(
            gettext("%(id)s: %(amount)s, %(reason)s, %(status)s%(due)s")
            % {
                "id": dispute.dispute_id,
                "amount": format_money(dispute.amount_minor, dispute.currency),
                "reason": dispute.reason or "—",
                "status": dispute.status,
                "due": gettext(" — respond by %(due)s UTC") % {"due": f"{dispute.evidence_due_by:%Y-%m-%d %H:%M}"}
                if dispute.is_open and dispute.evidence_due_by
                else "",
            }
            for dispute in rows
        )

    @admin.display(description=_("first departure (port time)"), ordering="first_departs_at")
    def first_departure(self, booking: Booking) -> str | None:
        legs = booking.legs.all()
        if not legs:
            return None
        sailing = min((leg.sailing for leg in legs), key=lambda sailing: sailing.departs_at)
        return local_time(sailing.departs_at, sailing.route.origin.tz)

    @admin.display(description=_("route"))
    def routes(self, booking: Booking) -> str | None:
        legs = booking.legs.all()
        if not legs:
            return None
        route = legs[0].sailing.route  # legs come outbound first
        if len(legs) == 1:
            return f"{route.origin.code} → {route.destination.code}"
        back = legs[1].sailing.route
        if (back.origin_id, back.destination_id) == (route.destination_id, route.origin_id):
            return f"{route.origin.code} → {route.destination.code} ⇄"  # straight back: one mark says it
        return f"{route.origin.code} → {route.destination.code}, {back.origin.code} → {back.destination.code}"

    @admin.display(description=_("operator"))
    def operators(self, booking: Booking) -> str:
        return ", ".join(dict.fromkeys(leg.sailing.route.operator.code for leg in booking.legs.all()))

    @admin.display(description=_("total"), ordering="total_minor")
    def total(self, booking: Booking) -> str:
        return format_money(booking.total_minor, booking.currency)

    @admin.display(description=_("hold expires"), ordering="hold_expires_at")
    def hold_expires(self, booking: Booking) -> dt.datetime | None:
        return booking.hold_expires_at if booking.status == S.HELD else None

    @admin.display(description=_("change"))
    def change_link(self, booking: Booking) -> str:
        # Staff change a booking on the website's own pages, which take them as staff (bookings.views.changes).
        if booking.status != S.CONFIRMED:
            return gettext("Only a confirmed booking can be changed.")
        url = reverse("booking_change", kwargs={"reference": booking.reference})
        part = reverse("booking_cancel_part", kwargs={"reference": booking.reference})
        legs = list(booking.legs.all())
        passengers = list(booking.passengers.all())
        cancel_parts = [
            (
                f"{part}?leg={leg.direction}",
                gettext("Cancel the %(leg)s only…") % {"leg": leg.get_direction_display().lower()},
            )
            for leg in legs
            if len(legs) > 1
        ]
        cancel_parts += [
            (f"{part}?passenger={p.pk}", gettext("Cancel %(name)s only…") % {"name": f"{p.first_name} {p.last_name}"})
            for p in passengers
            if len(passengers) > 1
        ]
        return format_html(
            '<a class="button" href="{}">{}</a> {}<br>{}', url, gettext("Change sailings, party or extras…"),
            gettext("A quote first, with the fare's rules; the traveller is e-mailed the new e-tickets."),
            format_html_join(" · ", '<a href="{}">{}</a>', cancel_parts),
        )  # fmt: skip

    @admin.display(description=_("refund if cancelled now"))
    def refund_if_cancelled_now(self, booking: Booking) -> str:
        # What cancelling gives back, as the traveller is told it and as the cancellation refunds it.
        if not booking.is_active:
            return gettext("Not cancellable (%(status)s).") % {"status": booking.get_status_display().lower()}
        quote = quotes.booking_refund_quote(booking=booking)
        return f"{format_money(quote.amount_minor, quote.currency)} — {quote.message}"
