from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.retention.models import (
    DestructionBatch,
    DestructionRegisterEntry,
    FixityAlert,
    LegalHold,
    RecordingRetention,
    RetentionApprover,
    RetentionPolicy,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through services (audited); the admin only shows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DestructionRegisterEntry)
class DestructionRegisterAdmin(ReadOnlyAdmin):
    """销毁清册 is kept permanently: no add, change or delete here (nor anywhere)."""

    list_display = ("number", "file_name", "sha256", "size_bytes", "destroyed_at", "approved_by")
    search_fields = ("recording_id", "sha256", "file_name")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(ReadOnlyAdmin):
    list_display = ("category", "name", "period_days", "permanent", "updated_at")


@admin.register(RecordingRetention)
class RecordingRetentionAdmin(ReadOnlyAdmin):
    list_display = (
        "recording_id",
        "retention_until",
        "reason",
        "held",
        "lock_until_applied",
        "last_fixity_outcome",
        "destroyed_at",
    )
    list_filter = ("held", "permanent", "last_fixity_outcome")


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    list_display = ("target_kind", "recording", "reference", "reason", "placed_by", "released_at")


@admin.register(DestructionBatch)
class DestructionBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "state",
        "prepared_by",
        "item_count",
        "total_bytes",
        "share",
        "approvals_required",
        "executes_after",
    )


@admin.register(FixityAlert)
class FixityAlertAdmin(ReadOnlyAdmin):
    list_display = ("recording", "outcome", "message", "raised_at", "acknowledged_at")


@admin.register(RetentionApprover)
class RetentionApproverAdmin(ReadOnlyAdmin):
    list_display = ("user", "title", "active", "designated_by", "designated_at")
