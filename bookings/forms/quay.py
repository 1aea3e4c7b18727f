"""The check-in page's form: the size of one of the booking's vehicles as measured at the quay."""

from django import forms
from django.utils.translation import gettext_lazy as _


class VehicleMeasureForm(forms.Form):
    length_cm = forms.IntegerField(label=_("Measured length (cm)"), min_value=100, max_value=2500)
    height_cm = forms.IntegerField(label=_("Measured height (cm)"), min_value=50, max_value=500)
    # Which of the booking's vehicles; left out: its first.
    vehicle_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
