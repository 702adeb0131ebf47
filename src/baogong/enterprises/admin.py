"""Admin for organisations (with duty lists and contacts) and compound pairings."""

from __future__ import annotations

from django.contrib import admin

from baogong.core.admin import AuditedAdmin

from .models import CompoundPairing, Contact, DepartmentDuty, Organisation


class DepartmentDutyInline(admin.TabularInline):
    model = DepartmentDuty
    extra = 0
    fields = ("measure", "role", "description")


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "title", "phone", "is_on_duty_24h")


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ("code", "name", "kind", "enterprise_type", "region", "daily_household_capacity", "is_active")
    list_filter = ("kind", "enterprise_type", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("region",)
    raw_id_fields = ("region",)
    inlines = (DepartmentDutyInline, ContactInline)


@admin.register(CompoundPairing)
class CompoundPairingAdmin(AuditedAdmin):
    list_display = ("compound", "supermarket", "backup", "distance_km")
    search_fields = ("compound__code", "compound__name", "supermarket__name")
    list_select_related = ("compound", "supermarket", "backup")
    raw_id_fields = ("compound",)
    autocomplete_fields = ("supermarket", "backup")
