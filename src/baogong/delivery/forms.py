"""Page forms of the pass pages: they parse input; the delivery services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from baogong.enterprises.models import Organisation
from baogong.regions.models import Region
from baogong.stock.models import StockPoint

from .models import Driver, Vehicle


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PassIssueForm(forms.Form):
    vehicle = forms.ModelChoiceField(label=_("Vehicle"), queryset=Vehicle.objects.none())
    driver = forms.ModelChoiceField(label=_("Driver"), queryset=Driver.objects.none())
    valid_from = forms.DateTimeField(label=_("Valid from"), widget=LocalDateTimeInput())
    valid_until = forms.DateTimeField(label=_("Valid until"), widget=LocalDateTimeInput())
    origin_stock_point = forms.ModelChoiceField(
        label=_("Origin stock point"), queryset=StockPoint.objects.none(), required=False
    )
    origin_organisation = forms.ModelChoiceField(
        label=_("or origin organisation"), queryset=Organisation.objects.none(), required=False
    )
    destinations = forms.ModelMultipleChoiceField(
        label=_("Destination compounds"), queryset=Region.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self,
        *args: Any,
        vehicles: QuerySet[Vehicle],
        drivers: QuerySet[Driver],
        stock_points: QuerySet[StockPoint],
        organisations: QuerySet[Organisation],
        destinations: QuerySet[Region],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        querysets: dict[str, QuerySet[Any]] = {
            "vehicle": vehicles,
            "driver": drivers,
            "origin_stock_point": stock_points,
            "origin_organisation": organisations,
            "destinations": destinations.order_by("path"),
        }
        for name, queryset in querysets.items():
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset


class PassRevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason for revocation"), max_length=255)


class PassCheckForm(forms.Form):
    payload_or_number = forms.CharField(
        label=_("Pass QR content or 12-digit number"),
        max_length=1000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}),
    )
    plate_seen = forms.CharField(
        label=_("Plate on the vehicle"), max_length=16, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    route_destination = forms.ModelChoiceField(
        label=_("Going to (compound)"), queryset=Region.objects.none(), required=False
    )

    def __init__(self, *args: Any, destinations: QuerySet[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["route_destination"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = destinations.order_by("path")


class GateReceiptForm(forms.Form):
    """The gate checklist: one group of fields per checklist line (`received_<line id>` and so on) and the handover.

    Field bounds are left to `gate_receipt_complete`, which names the line in its errors.
    """

    placed_at = forms.CharField(
        label=_("Goods placed at"),
        max_length=128,
        help_text=_("Where the goods were put down, e.g. north gate shelf 2."),
    )
    received_at = forms.DateTimeField(
        label=_("Handed over at (empty: now)"), widget=LocalDateTimeInput(), required=False
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args: Any, line_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_ids = line_ids
        for line_id in line_ids:
            self.fields[f"received_{line_id}"] = forms.IntegerField(
                label=_("Received"), widget=forms.NumberInput(attrs={"inputmode": "numeric"})
            )
            self.fields[f"damaged_{line_id}"] = forms.IntegerField(
                label=_("Damaged"), initial=0, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
            )
            self.fields[f"wrong_{line_id}"] = forms.IntegerField(
                label=_("Wrong item"), initial=0, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
            )
            self.fields[f"note_{line_id}"] = forms.CharField(label=_("What was wrong"), max_length=255, required=False)
            self.fields[f"photo_{line_id}"] = forms.FileField(
                label=_("Photo (JPEG or PNG)"),
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png", "capture": "environment"}),
            )

    def line_fields(self, line_id: int) -> list[forms.BoundField]:
        return [self[f"{name}_{line_id}"] for name in ("received", "damaged", "wrong", "note", "photo")]


class GateArrivalForm(forms.Form):
    compound = forms.ModelChoiceField(label=_("Compound"), queryset=Region.objects.none())
    plate = forms.CharField(
        label=_("Plate on the vehicle"), max_length=16, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    pass_number = forms.CharField(label=_("Pass number (if shown)"), max_length=12, required=False)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args: Any, compounds: QuerySet[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["compound"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = compounds.order_by("path")


class DisinfectionForm(forms.Form):
    plate = forms.CharField(
        label=_("Plate on the vehicle"), max_length=16, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    place = forms.ModelChoiceField(label=_("Where"), queryset=Region.objects.none())
    agent = forms.CharField(label=_("Disinfectant"), max_length=64)

    def __init__(self, *args: Any, places: QuerySet[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["place"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = places
