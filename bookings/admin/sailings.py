"""Cancelling a sailing cancels its bookings, so that action is added to the sailings' admin here: the network's own
admin (ferries) knows nothing of bookings."""

import datetime as dt
import functools

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from bookings.admin import manifests
from bookings.admin_actions import DelayForm, ReasonForm, action_page, submitted_form
from bookings.flows import disruption, sailing_cancellation
from ferries.admin import network as ferries_admin
from ferries.models import Sailing
from ferries.services import SailingNotCancellable, SailingNotRetimable

admin.site.unregister(Sailing)


@admin.register(Sailing)
class SailingAdmin(ferries_admin.SailingAdmin):
    """The network's sailings admin, and cancelling sailings with what that means for their bookings."""

    actions = ["cancel_sailings", "retime_sailings"]

    @admin.action(description=_("Set new times (a delay)…"), permissions=["change"])
    def retime_sailings(self, request: HttpRequest, queryset: QuerySet[Sailing]) -> TemplateResponse | None:
        form = submitted_form(request, DelayForm)
        sailings = queryset.select_related("route__origin", "route__destination", "route__operator")
        if not (form.is_bound and form.is_valid()):
            return action_page(
                self, request, sailings, action="retime_sailings", form=form, title=gettext("Set new times"),
                intro=gettext(
                    "Each sailing leaves and arrives later (or earlier) by the minutes given. Every traveller booked "
                    "on it is e-mailed the new times at once; when the departure is more than 90 minutes later "
                    "than the timetable's, each is offered another sailing or a refund of that crossing."
                ),
                submit=gettext("Set the new times"),
            )  # fmt: skip
        data = form.cleaned_data
        arrival = data["arrival_minutes"] if data["arrival_minutes"] is not None else data["departure_minutes"]
        for sailing in sailings:
            self._retime(request, sailing, dt.timedelta(minutes=data["departure_minutes"]),
                         dt.timedelta(minutes=arrival), data["reason"])  # fmt: skip
        return None

    def _retime(self, request: HttpRequest, sailing: Sailing, later: dt.timedelta, arrival_later: dt.timedelta,
                reason: str) -> None:  # fmt: skip
        try:
            retiming, told = disruption.sailing_retimed(
                sailing_id=sailing.pk, departs_at=sailing.departs_at + later,
                arrives_at=sailing.arrives_at + arrival_later, reason=reason, actor=f"staff:{request.user.pk}",
            )  # fmt: skip
        except SailingNotRetimable as refusal:
            self.message_user(request, f"{sailing.ref}: {refusal}", messages.WARNING)
            return
        if retiming is None:
            return
        self.log_change(request, sailing, gettext("New times: %(reason)s") % {"reason": reason})
        message = ngettext(
            "%(ref)s now leaves %(delay)+d minutes from the timetable; %(count)d booking is told.",
            "%(ref)s now leaves %(delay)+d minutes from the timetable; %(count)d bookings are told.",
            told,
        ) % {"ref": sailing.ref, "delay": retiming.sailing.departure_delay_minutes, "count": told}
        self.message_user(request, message, messages.SUCCESS)

    def get_urls(self):
        page = lambda view: self.admin_site.admin_view(functools.partial(view, self))  # noqa: E731
        return [
            path("<int:sailing_id>/manifest/", page(manifests.manifest_page), name="bookings_sailing_manifest"),
            path("<int:sailing_id>/manifest.csv", page(manifests.manifest_csv), name="bookings_sailing_manifest_csv"),
            path("<int:sailing_id>/manifest.pdf", page(manifests.manifest_download_pdf),
                 name="bookings_sailing_manifest_pdf"),
            *super().get_urls(),
        ]  # fmt: skip

    def get_fields(self, request: HttpRequest, obj: Sailing | None = None) -> list[str]:
        fields = super().get_fields(request, obj)
        return [*fields, "manifest"] if obj else fields

    def get_readonly_fields(self, request: HttpRequest, obj: Sailing | None = None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "manifest"] if obj else fields

    @admin.display(description=_("manifest"))
    def manifest(self, sailing: Sailing) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:bookings_sailing_manifest", args=[sailing.pk]),
                           gettext("Manifest: who is on board, check-in, load factor"))  # fmt: skip

    @admin.display(description=_("passengers"))
    def passengers(self, sailing: Sailing) -> str | None:
        """The load of passengers, leading to who they are (the manifest)."""
        load = super().passengers(sailing)
        url = reverse("admin:bookings_sailing_manifest", args=[sailing.pk])
        return format_html('<a href="{}" title="{}">{}</a>', url, gettext("Manifest"), load) if load else load

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
            cancellation, queued = sailing_cancellation.sailing_cancelled(
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
