"""Compensations for late arrivals, proposed at each retiming of a sailing: staff approve them (refunded to the card
that paid, the traveller e-mailed) or reject them with the reason (weather endangering the ship, extraordinary
circumstances: Regulation (EU) No 1177/2010, article 20(4))."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from bookings.admin_actions import ReasonForm, action_page, submitted_form
from bookings.compensations import CompensationRefused
from bookings.flows import disruption
from bookings.models import Compensation
from kernel.money import format_money


@admin.register(Compensation)
class CompensationAdmin(admin.ModelAdmin):
    list_display = ["booking", "sailing", "direction", "late_minutes", "percent", "amount", "status", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["booking", "sailing"]
    search_fields = ["booking__reference", "sailing__ref"]
    actions = ["approve", "reject"]
    readonly_fields = [field.name for field in Compensation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Compensation | None = None) -> bool:
        return False

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, compensation: Compensation) -> str:
        return format_money(compensation.amount_minor, compensation.currency)

    @admin.action(description=_("Approve and pay the selected compensations"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Compensation]) -> None:
        paid = 0
        for compensation in queryset.filter(status=Compensation.Status.PROPOSED):
            try:
                disruption.compensation_approve(compensation_id=compensation.pk, actor=f"staff:{request.user.pk}")
            except CompensationRefused as refusal:
                self.message_user(request, refusal.message, messages.WARNING)
                continue
            paid += 1
        message = ngettext("%(count)d compensation approved and paid.", "%(count)d compensations approved and paid.",
                           paid)  # fmt: skip
        self.message_user(request, message % {"count": paid}, messages.SUCCESS if paid else messages.WARNING)

    @admin.action(description=_("Reject the selected compensations…"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Compensation]) -> TemplateResponse | None:
        form = submitted_form(request, ReasonForm)
        waiting = queryset.filter(status=Compensation.Status.PROPOSED).select_related("booking", "sailing")
        if not (form.is_bound and form.is_valid()):
            return action_page(
                self, request, waiting, action="reject", form=form, title=gettext("Reject compensations"),
                intro=gettext("Nothing is paid. Say why: weather that endangered the ship's safe operation, or "
                              "extraordinary circumstances the operator could not have avoided."),
                submit=gettext("Reject"),
            )  # fmt: skip
        for compensation in waiting:
            disruption.compensation_reject(compensation_id=compensation.pk, actor=f"staff:{request.user.pk}",
                                           reason=form.cleaned_data["reason"])  # fmt: skip
        return None
