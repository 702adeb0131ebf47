"""Admin for commodities and kits (kits are data: their lines are edited here)."""

from __future__ import annotations

from django.contrib import admin

from baogong.core.admin import AuditedAdmin

from .models import Commodity, Kit, KitLine


@admin.register(Commodity)
class CommodityAdmin(AuditedAdmin):
    list_display = ("code", "name_zh", "name_en", "category", "unit", "weight_kg", "is_cold_chain", "medical_tier")
    list_filter = ("category", "is_cold_chain", "medical_tier")
    search_fields = ("code", "name_zh", "name_en")


class KitLineInline(admin.TabularInline):
    model = KitLine
    extra = 0
    autocomplete_fields = ("commodity",)


@admin.register(Kit)
class KitAdmin(AuditedAdmin):
    list_display = ("code", "kind", "name_zh", "name_en")
    list_filter = ("kind",)
    search_fields = ("code", "name_zh", "name_en")
    inlines = (KitLineInline,)
