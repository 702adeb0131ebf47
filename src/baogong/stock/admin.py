"""Admin for stock points; balances and the ledger are read-only.

Goods move only through `stock.services`, which write the ledger row and the
balance together; an admin form that edited either would break
`on_hand == sum(ledger)`. The database refuses ledger updates anyway.
"""

from __future__ import annotations

from django.contrib import admin

from baogong.core.admin import AuditedAdmin, ReadOnlyAdmin

from .models import StockBalance, StockMovement, StockPoint


@admin.register(StockPoint)
class StockPointAdmin(AuditedAdmin):
    list_display = ("code", "name", "kind", "region", "organisation", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("region", "organisation")
    raw_id_fields = ("region",)
    autocomplete_fields = ("organisation",)


@admin.register(StockBalance)
class StockBalanceAdmin(ReadOnlyAdmin):
    list_display = ("point", "commodity", "lot", "expires_on", "on_hand")
    list_filter = ("point__kind",)
    search_fields = ("=point__code", "=commodity__code", "=lot")
    list_select_related = ("point", "commodity")
    ordering = ("point__code", "commodity__code", "lot")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "point", "commodity", "lot", "kind", "quantity", "balance_after", "actor", "reason")
    list_filter = ("kind",)
    search_fields = ("=point__code", "=commodity__code", "=reference")
    list_select_related = ("point", "commodity", "actor")
    ordering = ("-created_at", "-id")
