"""The outbox for staff: what went out, what failed and why, the message as sent, and a resend action."""

from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import Email, TravelAlert
from notifications.rendering import build_message
from notifications.services import ONE_TIME, email_resend


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "booking_ref",
        "recipient",
        "language",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "kind", "language"]
    search_fields = ["booking__reference", "recipient"]
    list_select_related = ["booking"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fields = [
        "kind", "booking_ref", "key", "recipient", "language", "status", "attempts", "last_error",
        "created_at", "last_attempt_at", "sent_at", "subject", "message",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("booking"), ordering="booking__reference")
    def booking_ref(self, obj):
        if obj.booking_id is None:
            return "—"  # a staff alert
        url = reverse("admin:bookings_booking_change", args=[obj.booking_id])
        return format_html('<a href="{}">{}</a>', url, obj.booking.reference)

    @admin.display(description=_("message"))
    def message(self, obj):
        """As sent; for an e-mail not sent yet, as it would be sent now."""
        if obj.kind in ONE_TIME:
            return _("Not shown: it holds a one-time link or code, and is not kept once sent.")
        if obj.kind == Email.Kind.STAFF_ALERT:  # plain text only
            return format_html('<pre style="white-space:pre-wrap">{}</pre>', obj.body_text or build_message(obj)[2])
        html = obj.body_html or build_message(obj)[3]
        # Sandboxed: the e-mail's HTML is shown, never run, inside the admin.
        style = "width:100%;max-width:720px;height:640px;border:1px solid #ccc;"
        return format_html('<iframe sandbox srcdoc="{}" style="{}"></iframe>', html, style)

    @admin.action(description=_("Send the selected e-mails again"), permissions=["change"])
    def resend(self, request, queryset):
        one_time = queryset.filter(kind__in=ONE_TIME).count()
        if one_time:
            self.message_user(request, ngettext(
                "%d e-mail held a one-time link or code and is not sent again: the traveller asks for a new one.",
                "%d e-mails held a one-time link or code and are not sent again: the traveller asks for new ones.",
                one_time,
            ) % one_time, messages.WARNING)  # fmt: skip
        queryset = queryset.exclude(kind__in=ONE_TIME)
        with transaction.atomic():
            for email_id in queryset.values_list("pk", flat=True):
                email_resend(email_id=email_id)
        count = queryset.count()
        self.message_user(request, ngettext("%d e-mail queued again.", "%d e-mails queued again.", count) % count,
                          messages.SUCCESS)  # fmt: skip


@admin.register(TravelAlert)
class TravelAlertAdmin(admin.ModelAdmin):
    """Travellers' alerts, to answer "why did I (not) hear?": what each watches, what the last check saw and when,
    how many changes were e-mailed. Set by travellers; staff only stop them."""

    list_display = ["kind", "email", "watched", "state", "changes", "confirmed_at", "stopped_at", "checked_at"]
    list_filter = ["kind", ("confirmed_at", admin.EmptyFieldListFilter), ("stopped_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    readonly_fields = [field.name for field in TravelAlert._meta.fields]
    actions = ["stop"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("watches"))
    def watched(self, alert: TravelAlert) -> str:
        query, sailing = alert.query, f" #{alert.sailing_id}" if alert.sailing_id else ""
        return f"{query['from']} → {query['to']} {query['date']}{sailing}"

    @admin.action(description=_("Stop the selected alerts"), permissions=["change"])
    def stop(self, request, queryset) -> None:
        stopped = queryset.filter(stopped_at__isnull=True).update(stopped_at=timezone.now())
        self.message_user(request, ngettext("%d alert stopped.", "%d alerts stopped.", stopped) % stopped)
