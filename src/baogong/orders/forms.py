"""Page forms of the ordering system: they parse input; the order services decide."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from baogong.enterprises.models import EnterpriseType, Organisation, OrganisationKind

from .models import PROXY_CHANNELS, OfferLine, PaymentMethod, PurchaseOrderLine
from .services import MAX_LINE_QUANTITY, LineRequest, Shortage

RESIDENT_PAYMENT_METHODS = (PaymentMethod.ONLINE, PaymentMethod.CASH, PaymentMethod.SCAN)
# Households ordering through a community worker cannot pay online; relief orders are free.
PROXY_PAYMENT_METHODS = (PaymentMethod.CASH, PaymentMethod.SCAN, PaymentMethod.FREE)
SERVICE_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.")
SERVICE_SHORTAGE_FIELD = re.compile(r"^shortages\[(\d+)\]\.(\w+)$")


def form_token_new() -> str:
    """A fresh idempotency token for one rendering of an order form."""
    return f"form-{uuid.uuid4().hex}"


def _quantity_field(line: OfferLine) -> forms.IntegerField:
    return forms.IntegerField(
        label=line.goods_name,
        required=False,
        min_value=0,
        max_value=MAX_LINE_QUANTITY,
        widget=forms.NumberInput(attrs={"min": 0, "max": line.household_cap, "inputmode": "numeric", "step": 1}),
    )


class OrderForm(forms.Form):
    """One order: a quantity per offer line, how to pay and, for proxy orders, the channel and read-back.

    `token` is the idempotency key: generated when the form is first rendered
    and posted back unchanged, so a double tap or a resubmitted page replays
    the first order instead of placing a second one.
    """

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    delivery_date = forms.DateField(widget=forms.HiddenInput)
    payment_method = forms.ChoiceField(label=_("Payment"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, offers: list[OfferLine], proxy: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.offers = offers
        self.proxy = proxy
        methods = PROXY_PAYMENT_METHODS if proxy else RESIDENT_PAYMENT_METHODS
        payment = self.fields["payment_method"]
        assert isinstance(payment, forms.ChoiceField)
        payment.choices = [(method.value, method.label) for method in methods]
        payment.initial = methods[0].value
        for line in offers:
            self.fields[f"qty_{line.pk}"] = _quantity_field(line)
        if proxy:
            self.fields["channel"] = forms.ChoiceField(
                label=_("How the household asked"),
                choices=[(channel.value, channel.label) for channel in PROXY_CHANNELS],
                widget=forms.RadioSelect,
            )
            self.fields["read_back_confirmed"] = forms.BooleanField(
                label=_("I read the order back to the household and they confirmed it"), required=False
            )
            self.fields["read_back_note"] = forms.CharField(
                label=_("Note (who confirmed, when)"), max_length=255, required=False
            )

    def offer_rows(self) -> list[tuple[OfferLine, forms.BoundField]]:
        return [(line, self[f"qty_{line.pk}"]) for line in self.offers]

    def line_requests(self) -> list[LineRequest]:
        return [
            LineRequest(offer_line_id=line.pk, quantity=self.cleaned_data[f"qty_{line.pk}"])
            for line in self.offers
            if self.cleaned_data.get(f"qty_{line.pk}")
        ]

    def field_of(self, service_field: str | None, lines: list[LineRequest]) -> str | None:
        """The form field a service error names (`lines[1].quantity` -> `qty_<offer line id>`)."""
        if not service_field:
            return None
        match = SERVICE_LINE_FIELD.match(service_field)
        if match and int(match.group(1)) < len(lines):
            return f"qty_{lines[int(match.group(1))].offer_line_id}"
        return service_field if service_field in self.fields else None


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=255)


class HouseholdFindForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    offline = forms.BooleanField(label=_("Only households that can't order online"), required=False)


class ConfirmForm(forms.Form):
    """The quantity a supermarket can deliver per line, and why when it is less than ordered."""

    def __init__(self, *args: Any, lines: list[PurchaseOrderLine], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"confirmed_{line.offer_line_id}"] = forms.IntegerField(
                label=line.offer_line.goods_name,
                # Blank reads as "all of it": confirming in full is the common case.
                required=False,
                min_value=0,
                max_value=line.quantity,
                initial=line.quantity,
                widget=forms.NumberInput(attrs={"min": 0, "max": line.quantity, "inputmode": "numeric"}),
            )
            self.fields[f"reason_{line.offer_line_id}"] = forms.CharField(
                label=_("Reason"), max_length=255, required=False
            )

    def line_rows(self) -> list[tuple[PurchaseOrderLine, forms.BoundField, forms.BoundField]]:
        return [
            (line, self[f"confirmed_{line.offer_line_id}"], self[f"reason_{line.offer_line_id}"]) for line in self.lines
        ]

    def shortages(self) -> list[Shortage]:
        shortages = []
        for line in self.lines:
            confirmed = self.cleaned_data[f"confirmed_{line.offer_line_id}"]
            if confirmed is not None and confirmed < line.quantity:
                shortages.append(
                    Shortage(
                        offer_line_id=line.offer_line_id,
                        confirmed_quantity=confirmed,
                        reason=self.cleaned_data[f"reason_{line.offer_line_id}"],
                    )
                )
        return shortages

    def field_of(self, service_field: str | None, shortages: list[Shortage]) -> str | None:
        match = SERVICE_SHORTAGE_FIELD.match(service_field or "")
        if not match or int(match.group(1)) >= len(shortages):
            return None
        offer_line_id = shortages[int(match.group(1))].offer_line_id
        return f"reason_{offer_line_id}" if match.group(2) == "reason" else f"confirmed_{offer_line_id}"


def supermarkets() -> QuerySet[Organisation]:
    """The supermarkets a compound can be paired with."""
    return Organisation.objects.filter(
        kind=OrganisationKind.ENTERPRISE, enterprise_type=EnterpriseType.SUPERMARKET, is_active=True
    ).order_by("name")


class PairingForm(forms.Form):
    supermarket = forms.ModelChoiceField(label=_("Paired supermarket"), queryset=Organisation.objects.none())
    backup = forms.ModelChoiceField(label=_("Backup supermarket"), queryset=Organisation.objects.none(), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name in ("supermarket", "backup"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = supermarkets()


class PurchaseSheetForm(forms.Form):
    # An integer, not a ModelChoiceField: a compound outside the scope must be
    # not found by the scoped lookup, exactly like one that does not exist.
    compound = forms.IntegerField(label=_("Compound"), widget=forms.Select)
    file = forms.FileField(
        label=_("Purchase sheet (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )

    def __init__(self, *args: Any, compounds: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        widget = self.fields["compound"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [
            (compound.pk, f"{compound.parent.name} · {compound.name}" if compound.parent else compound.name)
            for compound in compounds
        ]
