"""Admin for the capacity pool; passes and the checkpoint log are read-only.

Passes are numbered, checked for overlap and audited only by `pass_issue` and
`pass_revoke`; an admin form that edited them would bypass all three.
"""

from __future__ import annotations

from django.contrib import admin

from baogong.core.admin import AuditedAdmin, ReadOnlyAdmin

from .models import Driver, GateArrival, GreenPass, PassCheck, Vehicle, VehicleDisinfection


@admin.register(Vehicle)
class VehicleAdmin(AuditedAdmin):
    list_display = ("plate", "vehicle_type", "payload_kg", "volume_m3", "is_cold_chain", "owner")
    list_filter = ("vehicle_type", "is_cold_chain")
    search_fields = ("plate",)
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "home")


@admin.register(Driver)
class DriverAdmin(AuditedAdmin):
    list_display = ("name", "licence_number", "employer", "itinerary_status", "last_negative_test_at")
    list_filter = ("itinerary_status",)
    search_fields = ("name", "licence_number")
    list_select_related = ("employer",)
    raw_id_fields = ("employer",)


@admin.register(GreenPass)
class GreenPassAdmin(ReadOnlyAdmin):
    list_display = ("number", "vehicle", "driver", "valid_from", "valid_until", "status")
    list_filter = ("status",)
    search_fields = ("number", "vehicle__plate")
    list_select_related = ("vehicle", "driver")


@admin.register(PassCheck)
class PassCheckAdmin(ReadOnlyAdmin):
    list_display = ("checked_at", "presented", "plate_seen", "result", "officer", "checkpoint_region")
    list_filter = ("result",)
    list_select_related = ("officer", "checkpoint_region")


@admin.register(GateArrival)
class GateArrivalAdmin(ReadOnlyAdmin):
    list_display = ("arrived_at", "vehicle", "compound", "recorded_by")
    list_select_related = ("vehicle", "compound", "recorded_by")


@admin.register(VehicleDisinfection)
class VehicleDisinfectionAdmin(ReadOnlyAdmin):
    list_display = ("disinfected_at", "vehicle", "place", "agent", "recorded_by")
    list_select_related = ("vehicle", "place", "recorded_by")
