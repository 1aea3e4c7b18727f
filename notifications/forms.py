"""The travel alert form: the address to tell and, for a price alert, the limit, typed as the traveller writes an
amount (80 or 79.50); what is watched comes from the link that opened the page."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.money import to_minor


class TravelAlertForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("E-mail"), required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "required": True}),
    )  # fmt: skip
    below = forms.CharField(
        label=gettext_lazy("Your price limit for the whole party"), required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "required": True}),
    )  # fmt: skip

    def __init__(self, *args, price: bool, currency: str = "EUR", **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        if price:
            self.fields["below"].help_text = _("In %(currency)s, such as 80 or 79.50.") % {"currency": currency}
        else:
            del self.fields["below"]

    def limit(self) -> dict | None:
        """The limit as the alert request takes it, or None (its error on the form) when it is not an amount."""
        text = (self.data.get("below") or "").strip().replace(",", ".")
        try:
            amount = to_minor(Decimal(text), self.currency)
        except (InvalidOperation, ValueError):
            self.add_error("below", _("Enter an amount such as 80 or 79.50."))
            return None
        return {"amount_minor": amount, "currency": self.currency}

    def add_request_errors(self, error: ValidationError) -> None:
        for path, messages in error.message_dict.items():
            name = path.split(".")[0]
            if name in self.errors:  # said already, in the form's own words
                continue
            self.add_error(name if name in self.fields else None, messages)
