from django.contrib import admin

from backend.devices.models import Device, DeviceAssignment


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "serial",
        "kind",
        "model_name",
        "unit",
        "state",
        "last_seen_at",
        "last_clock_offset_ms",
    )
    list_filter = ("kind", "state", "unit")
    search_fields = ("serial",)
    exclude = ("token_hash",)
    readonly_fields = ("enrolled_at", "revoked_at", "last_seen_at", "last_clock_offset_ms")


@admin.register(DeviceAssignment)
class DeviceAssignmentAdmin(admin.ModelAdmin):
    list_display = ("device", "officer", "starts_at", "ends_at")
