"""Admin for the region tree and the household roster.

Regions are created through `region_create` so the materialised path is
right; a node never moves (parent and level are fixed once created). Zone
statuses are shown but set only through `zone_status_set` on the region
pages. Households are listed masked; only superusers open a household's form,
and each opening is logged as a personal-data access.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from baogong.core.admin import AuditedAdmin, ReadOnlyInline, admin_actor
from baogong.core.masking import mask_name, mask_phone
from baogong.core.services import personal_data_access_record

from .models import Household, Region, RegionLevel, VulnerabilityTag, ZoneStatus, vulnerability_mask_of
from .services import region_create


class ZoneStatusInline(ReadOnlyInline):
    model = ZoneStatus
    fields = ("status", "starts_at", "ends_at", "reason", "set_by", "created_at")
    readonly_fields = fields
    ordering = ("-starts_at", "-id")


class RegionAdminForm(forms.ModelForm[Region]):
    class Meta:
        model = Region
        fields = ("parent", "level", "code", "name", "is_rural", "latitude", "longitude")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.instance.pk is None and "level" in cleaned:
            # The same rule `region_create` enforces, as a form error instead of a failed save.
            parent = cleaned.get("parent")
            expected = RegionLevel.COUNTY if parent is None else parent.level + 1
            if cleaned["level"] != expected:
                self.add_error(
                    "level", _("A region under this parent must be at level %(level)s.") % {"level": expected}
                )
        return cleaned


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    form = RegionAdminForm
    list_display = ("code", "name", "level", "parent", "is_rural")
    list_filter = ("level", "is_rural")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)
    ordering = ("path",)
    show_full_result_count = False
    inlines = (ZoneStatusInline,)

    def get_inlines(self, request: HttpRequest, obj: Region | None) -> list[type[InlineModelAdmin[Any, Any]]]:
        # A region being created has no history yet.
        return list(self.inlines) if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Region | None = None) -> tuple[str, ...]:
        # Moving a node would invalidate the paths of its whole subtree.
        return ("parent", "level", "path") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Region, form: forms.ModelForm[Any], change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = region_create(
            actor=admin_actor(request),
            parent=obj.parent,
            level=obj.level,
            code=obj.code,
            name=obj.name,
            latitude=obj.latitude,
            longitude=obj.longitude,
            is_rural=obj.is_rural,
        )
        # The admin goes on to log and redirect with the object it built; make it the saved one.
        obj.pk, obj.path = created.pk, created.path
        obj._state.adding, obj._state.db = False, created._state.db


class VulnerableFilter(admin.SimpleListFilter):
    title = _("vulnerable")
    parameter_name = "vulnerable"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("yes")), ("no", _("no"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Household]) -> QuerySet[Household]:
        if self.value() == "yes":
            return queryset.filter(vulnerability_mask__gt=0)
        if self.value() == "no":
            return queryset.filter(vulnerability_mask=0)
        return queryset


class HouseholdAdminForm(forms.ModelForm[Household]):
    vulnerability_tags = forms.MultipleChoiceField(
        label=_("vulnerability"),
        choices=VulnerabilityTag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Household
        fields = ("room", "head_name", "size", "phone", "id_number", "can_order_online", "notes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["vulnerability_tags"] = self.instance.vulnerability_tags

    def save(self, commit: bool = True) -> Household:
        self.instance.vulnerability_mask = vulnerability_mask_of(self.cleaned_data["vulnerability_tags"])
        return super().save(commit=commit)


@admin.register(Household)
class HouseholdAdmin(AuditedAdmin):
    """Masked list for staff; the unmasked form for superusers only, logged.

    Households are added by the roster import and the household form, which
    place them in a unit and derive the compound; the admin only corrects them.
    """

    form = HouseholdAdminForm
    list_display = ("id", "compound", "unit", "room", "masked_head_name", "masked_phone", "size", "is_vulnerable")
    list_filter = (VulnerableFilter, "can_order_online")
    # Exact phone only: a substring search would let the list confirm digits it masks.
    search_fields = ("=room", "=phone")
    list_select_related = ("unit", "compound")
    readonly_fields = ("unit", "compound")
    show_full_result_count = False

    @admin.display(description=_("head of household"))
    def masked_head_name(self, obj: Household) -> str:
        return mask_name(obj.head_name)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Household) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("vulnerable"), boolean=True)
    def is_vulnerable(self, obj: Household) -> bool:
        return obj.is_vulnerable

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Household | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Household | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A read-only form would still show the numbers unmasked, so staff
        # without change rights get no form at all.
        if not self.has_change_permission(request):
            raise PermissionDenied
        household = self.get_object(request, object_id)
        if household is not None and request.method == "GET":
            personal_data_access_record(
                actor=admin_actor(request),
                subject_type="household",
                subject_ids=[household.pk],
                fields=["head_name", "phone", "id_number"],
                purpose="admin",
            )
        return super().change_view(request, object_id, form_url, extra_context)
