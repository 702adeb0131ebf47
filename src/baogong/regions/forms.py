"""Page forms of the regions app: they parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ZoneStatusKind

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ZoneStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Zone status"), choices=ZoneStatusKind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=255)
    starts_at = forms.DateTimeField(
        label=_("Starts at"), required=False, widget=DATETIME_INPUT, help_text=_("Empty: now.")
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"),
        required=False,
        widget=DATETIME_INPUT,
        help_text=_("Empty: until changed; a sealed compound is sealed for 7 days."),
    )


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
