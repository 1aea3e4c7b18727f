"""Bookings in the admin: staff find a booking, read its legs, party, history and e-mails, and act on it —
cancel, refund part of it, send an e-mail again, ask the operator again to confirm it.

Bookings are made by travellers and change status only through `bookings.workflows` (which locks the row
and writes the event), so the admin adds and deletes none, shows the status without a field to edit it,
and acts through the same workflows as the website and the API. Only the contact details are editable:
they are what a traveller phones in to correct (a mistyped e-mail keeps the tickets from them), and no
rule hangs on them.

Cancelling a sailing cancels its bookings, so that action is added to the sailings' admin here: the
network's own admin (ferries) knows nothing of bookings.
"""

import datetime as dt
import zoneinfo

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from bookings import workflows
from bookings.admin_actions import EmailKindForm, ReasonForm, RefundForm, action_page, submitted_form
from bookings.models import Booking, BookingEvent, BookingLeg, BookingVehicle, Passenger
from bookings.services import TransitionNotAllowed
from ferries import admin as ferries_admin
from ferries.admin import local_time
from ferries.models import Port, Sailing
from ferries.money import format_money
from ferries.services import SailingNotCancellable
from notifications.models import Email
from notifications.services import email_resend_latest
from payments.models import Dispute
from payments.services import RefundNotAllowed, bookings_disputed

S = Booking.Status
STATUS_COLOURS = {
    S.HELD: "#a15c00",
    S.PAID: "#1f5fa8",
    S.CONFIRMED: "#2e7d32",
    S.EXPIRED: "#6b6b6b",
    S.CANCELLED: "#4a4a4a",
    S.REFUNDED: "#6a3d9a",
    S.FAILED: "#c62828",
}
CONTACT_FIELDS = ["contact_name", "contact_email", "contact_phone"]


def format_html_join_lines(lines) -> str:
    return format_html_join(format_html("<br>"), "{}", ((line,) for line in lines))


def status_badge(booking: Booking) -> str:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 6px;border-radius:4px;white-space:nowrap">{}</span>',
        STATUS_COLOURS.get(booking.status, "#6b6b6b"),
        booking.get_status_display(),
    )


def legs_departing_within(*, days: int) -> QuerySet[BookingLeg]:
    """Legs sailing today or on the `days - 1` days after, each by the calendar of its port of departure.

    Ports are a few time zones: one window per zone keeps a 00:30 departure from Tunis on its own day
    in every database, where a single UTC window would put it on the day before.
    """
    now = timezone.now()
    window = Q(pk__in=[])
    for name in Port.objects.order_by("time_zone").values_list("time_zone", flat=True).distinct():
        tz = zoneinfo.ZoneInfo(name)
        today = now.astimezone(tz).date()
        start = dt.datetime.combine(today, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(), tzinfo=tz)
        window |= Q(sailing__route__origin__time_zone=name, sailing__departs_at__gte=start, sailing__departs_at__lt=end)
    return BookingLeg.objects.filter(window)


class DepartureFilter(admin.SimpleListFilter):
    """Bookings with a sailing on the chosen days (a return sailing counts: its passengers board too),
    or whose every sailing has left."""

    title = _("departure")
    parameter_name = "departure"
    WINDOWS = {"today": 1, "next7": 7, "next30": 30}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("today", _("Today")),
            ("next7", _("Next 7 days")),
            ("next30", _("Next 30 days")),
            ("past", _("Past")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Booking]) -> QuerySet[Booking]:
        if self.value() in self.WINDOWS:
            legs = legs_departing_within(days=self.WINDOWS[self.value()])
            return queryset.filter(Exists(legs.filter(booking=OuterRef("pk"))))
        if self.value() == "past":
            still_to_sail = BookingLeg.objects.filter(booking=OuterRef("pk"), sailing__departs_at__gte=timezone.now())
            return queryset.exclude(Exists(still_to_sail))
        return queryset


class DisputedFilter(admin.SimpleListFilter):
    """Bookings whose payment a traveller's bank disputes: staff must answer in the Stripe dashboard in time."""

    title = _("payment disputed")
    parameter_name = "disputed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", _("Dispute open"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Booking]) -> QuerySet[Booking]:
        if self.value() == "open":
            return queryset.filter(bookings_disputed()).distinct()
        return queryset


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
        "price",
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


class PassengerInline(BookingPartInline):
    model = Passenger
    fields = ["type", "first_name", "last_name", "date_of_birth", "nationality", "document_number"]
    readonly_fields = fields


class BookingVehicleInline(BookingPartInline):
    model = BookingVehicle
    fields = ["category", "registration", "length_cm", "height_cm"]
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


