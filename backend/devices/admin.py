from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.audit.services import Actor
from backend.devices.models import Device, DeviceAssignment
from backend.devices.services import device_reenrol


@admin.action(description=_("重新注册所选设备（换发凭据）"))
def reenrol_devices(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Device]
) -> None:
    """The explicit re-enrolment: a new token for each device, shown once, audited."""
    user = request.user
    assert isinstance(user, User)
    for device in queryset[:50]:
        enrolment = device_reenrol(
            device=device, actor=Actor.user(user), reason="administration site"
        )
        modeladmin.message_user(
            request,
            _("%(device)s 已重新注册，新凭据（仅显示一次）：%(token)s")
            % {"device": device, "token": enrolment.token},
            level=messages.WARNING,
        )


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
    readonly_fields = (
        "state",
        "enrolled_at",
        "revoked_at",
        "last_seen_at",
        "last_clock_offset_ms",
    )
    actions = [reenrol_devices]


@admin.register(DeviceAssignment)
class DeviceAssignmentAdmin(admin.ModelAdmin):
    list_display = ("device", "officer", "starts_at", "ends_at")
