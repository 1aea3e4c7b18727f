"""The pages between choosing an admin action and applying it: what the action needs to know (an amount, a
reason, which e-mail), asked in a form posted back to the changelist with the selection.

The forms check only the shape of what is typed; whether a booking may have it is for the flows.
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from kernel.money import CURRENCY_EXPONENTS, to_minor
from notifications.models import Email

# Posted with the form: the action is being applied, not chosen.
APPLY = "post"


def submitted_form(request: HttpRequest, form_class: type[forms.Form], **kwargs) -> forms.Form:
    """The action's form: bound when the action's page was posted, blank when the action was just chosen."""
    data = request.POST if request.POST.get(APPLY) == "yes" else None
    return form_class(data, **kwargs)


def action_page(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, action: str, form: forms.Form,
    title: str, intro: str = "", submit: str,
) -> TemplateResponse:  # fmt: skip
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "submit": submit,
        "opts": opts,
        "objects": queryset,
        "form": form,
        "action": action,
        "apply": APPLY,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/bookings/action_form.html", context)


class RefundForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, help_text=_("Kept with the refund."))
    # One per page shown: the same page sent twice asks for one refund, not two.
    key = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)

    field_order = ["amount", "reason", "key"]

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, initial={"key": uuid.uuid4().hex}, **kwargs)
        self.currency = currency
        self.fields["amount"] = forms.DecimalField(
            label=_("Amount (%(currency)s)") % {"currency": currency},
            min_value=Decimal("0"),
            max_digits=12,
            decimal_places=CURRENCY_EXPONENTS.get(currency, 2),
            help_text=_("In the booking's currency, e.g. 12.50."),
        )
        self.order_fields(self.field_order)

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if not amount:
            raise forms.ValidationError(_("A refund is more than nothing."))
        return amount

    @property
    def amount_minor(self) -> int:
        return to_minor(self.cleaned_data["amount"], self.currency)


# What a booking's traveller is sent.
BOOKING_EMAILS = [
    Email.Kind.BOOKING_CONFIRMATION,
    Email.Kind.PAYMENT_SUCCESS,
    Email.Kind.REFUND,
    Email.Kind.CANCELLATION,
    Email.Kind.HOLD_EXPIRED,
]


class EmailKindForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("E-mail"),
        choices=[(kind.value, kind.label) for kind in BOOKING_EMAILS],
        help_text=_("The latest of this kind is sent again."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class DelayForm(forms.Form):
    """New times for sailings, as a delay in minutes from the times they have now (negative: earlier)."""

    departure_minutes = forms.IntegerField(
        label=_("Departure later by (minutes)"), min_value=-24 * 60, max_value=7 * 24 * 60,
        help_text=_("e.g. 120 for two hours late; a negative number for earlier."),
    )  # fmt: skip
    arrival_minutes = forms.IntegerField(
        label=_("Arrival later by (minutes)"), min_value=-24 * 60, max_value=7 * 24 * 60, required=False,
        help_text=_("Empty: as much as the departure."),
    )  # fmt: skip
    reason = forms.CharField(label=_("Reason"), max_length=200, help_text=_("e.g. weather, a technical problem."))

    def clean(self):
        data = super().clean()
        if data.get("departure_minutes") == 0 and not data.get("arrival_minutes"):
            raise forms.ValidationError(_("Nothing changes: give a delay."))
        return data