class EmailInline(BookingPartInline):
    """The booking's e-mails, oldest first, each linked to its own page with the message as sent."""

    model = Email
    fields = ["status", "recipient", "attempts", "created_at", "sent_at", "last_error"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    show_change_link = True
    verbose_name_plural = _("e-mails")


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
    inlines = [BookingLegInline, PassengerInline, BookingVehicleInline, BookingEventInline, EmailInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "status_badge",
                    "disputes",
                    "total",
                    "refund_if_cancelled_now",
                    "hold_expires_at",
                ]
            },
        ),
        (
            _("Contact"),
            {
                "fields": [*CONTACT_FIELDS, "language", "owner"],
                "description": _("The traveller opens the booking on the website with its reference and this e-mail."),
            },
        ),
        (_("Travel"), {"fields": ["accommodation", "pets"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
        "reference",
        "status_badge",
        "disputes",
        "total",
        "refund_if_cancelled_now",
        "hold_expires_at",
        "language",
        "owner",
        "accommodation",
        "pets",
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
                cancellation = workflows.booking_cancel(
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
                refund = workflows.booking_refund(
                    booking_id=booking.pk, amount_minor=form.amount_minor, reason=form.cleaned_data["reason"],
                    actor=f"staff:{request.user.pk}", key=form.cleaned_data["key"],
                )  # fmt: skip
            except RefundNotAllowed as refusal:
                form.add_error("amount", str(refusal))
            else:
                amount = format_money(refund.amount_minor, refund.currency)
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
            payment, left_minor = workflows.booking_refundable(booking_id=booking.pk)
        except RefundNotAllowed as refusal:
            self.message_user(request, f"{booking.reference}: {refusal}", messages.ERROR)
            return None
        paid = format_money(payment.taken_minor, payment.taken_currency)
        left = format_money(left_minor, payment.taken_currency)
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
                workflows.booking_confirmation_retry(booking_id=booking_id)
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
        # A return sails back the same way (the booking request makes sure), so one mark says it.
        return f"{route.origin.code} → {route.destination.code}" + (" ⇄" if len(legs) > 1 else "")

    @admin.display(description=_("operator"))
    def operators(self, booking: Booking) -> str:
        return ", ".join(dict.fromkeys(leg.sailing.route.operator.code for leg in booking.legs.all()))

    @admin.display(description=_("total"), ordering="total_minor")
    def total(self, booking: Booking) -> str:
        return format_money(booking.total_minor, booking.currency)

    @admin.display(description=_("hold expires"), ordering="hold_expires_at")
    def hold_expires(self, booking: Booking) -> dt.datetime | None:
        return booking.hold_expires_at if booking.status == S.HELD else None

    @admin.display(description=_("refund if cancelled now"))
    def refund_if_cancelled_now(self, booking: Booking) -> str:
        # What cancelling gives back, as the traveller is told it and as the cancellation refunds it.
        if not booking.is_active:
            return gettext("Not cancellable (%(status)s).") % {"status": booking.get_status_display().lower()}
        quote = workflows.booking_refund_quote(booking=booking)
        return f"{format_money(quote.amount_minor, quote.currency)} — {quote.message}"


admin.site.unregister(Sailing)


@admin.register(Sailing)
class SailingAdmin(ferries_admin.SailingAdmin):
    """The network's sailings admin, and cancelling sailings with what that means for their bookings."""

    actions = ["cancel_sailings"]

    @admin.action(description=_("Cancel the selected sailings…"), permissions=["change"])
    def cancel_sailings(self, request: HttpRequest, queryset: QuerySet[Sailing]) -> TemplateResponse | None:
        form = submitted_form(request, ReasonForm)
        sailings = queryset.select_related("route__origin", "route__destination", "route__operator")
        if not (form.is_bound and form.is_valid()):
            return action_page(
                self, request, sailings, action="cancel_sailings", form=form, title=gettext("Cancel sailings"),
                intro=gettext(
                    "Each sailing is taken off sale. Every booking still travelling on it is cancelled and refunded "
                    "in full, whatever its fare's conditions, and its traveller is e-mailed."
                ),
                submit=gettext("Cancel these sailings"),
            )  # fmt: skip
        for sailing in sailings:
            self._cancel(request, sailing, reason=form.cleaned_data["reason"])
        return None

    def save_model(self, request: HttpRequest, obj: Sailing, form, change: bool) -> None:
        if change and "status" in form.changed_data and obj.status == Sailing.Status.CANCELLED:
            # Cancelled on the sailing's page: its bookings are cancelled too, as with the action.
            obj.status = form.initial["status"]
            super().save_model(request, obj, form, change)
            self._cancel(request, obj, reason=gettext("cancelled on the sailing's page"))
            return
        super().save_model(request, obj, form, change)

    def _cancel(self, request: HttpRequest, sailing: Sailing, *, reason: str) -> None:
        try:
            cancellation, queued = workflows.sailing_cancelled(
                sailing_id=sailing.pk, reason=reason, actor=f"staff:{request.user.pk}"
            )
        except SailingNotCancellable as refusal:
            self.message_user(request, str(refusal), messages.WARNING)
            return
        figures = {"ref": sailing.ref, "count": queued}
        if not cancellation.changed:
            message = ngettext(
                "%(ref)s was already cancelled; its %(count)d booking still travelling is queued again.",
                "%(ref)s was already cancelled; its %(count)d bookings still travelling are queued again.",
                queued,
            )
            self.message_user(request, message % figures, messages.WARNING)
            return
        # The sailing's history keeps the reason: the booking events only name the sailing.
        self.log_change(request, cancellation.sailing, gettext("Cancelled: %(reason)s") % {"reason": reason})
        message = ngettext(
            "%(ref)s cancelled; %(count)d booking is being cancelled with a full refund.",
            "%(ref)s cancelled; %(count)d bookings are being cancelled with a full refund.",
            queued,
        )
        self.message_user(request, message % figures, messages.SUCCESS)
