from typing import Any

from django.contrib import admin

from backend.review.models import AccessRegisterEntry, AccessRequest, Approver


@admin.register(Approver)
class ApproverAdmin(admin.ModelAdmin):
    """Who holds the approving offices (办公室主要负责人 / 局主要负责人), per unit."""

    list_display = ("user", "authority", "unit")
    list_filter = ("authority",)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(_ReadOnly):
    """Read-only: requests change only through services, which audit every change."""

    list_display = ("created_at", "requester", "requester_kind", "state", "want_copy")
    list_filter = ("state", "requester_kind")


@admin.register(AccessRegisterEntry)
class AccessRegisterEntryAdmin(_ReadOnly):
    """Read-only and append-only (a database trigger refuses updates and deletes)."""

    list_display = ("occurred_at", "user_display", "action", "recording", "basis")
    list_filter = ("action", "basis")
    search_fields = ("user_display", "purpose")
